"""Placing a pending instance: filters that need the workers, then the pure scheduler."""

from __future__ import annotations

import logging

from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.scheduler.model import NoFit
from gpustack_tui.scheduler.request import request_for
from gpustack_tui.scheduler.schedule import place
from gpustack_tui.scheduler.snapshot import placed_instances, worker_snapshots
from gpustack_tui.server.downloads import hub_model_size, is_hub
from gpustack_tui.server.sessions import SessionManager
from gpustack_tui.server.store import NotFound, Store
from gpustack_tui.server.workers.errors import WorkerError

log = logging.getLogger(__name__)


async def model_presence(
    sessions: SessionManager, workers: list[str], path: str
) -> tuple[dict[str, str], int]:
    """Ask each worker whether the model path exists there.

    Returns (excluded: worker -> reason, model size in bytes as seen on a worker that has it).
    """
    excluded: dict[str, str] = {}
    size = 0
    for worker in workers:
        try:
            info = await sessions.call(worker, "path_info", timeout=15.0, path=path)
        except WorkerError as exc:
            excluded[worker] = f"cannot check the model path: {exc.message}"
            continue
        if not info.get("exists"):
            excluded[worker] = f"model path {path} not found there"
        elif not size:
            size = int(info.get("size", 0))
    return excluded, size


async def place_instance(store: Store, sessions: SessionManager, instance: Instance) -> None:
    """Give a pending instance a worker and GPUs, or record in its message why none fits."""
    try:
        spec = store.get_spec(instance.deployment)
    except NotFound:
        return
    workers = store.list_workers()
    ready = [w.name for w in workers if w.state is WorkerState.READY]
    if is_hub(spec):  # downloaded onto the chosen worker before it starts
        excluded, size = await hub_model_size(spec, ready)
    else:
        excluded, size = await model_presence(sessions, ready, spec.source.value)
    placed = placed_instances(store.list_instances(), skip=instance.name)
    result = place(request_for(spec, size, excluded), worker_snapshots(workers, placed), placed)
    if isinstance(result, NoFit):
        if instance.state_message != result.message:
            store.set_instance_state(instance.name, InstanceState.PENDING, result.message)
        return
    leader = result.leader
    log.info("instance %s: placed on %s GPUs %s", instance.name, leader.worker, leader.gpus)
    store.set_instance_state(
        instance.name,
        InstanceState.SCHEDULED,
        "",
        worker=leader.worker,
        gpu_indexes=list(leader.gpus),
        vram_claim=max(leader.vram.values(), default=0),
        ram_claim=leader.ram,
    )
