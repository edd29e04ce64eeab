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


class Follower(BaseModel):
    """A node of a distributed instance besides its leader: a subordinate workload on another
    worker (a Ray worker for vLLM, a rank of SGLang or MindIE). It serves nothing itself."""

    worker: str
    rank: int = Field(ge=1)
    gpu_indexes: list[int] = Field(default_factory=list)
    vram_claim: int = Field(0, description="bytes claimed on each GPU in gpu_indexes")
    ram_claim: int = 0
    pid: int | None = None


class Phase(BaseModel):
    """One phase of an instance's current run (`domain/phases.py`): its word, when it began and
    when it ended (None: the current one)."""

    name: str
    started_at: float
    ended_at: float | None = None


class Failure(BaseModel):
    """A run that ended in error: when, why (with the exit code when the process exited), its
    last log lines (made safe for a terminal), and when it was restarted (None: not yet)."""

    failed_at: float = 0.0
    reason: str
    exit_code: int | None = None
    log_lines: list[str] = Field(default_factory=list)
    restarted_at: float | None = None


class Progress(BaseModel):
    """How far the current phase's transfer is, in bytes: a download's (an image pull's later)."""

    done: int = Field(0, ge=0)
    total: int = Field(0, ge=0)


class Instance(BaseModel):
    """One replica of a deployment, as the server tracks it. A distributed instance has
    followers on other workers; it runs only while every node runs."""

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

    followers: list[Follower] = Field(default_factory=list)

    phase: str = Field("", description="the current phase's word (domain/phases.py)")
    phase_since: float = Field(0.0, description="unix time it entered its current phase")
    progress: Progress | None = Field(None, description="the current phase's transfer, if any")
    phases: list[Phase] = Field(default_factory=list, description="the current run's phases")
    earlier_phases: int = Field(0, description="phases of the current run no longer kept")
    failures: list[Failure] = Field(
        default_factory=list, description="the last runs that ended in error, oldest first"
    )

    @property
    def workload_name(self) -> str:
        """The name of the process or container on the worker."""
        return workload_name(self.name)

    @property
    def sidecar_name(self) -> str:
        """The leader's helper workload of a distributed instance (vLLM's Ray head)."""
        return f"{workload_name(self.name)}-head"

    def follower_name(self, rank: int) -> str:
        """The workload name of the follower of `rank` on its worker."""
        return f"{workload_name(self.name)}-n{rank}"

    def workloads(self) -> dict[str, set[str]]:
        """Every workload of this instance, by worker: the leader (and its sidecar when
        distributed) and each follower."""
        found: dict[str, set[str]] = {}
        if self.worker is not None:
            found[self.worker] = {self.workload_name}
            if self.followers:
                found[self.worker].add(self.sidecar_name)
        for follower in self.followers:
            found.setdefault(follower.worker, set()).add(self.follower_name(follower.rank))
        return found

    @property
    def placement_text(self) -> str:
        """Where it runs, for tables: `w1`, or `w1+w2` for an instance spanning workers."""
        return "+".join(self.all_workers) or "-"

    @property
    def all_workers(self) -> list[str]:
        """The leader's worker, then the followers'."""
        leader = [self.worker] if self.worker is not None else []
        return leader + [f.worker for f in self.followers]


def workload_name(instance_name: str) -> str:
    """`gpustack-<deployment>-<id>`: how the worker knows an instance."""
    return f"gpustack-{instance_name}"


WORKLOAD_PREFIX = "gpustack-"
