"""What the management API returns: specs joined with their live state."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState


class DeploymentView(BaseModel):
    """A deployment with its instances, as the deployments table shows it."""

    spec: DeploymentSpec
    instances: list[Instance] = Field(default_factory=list)
    created_at: float = 0.0
    updated_at: float = 0.0
    stopped_replicas: int | None = Field(
        None, description="the replica count before Stop; Start restores it"
    )

    @property
    def name(self) -> str:
        """The deployment's name."""
        return self.spec.name

    @property
    def running(self) -> int:
        """How many instances serve requests."""
        return sum(1 for i in self.instances if i.state is InstanceState.RUNNING)


class ApiErrorBody(BaseModel):
    """The body of every management API error: a code for scripts, a message for people."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
