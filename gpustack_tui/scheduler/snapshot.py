"""Turning the stored workers and instances into the scheduler's snapshot."""

from __future__ import annotations

from collections import defaultdict

from gpustack_tui.domain.instance import Instance
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.scheduler.model import GpuSnapshot, PlacedInstance, WorkerSnapshot


def placed_instances(instances: list[Instance], skip: str | None = None) -> list[PlacedInstance]:
    """Every node of every instance that holds a placement, whatever its state (claims count
    until deleted): a distributed instance counts once per worker it spans."""
    placed = []
    for i in instances:
        if i.worker is None or i.name == skip:
            continue
        nodes = [(i.worker, i.gpu_indexes, i.vram_claim, i.ram_claim)]
        nodes += [(f.worker, f.gpu_indexes, f.vram_claim, f.ram_claim) for f in i.followers]
        placed += [
            PlacedInstance(i.deployment, worker, tuple(gpus), dict.fromkeys(gpus, claim), ram)
            for worker, gpus, claim, ram in nodes
        ]
    return placed


def worker_snapshots(workers: list[Worker], placed: list[PlacedInstance]) -> list[WorkerSnapshot]:
    """Workers with what `placed` claims of their GPUs and RAM subtracted."""
    vram: dict[tuple[str, int], int] = defaultdict(int)
    ram: dict[str, int] = defaultdict(int)
    for instance in placed:
        ram[instance.worker] += instance.ram
        for index, claim in instance.vram.items():
            vram[(instance.worker, index)] += claim
    return [
        WorkerSnapshot(
            name=w.name,
            gpus=tuple(
                GpuSnapshot(
                    index=g.index,
                    total=g.memory_total,
                    allocated=vram[(w.name, g.index)],
                    name=g.name,
                    vendor=g.vendor,
                )
                for g in sorted(w.gpus, key=lambda g: g.index)
            ),
            cluster=w.cluster,
            ready=w.state is WorkerState.READY,
            state=w.state.value,
            labels=dict(w.labels),
            ram_total=w.memory_total,
            ram_allocated=ram[w.name],
        )
        for w in workers
    ]
