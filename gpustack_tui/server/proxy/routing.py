"""What the inference routes need to know about deployments: names, switches and live upstreams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ModelRoute:
    """One deployment as the inference routes see it."""

    name: str
    """Deployment name: what clients put in "model"."""
    generic_proxy: bool
    """Whether /model/proxy is enabled for it (`advanced.generic_proxy`)."""
    upstreams: tuple[str, ...]
    """Base URLs of its RUNNING instances, e.g. "http://127.0.0.1:40001"; may be empty."""
    category: str = "llm"
    created: int = 0
    """Unix time the deployment was created; shown as `created` in /v1/models."""


class RouteTable(Protocol):
    """Where the routes look deployments up. Called on every request: keep both fast, in memory."""

    def lookup(self, model: str) -> ModelRoute | None:
        """The deployment named `model`, or None when there is none."""
        ...

    def routes(self) -> list[ModelRoute]:
        """Every deployment, running or not."""
        ...
