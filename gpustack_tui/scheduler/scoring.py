"""Scoring candidates: binpack fills what is used, spread evens out the load (0..100).

Both follow GPUStack's formulas (reference §9), so operators moving from it see the same
choices; the winner is the first candidate with the strictly highest score, in candidate order
(workers by name, GPUs by index), which makes every decision deterministic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gpustack_tui.scheduler.model import Node, PlacedInstance, Placement, WorkerSnapshot

LEADER_WEIGHT = 5.0


def _binpack_node(node: Node, worker: WorkerSnapshot, gpu_alloc: dict[int, int]) -> float:
    ram = ram_term(node.ram, worker)
    if not node.gpus:
        return ram
    return max(binpack_gpu(node.vram.get(i, 0), gpu_alloc.get(i, 0), ram) for i in node.gpus)


def binpack(placement: Placement, workers: dict[str, WorkerSnapshot]) -> float:
    """Higher when the claim fills more of what is left; a distributed placement weighs its
    leader five times (GPUStack's literal formula)."""
    scores = []
    for node in placement.nodes:
        worker = workers[node.worker]
        alloc = {g.index: g.allocatable for g in worker.gpus}
        scores.append(_binpack_node(node, worker, alloc))
    if len(scores) == 1:
        return scores[0]
    subordinates = scores[1:]
    n = len(subordinates)
    return (LEADER_WEIGHT * scores[0] + n * sum(subordinates)) / (LEADER_WEIGHT + n)


def binpack_gpu(claim: int, gpu_allocatable: int, ram_term: float) -> float:
    """One GPU's binpack score: its claim against what it has left, RAM weighing a third."""
    vram_term = claim / gpu_allocatable * 100 if gpu_allocatable else 0.0
    return (ram_term + 2 * vram_term) / 3


def ram_term(ram: int, worker: WorkerSnapshot) -> float:
    """The RAM part of binpack: the claim against the worker's allocatable RAM, in %."""
    return ram / worker.ram_allocatable * 100 if worker.ram_allocatable else 0.0


@dataclass
class Load:
    """What already runs, counted for spread: per worker and per GPU, in all and per
    deployment. Built once per pass (one walk over the instances) and grown by `add`, so a
    decision costs nothing per existing instance. Each GPU of an instance adds one to the GPU
    and one to its worker; a GPU-less instance adds one to its worker."""

    instances: list[PlacedInstance] = field(default_factory=list)
    per_worker: Counter[str] = field(default_factory=Counter)
    per_gpu: Counter[tuple[str, int]] = field(default_factory=Counter)
    mine_worker: dict[str, Counter[str]] = field(default_factory=dict)
    mine_gpu: dict[str, Counter[tuple[str, int]]] = field(default_factory=dict)

    @classmethod
    def of(cls, instances: list[PlacedInstance]) -> Load:
        """Count `instances`."""
        load = cls()
        for instance in instances:
            load.add(instance)
        return load

    def add(self, instance: PlacedInstance) -> None:
        """Count one more instance."""
        self.instances.append(instance)
        workers = self.mine_worker.setdefault(instance.deployment, Counter())
        gpus = self.mine_gpu.setdefault(instance.deployment, Counter())
        if not instance.gpus:
            self.per_worker[instance.worker] += 1
            workers[instance.worker] += 1
        for index in instance.gpus:
            key = (instance.worker, index)
            self.per_worker[instance.worker] += 1
            workers[instance.worker] += 1
            self.per_gpu[key] += 1
            gpus[key] += 1

    def copy(self) -> Load:
        """An independent copy (for dry runs that add hypothetical replicas)."""
        return Load(
            list(self.instances),
            Counter(self.per_worker),
            Counter(self.per_gpu),
            {d: Counter(c) for d, c in self.mine_worker.items()},
            {d: Counter(c) for d, c in self.mine_gpu.items()},
        )


def _inverse(value: int, low: int, high: int) -> float:
    return 1.0 if high <= low else 1 - (value - low) / (high - low)


class SpreadScorer:
    """Spread scores for one decision of `deployment`; `cur` counts its instances, `oth` the
    others'; the min/max statistics use the candidate workers only."""

    def __init__(self, load: Load, deployment: str, candidate_workers: set[str]):
        self.load = load
        self.cur_worker = load.mine_worker.get(deployment, Counter())
        self.cur_gpu = load.mine_gpu.get(deployment, Counter())
        cur = [self.cur_worker[n] for n in candidate_workers] or [0]
        oth = [load.per_worker[n] - self.cur_worker[n] for n in candidate_workers] or [0]
        self.cur_range = (min(cur), max(cur))
        self.oth_range = (min(oth), max(oth))
        self.some_empty = min(cur) == 0

    def worker(self, name: str) -> float:
        """0..1: how little this worker already carries."""
        cur = self.cur_worker[name]
        inv_cur = _inverse(cur, *self.cur_range)
        inv_oth = _inverse(self.load.per_worker[name] - cur, *self.oth_range)
        if self.some_empty and cur == 0:
            return 0.85 + 0.15 * inv_oth
        if self.some_empty:
            return 0.45 + 0.35 * inv_cur + 0.20 * inv_oth
        return 0.50 + 0.25 * inv_cur + 0.15 * inv_oth

    def gpu(self, worker: str, index: int) -> float:
        """0..1: how little this GPU already carries."""
        key = (worker, index)
        cur = self.cur_gpu.get(key, 0)
        return 1 / (1 + cur + 0.2 * (self.load.per_gpu.get(key, 0) - cur))

    def score(self, placement: Placement) -> float:
        """0..100 for the leader node: mostly its worker's load, a little its GPUs'."""
        leader = placement.leader
        worker = self.worker(leader.worker)
        if not leader.gpus:
            return worker * 100
        gpus = sum(self.gpu(leader.worker, i) for i in leader.gpus) / len(leader.gpus)
        return (0.85 * worker + 0.15 * gpus) * 100
