"""A launch plan: what the agent runs on one node for an instance. Every backend builds these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from gpustack_tui.domain.images import rewrite


@dataclass(frozen=True)
class LaunchPlan:
    """What runs on one node: the image (None: a process), argv, the environment to add, the
    GPUs made visible, and a sidecar (vLLM's Ray head) when one runs beside it."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    gpus: tuple[int, ...] = ()
    sidecar: LaunchPlan | None = None

    def pulled_from(self, *mirror_sets: Mapping[str, str]) -> LaunchPlan:
        """This plan (and its sidecar) with each image fully qualified and rewritten by the
        first of `mirror_sets` with a matching rule: the image the worker pulls. ValueError for
        an image that is no reference."""
        if self.image is None and self.sidecar is None:
            return self
        return replace(
            self,
            image=None if self.image is None else rewrite(self.image, *mirror_sets),
            sidecar=None if self.sidecar is None else self.sidecar.pulled_from(*mirror_sets),
        )

    def as_json(self) -> dict[str, object]:
        """`{"image", "argv", "env"}` as `plan --json` shows each node's launch."""
        return {"image": self.image, "argv": list(self.argv), "env": dict(self.env)}
