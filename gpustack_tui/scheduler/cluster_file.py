"""The cluster file of `gpustack-tui plan --cluster`: workers, GPUs and what already runs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gpustack_tui.domain.units import GIB
from gpustack_tui.scheduler.model import GpuSnapshot, PlacedInstance, WorkerSnapshot


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GpuEntry(_Strict):
    """One GPU of a worker."""

    index: int = Field(ge=0)
    name: str = ""
    vendor: str = "nvidia"
    memory_gib: float = Field(gt=0)


class WorkerEntry(_Strict):
    """One worker."""

    name: str
    cluster: str = "default"
    state: str = "ready"
    labels: dict[str, str] = Field(default_factory=dict)
    ram_gib: float = Field(0, ge=0)
    gpus: list[GpuEntry] = Field(default_factory=list)


class InstanceEntry(_Strict):
    """Something that already runs and holds resources."""

    deployment: str
    worker: str
    gpus: list[int] = Field(default_factory=list)
    vram_gib: dict[int, float] = Field(default_factory=dict)
    ram_gib: float = 0


class ClusterFile(_Strict):
    """The whole file."""

    workers: list[WorkerEntry]
    instances: list[InstanceEntry] = Field(default_factory=list)

    def snapshot(self) -> tuple[list[WorkerSnapshot], list[PlacedInstance]]:
        """The scheduler's view: workers with the instances' claims subtracted."""
        placed = [
            PlacedInstance(
                deployment=i.deployment,
                worker=i.worker,
                gpus=tuple(i.gpus),
                vram={gpu: int(gib * GIB) for gpu, gib in i.vram_gib.items()},
                ram=int(i.ram_gib * GIB),
            )
            for i in self.instances
        ]
        workers = [
            WorkerSnapshot(
                name=w.name,
                cluster=w.cluster,
                ready=w.state == "ready",
                state=w.state,
                labels=dict(w.labels),
                ram_total=int(w.ram_gib * GIB),
                ram_allocated=sum(p.ram for p in placed if p.worker == w.name),
                gpus=tuple(
                    GpuSnapshot(
                        index=g.index,
                        total=int(g.memory_gib * GIB),
                        allocated=sum(p.vram.get(g.index, 0) for p in placed if p.worker == w.name),
                        name=g.name,
                        vendor=g.vendor,
                    )
                    for g in sorted(w.gpus, key=lambda g: g.index)
                ),
            )
            for w in self.workers
        ]
        return workers, placed
