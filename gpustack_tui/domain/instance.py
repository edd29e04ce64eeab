"""Instances of a deployment and the states they move through."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field


class InstanceState(str, Enum):
    """Where an instance stands. Transitions are checked by `can_move`."""

    PENDING = "pending"
    ANALYZING = "analyzing"
    SCHEDULED = "scheduled"
    DOWNLOADING = "downloading"
    STARTING = "starting"
    RUNNING = "running"
    ERROR = "error"
    UNREACHABLE = "unreachable"


_FORWARD = [
    InstanceState.PENDING,
    InstanceState.ANALYZING,
    InstanceState.SCHEDULED,
    InstanceState.DOWNLOADING,
    InstanceState.STARTING,
    InstanceState.RUNNING,
]


def can_move(current: InstanceState, target: InstanceState) -> bool:
    """Whether an instance may go from `current` to `target`.

    Forward along the happy path (steps may be skipped), to error or unreachable from anywhere,
    back to pending from anywhere (rescheduling), and from unreachable back to what the
    agent reports.
    """
    if target in (InstanceState.ERROR, InstanceState.UNREACHABLE, InstanceState.PENDING):
        return True
    if current is InstanceState.UNREACHABLE:
        return True
    if current in _FORWARD and target in _FORWARD:
        return _FORWARD.index(target) >= _FORWARD.index(current)
    return current is InstanceState.ERROR and target is InstanceState.SCHEDULED


class Instance(BaseModel):
    """One replica of a deployment, as the server tracks it."""

    name: str
    deployment: str
    state: InstanceState = InstanceState.PENDING
    state_message: str = ""
    worker: str | None = None
    gpu_indexes: list[int] = Field(default_factory=list)
    vram_claim: int = Field(0, description="bytes claimed on each GPU in gpu_indexes")
    ram_claim: int = Field(0, description="bytes of the worker's RAM claimed")
    port: int | None = None
    pid: int | None = None
    restart_count: int = 0
    restart_backoff: int = Field(0, description="restarts since it last ran; sets the delay")
    last_restart_at: float = Field(0.0, description="unix time of the last automatic restart")
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def workload_name(self) -> str:
        """The name of the process or container on the worker."""
        return workload_name(self.name)


def workload_name(instance_name: str) -> str:
    """`gpustack-<deployment>-<id>`: how the worker knows an instance."""
    return f"gpustack-{instance_name}"


WORKLOAD_PREFIX = "gpustack-"
