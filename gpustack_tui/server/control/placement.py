"""Placing a pending instance: filters that need the workers, then the pure scheduler."""

from __future__ import annotations

import logging

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Follower, Instance, InstanceState
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.scheduler.model import NoFit, PlacedInstance, Request
from gpustack_tui.scheduler.request import request_for
from gpustack_tui.scheduler.schedule import place
from gpustack_tui.scheduler.snapshot import placed_instances, worker_snapshots
from gpustack_tui.server.control.model_facts import ModelFacts, model_facts
from gpustack_tui.server.state.store import NotFound, Store
from gpustack_tui.server.workers.sessions import SessionManager

log = logging.getLogger(__name__)


def build_request(
    spec: DeploymentSpec, facts: ModelFacts, workers: list[Worker], placed: list[PlacedInstance]
) -> Request:
    """The scheduler's request for one replica of `spec` on `workers`; ValueError when it
    cannot be built (missing metadata, malformed parameters)."""
    problem = facts.metadata_problem(spec)
    if problem:
        raise ValueError(problem)
    snapshots = worker_snapshots(workers, placed)
    return request_for(spec, facts.size, facts.excluded, facts.metadata, snapshots)


async def place_instance(store: Store, sessions: SessionManager, instance: Instance) -> None:
    """Give a pending instance a worker and GPUs, or record in its message why none fits."""
    try:
        spec = store.get_spec(instance.deployment)
    except NotFound:
        return
    workers = store.list_workers()
    ready = [w.name for w in workers if w.state is WorkerState.READY]
    if instance.state is InstanceState.PENDING and not instance.state_message:
        # A new instance: say what takes the time (a hub, or a worker reading the model).
        store.set_instance_state(
            instance.name, InstanceState.ANALYZING, "reading the model's metadata"
        )
        instance = instance.model_copy(update={"state": InstanceState.ANALYZING})
    facts = await model_facts(sessions, spec, ready)
    placed = placed_instances(store.list_instances(), skip=instance.name)
    try:
        request = build_request(spec, facts, workers, placed)
    except ValueError as exc:
        _pending(store, instance, str(exc))
        return
    result = place(request, worker_snapshots(workers, placed), placed)
    if isinstance(result, NoFit):
        _pending(store, instance, result.message)
        return
    leader = result.leader
    followers = [
        Follower(
            worker=node.worker,
            rank=rank,
            gpu_indexes=list(node.gpus),
            vram_claim=max(node.vram.values(), default=0),
            ram_claim=node.ram,
        )
        for rank, node in enumerate(result.nodes[1:], start=1)
    ]
    span = f" and {', '.join(f.worker for f in followers)}" if followers else ""
    log.info("instance %s: placed on %s GPUs %s%s", instance.name, leader.worker, leader.gpus, span)
    store.set_instance_state(
        instance.name,
        InstanceState.SCHEDULED,
        "",
        worker=leader.worker,
        gpu_indexes=list(leader.gpus),
        vram_claim=max(leader.vram.values(), default=0),
        ram_claim=leader.ram,
        followers=followers,
    )


def _pending(store: Store, instance: Instance, message: str) -> None:
    if instance.state is not InstanceState.PENDING or instance.state_message != message:
        store.set_instance_state(instance.name, InstanceState.PENDING, message)
