"""What the scheduler reads and answers: a cluster snapshot, a request, placements, reasons.

Plain frozen dataclasses, so one placement decision is a pure function of its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class GpuSnapshot:
    """One GPU: its size and what claims already take of it."""

    index: int
    total: int
    allocated: int = 0
    name: str = ""
    vendor: str = "nvidia"

    @property
    def allocatable(self) -> int:
        """Bytes no instance claims yet."""
        return max(self.total - self.allocated, 0)

    @property
    def free_ratio(self) -> float:
        """Allocatable share of the GPU, 0..1."""
        return self.allocatable / self.total if self.total else 0.0


@dataclass(frozen=True)
class WorkerSnapshot:
    """One worker as placement sees it."""

    name: str
    gpus: tuple[GpuSnapshot, ...] = ()
    cluster: str = "default"
    ready: bool = True
    state: str = "ready"
    labels: dict[str, str] = field(default_factory=dict)
    ram_total: int = 0
    ram_allocated: int = 0

    @property
    def ram_allocatable(self) -> int:
        """RAM no instance claims yet."""
        return max(self.ram_total - self.ram_allocated, 0)


@dataclass(frozen=True)
class PlacedInstance:
    """An instance that already holds resources (any state): counted as allocated."""

    deployment: str
    worker: str
    gpus: tuple[int, ...] = ()
    vram: dict[int, int] = field(default_factory=dict)
    ram: int = 0


@dataclass(frozen=True)
class Request:
    """What one replica needs, as the estimate works it out for the chosen backend.

    `vram` is the sum a replica needs over all its GPUs. With `utilization` > 0 (vLLM's
    --gpu-memory-utilization, SGLang's --mem-fraction-static) every GPU used claims
    `total * utilization` and must have at least that share unclaimed; with 0 the claim is
    `vram` spread evenly over the GPUs used.
    """

    deployment: str
    vram: int
    ram: int = 0
    cluster: str = "default"
    utilization: float = 0.0
    gpu_count: int | None = None
    tp_divisors: tuple[int, ...] = ()
    multi_gpu: bool = True
    all_gpus_of_worker: bool = False
    distributed: bool = False
    allow_cpu: bool = False
    placement: Literal["spread", "binpack"] = "spread"
    worker_selector: dict[str, str] = field(default_factory=dict)
    gpu_selector: tuple[tuple[str, int], ...] = ()
    replicas: int = 1
    excluded: dict[str, str] = field(default_factory=dict)

    def tp_ok(self, count: int) -> bool:
        """Whether `count` GPUs can split the model (it divides heads, vision heads, vocab)."""
        return all(d % count == 0 for d in self.tp_divisors if d)


@dataclass(frozen=True)
class Node:
    """The share of one worker in a placement (the first node of a placement leads)."""

    worker: str
    gpus: tuple[int, ...]
    vram: dict[int, int]
    ram: int = 0


@dataclass(frozen=True)
class Placement:
    """Where one replica goes."""

    nodes: tuple[Node, ...]
    score: float = 0.0

    @property
    def leader(self) -> Node:
        """The node that serves requests."""
        return self.nodes[0]


@dataclass(frozen=True)
class NoFit:
    """Why nothing fits: one reason per worker, in worker order."""

    reasons: tuple[str, ...]

    @property
    def message(self) -> str:
        """All reasons in one line, for an instance's state message."""
        if not self.reasons:
            return "no workers: add one with `gpustack-tui workers add`"
        return "no worker fits: " + "; ".join(self.reasons)
