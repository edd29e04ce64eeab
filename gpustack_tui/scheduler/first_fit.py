"""First-fit placement: the walking skeleton's scheduler (issue 5 brings spread and binpack).

Pure and deterministic: workers by name, GPUs by index, the first with room wins.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from gpustack_tui.domain.instance import Instance
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.estimate.claim import ResourceRequest, format_bytes


@dataclass(frozen=True)
class Placement:
    """Where one replica goes: a worker, its GPUs (empty: CPU only) and the claim on each."""

    worker: str
    gpu_indexes: tuple[int, ...]
    vram_claim: int


@dataclass(frozen=True)
class NoFit:
    """Why no worker can take the replica, one reason per worker."""

    reasons: tuple[str, ...]

    @property
    def message(self) -> str:
        """All reasons in one line, for the instance's state message."""
        if not self.reasons:
            return "no workers: add one with `gpustack-tui workers add`"
        return "no worker fits: " + "; ".join(self.reasons)


def allocated_vram(
    instances: list[Instance], skip: str | None = None
) -> dict[tuple[str, int], int]:
    """Bytes claimed on each (worker, GPU index) by the given instances."""
    used: dict[tuple[str, int], int] = defaultdict(int)
    for instance in instances:
        if instance.worker is None or instance.name == skip:
            continue
        for index in instance.gpu_indexes:
            used[(instance.worker, index)] += instance.vram_claim
    return used


def first_fit(
    request: ResourceRequest,
    workers: list[Worker],
    instances: list[Instance],
    excluded: dict[str, str] | None = None,
    placing: str | None = None,
) -> Placement | NoFit:
    """Place one replica. `excluded` maps worker names to the reason a filter dropped them;
    `instances` are every placed instance (their claims are taken), `placing` the one being placed.
    """
    excluded = excluded or {}
    used = allocated_vram(instances, skip=placing)
    reasons: list[str] = []
    cpu_candidate: str | None = None
    for worker in sorted(workers, key=lambda w: w.name):
        if worker.state is not WorkerState.READY:
            reasons.append(f"{worker.name}: {worker.state.value}")
            continue
        if worker.name in excluded:
            reasons.append(f"{worker.name}: {excluded[worker.name]}")
            continue
        cpu_candidate = cpu_candidate or worker.name
        if not worker.gpus:
            reasons.append(f"{worker.name}: no GPUs")
            continue
        best_free = 0
        for gpu in sorted(worker.gpus, key=lambda g: g.index):
            free = gpu.memory_total - used[(worker.name, gpu.index)]
            if free >= request.vram_per_gpu:
                return Placement(worker.name, (gpu.index,), request.vram_per_gpu)
            best_free = max(best_free, free)
        reasons.append(
            f"{worker.name}: {len(worker.gpus)} GPUs, at most {format_bytes(max(best_free, 0))} "
            f"unclaimed on one, needs {format_bytes(request.vram_per_gpu)}"
        )
    if request.allow_cpu and cpu_candidate is not None:
        return Placement(cpu_candidate, (), 0)
    return NoFit(tuple(reasons))
