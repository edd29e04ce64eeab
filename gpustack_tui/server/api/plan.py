"""`POST /api/v1/plan`: place a deployment's replicas on the live cluster without starting them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.images import mirror_sets
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.scheduler.dry_run import dry_run
from gpustack_tui.scheduler.snapshot import placed_instances, worker_snapshots
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.api.image_mirrors import installation_mirrors
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.control.model_facts import model_facts
from gpustack_tui.server.control.node_start import user_backend_of
from gpustack_tui.server.control.placement import build_request
from gpustack_tui.server.state.store import NotFound

router = APIRouter(prefix="/plan", tags=["plan"])
Context = Annotated[ServerContext, Depends(get_context)]


@router.post("")
async def plan(spec: DeploymentSpec, ctx: Context) -> dict[str, Any]:
    """Where each replica would land, with its claims, the context that fits and the command
    each node would run (`{port}` is filled at start), or why it would not fit. The
    deployment's own instances (if it exists) are left out, as if it were placed afresh."""
    workers = ctx.store.list_workers()
    ready = [w.name for w in workers if w.state is WorkerState.READY]
    facts = await model_facts(ctx.sessions, spec, ready, want_metadata=True)
    others = [i for i in ctx.store.list_instances() if i.deployment != spec.name]
    placed = placed_instances(others)
    try:
        request = build_request(spec, facts, workers, placed)
    except ValueError as exc:
        return {
            "replicas": [
                {"fits": False, "nodes": [], "max_context": None, "reasons": [str(exc)]}
                for _ in range(spec.replicas)
            ]
        }
    try:
        user_backend = user_backend_of(ctx.store, spec)
    except NotFound as exc:
        raise ApiException(422, "invalid", f"{exc}: see `gpustack-tui backends ls`") from exc
    installation = installation_mirrors(ctx)
    return dry_run(
        spec,
        request,
        worker_snapshots(workers, placed),
        placed,
        facts.metadata,
        {w.name: w.address for w in workers},
        user_backend,
        {w.name: mirror_sets(w.image_mirrors, installation) for w in workers},
    )
