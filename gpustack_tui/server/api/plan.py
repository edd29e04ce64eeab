"""`POST /api/v1/plan`: place a deployment's replicas on the live cluster without starting them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gpustack_tui.backends.custom import build_custom_plan
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.scheduler.report import plan_json
from gpustack_tui.scheduler.request import request_for
from gpustack_tui.scheduler.schedule import place_replicas
from gpustack_tui.scheduler.snapshot import placed_instances, worker_snapshots
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.placement import model_presence

router = APIRouter(prefix="/plan", tags=["plan"])
Context = Annotated[ServerContext, Depends(get_context)]


@router.post("")
async def plan(spec: DeploymentSpec, ctx: Context) -> dict[str, Any]:
    """Where each replica would land, with its claims and the command each node would run
    (`{port}` is filled at start), or why it would not fit. The deployment's own instances (if
    it exists) are left out, as if it were placed afresh."""
    workers = ctx.store.list_workers()
    ready = [w.name for w in workers if w.state is WorkerState.READY]
    excluded, size = await model_presence(ctx.sessions, ready, spec.source.value)
    others = [i for i in ctx.store.list_instances() if i.deployment != spec.name]
    placed = placed_instances(others)
    results = place_replicas(
        request_for(spec, size, excluded),
        worker_snapshots(workers, placed),
        placed,
        spec.replicas,
    )
    report = plan_json(results)
    addresses = {w.name: w.address for w in workers}
    for replica in report["replicas"]:
        for node in replica["nodes"]:
            node["launch"] = build_custom_plan(
                command=spec.advanced.command or "",
                env=spec.advanced.env,
                model_path=spec.source.value,
                model_name=spec.name,
                port=None,
                gpu_indexes=node["gpus"],
                worker_ip=addresses.get(node["worker"], ""),
                backend_parameters=spec.advanced.backend_parameters,
            ).as_json()
    return report
