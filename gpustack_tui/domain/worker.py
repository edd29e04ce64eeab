"""Workers (machines that run instances) and their GPUs."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field, field_validator

from gpustack_tui.domain.images import checked_mirrors


class Gpu(BaseModel):
    """One accelerator as the worker's agent reports it."""

    index: int
    name: str
    vendor: str = "nvidia"
    uuid: str | None = None
    memory_total: int = 0
    memory_used: int = 0
    utilization: float | None = None
    temperature: float | None = None
    simulated: bool = False


class WorkerState(str, Enum):
    """Whether the server can reach the worker's agent."""

    CONNECTING = "connecting"
    READY = "ready"
    UNREACHABLE = "unreachable"


class Worker(BaseModel):
    """A machine reached over SSH (or the head node itself, transport `local`)."""

    name: str
    destination: str
    transport: str = "ssh"
    address: str = "127.0.0.1"
    identity_file: str | None = None
    cluster: str = "default"
    labels: dict[str, str] = Field(default_factory=dict)
    image_mirrors: dict[str, str] = Field(default_factory=dict)
    """This worker's image prefix rewrites ({from: to}), before the installation's."""
    state: WorkerState = WorkerState.CONNECTING
    state_message: str = ""
    gpus: list[Gpu] = Field(default_factory=list)
    cpu_count: int = 0
    memory_total: int = 0
    agent_version: str = ""
    last_seen: float = 0.0

    @field_validator("image_mirrors")
    @classmethod
    def _check_mirrors(cls, value: dict[str, str]) -> dict[str, str]:
        return checked_mirrors(value)


class GpuHolder(BaseModel):
    """An instance placed on a GPU and the memory it claims there."""

    gpu_index: int
    instance: str
    deployment: str
    claim: int = 0


class WorkerStats(BaseModel):
    """A worker's live figures (GET /api/v1/worker-stats): fresh GPU utilisation, memory and
    temperature, RAM and load, and which instances hold each GPU. `at` is when the agent
    answered (0: never; then the GPUs are the stored inventory and `error` may say why)."""

    name: str
    state: WorkerState = WorkerState.CONNECTING
    at: float = 0.0
    gpus: list[Gpu] = Field(default_factory=list)
    cpu_count: int = 0
    load_average: float | None = None
    memory_total: int = 0
    memory_available: int | None = None
    holders: list[GpuHolder] = Field(default_factory=list)
    error: str = ""
