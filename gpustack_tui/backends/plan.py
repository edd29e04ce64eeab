"""A launch plan: what the agent runs on one node for an instance. Every backend builds these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LaunchPlan:
    """What runs on one node: the image (None: a process), argv, the environment to add, the
    GPUs made visible, and a sidecar (vLLM's Ray head) when one runs beside it."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    gpus: tuple[int, ...] = ()
    sidecar: LaunchPlan | None = None

    def as_json(self) -> dict[str, object]:
        """`{"image", "argv", "env"}` as `plan --json` shows each node's launch."""
        return {"image": self.image, "argv": list(self.argv), "env": dict(self.env)}
