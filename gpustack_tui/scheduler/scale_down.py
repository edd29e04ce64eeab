"""Which instances go first when a deployment scales down."""

from __future__ import annotations

from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.worker import Worker, WorkerState


def keep_score(instance: Instance, workers: dict[str, Worker]) -> int:
    """0: on a missing or unready worker, or failed; 100: running on a ready worker; else 50."""
    worker = workers.get(instance.worker or "")
    if instance.worker is not None and (worker is None or worker.state is not WorkerState.READY):
        return 0
    if instance.state in (InstanceState.ERROR, InstanceState.UNREACHABLE):
        return 0
    if instance.state is InstanceState.RUNNING:
        return 100
    return 50


def removal_order(instances: list[Instance], workers: dict[str, Worker]) -> list[Instance]:
    """`instances` ordered by who goes first: lowest keep score, then the newest."""
    return sorted(instances, key=lambda i: (keep_score(i, workers), -i.created_at, i.name))
