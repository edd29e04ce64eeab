"""`/api/v1/deployments`: create, apply, scale, stop, start, read and delete deployments."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from gpustack_tui.backends.catalog import extended_kv_cache_problem
from gpustack_tui.backends.for_spec import family_of
from gpustack_tui.domain.deployment import DeploymentSpec, unsupported_features
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.server.api.backends import check_backend
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.control.model_facts import model_presence
from gpustack_tui.server.state.store import AlreadyExists, NotFound

router = APIRouter(prefix="/deployments", tags=["deployments"])
Context = Annotated[ServerContext, Depends(get_context)]


class Scale(BaseModel):
    """Body of PATCH /deployments/{name}/scale."""

    replicas: int = Field(ge=0, le=64)


async def _check_deployable(ctx: ServerContext, spec: DeploymentSpec) -> None:
    """Refuse what cannot run: unsupported options, or a local path no ready worker has."""
    check_backend(ctx.store, spec)
    reasons = unsupported_features(spec)
    if reasons:
        raise ApiException(422, "not_supported", "; ".join(reasons), {"reasons": reasons})
    workers = [w for w in ctx.store.list_workers() if w.state is WorkerState.READY]
    if spec.performance.extended_kv_cache.enabled:
        families = {
            family_of(g.vendor) for w in workers if w.cluster == spec.cluster for g in w.gpus
        }
        problem = extended_kv_cache_problem(spec.backend, families)
        if problem:
            raise ApiException(422, "not_supported", problem, {"reasons": [problem]})
    ready = [w.name for w in workers]
    if not ready or spec.source.local_path is None:
        return
    excluded, _size, _present = await model_presence(ctx.sessions, ready, spec.source.local_path)
    if len(excluded) == len(ready):
        where = "; ".join(f"{w}: {why}" for w, why in excluded.items())
        raise ApiException(
            422,
            "model_path_missing",
            f"model path {spec.source.local_path} is not on any ready worker ({where}): "
            "copy the model there or fix the path",
        )


def _view(ctx: ServerContext, name: str) -> DeploymentView:
    try:
        return ctx.store.deployment_view(name)
    except NotFound as exc:
        raise ApiException(
            404, "not_found", f"no deployment named {name!r} (see `gpustack-tui ls`)"
        ) from exc


@router.get("")
def list_deployments(ctx: Context) -> list[DeploymentView]:
    """Every deployment with its instances."""
    return ctx.store.list_deployment_views()


@router.get("/{name}")
def get_deployment(name: str, ctx: Context) -> DeploymentView:
    """One deployment with its instances."""
    return _view(ctx, name)


@router.post("", status_code=201)
async def create_deployment(spec: DeploymentSpec, ctx: Context) -> DeploymentView:
    """Store a new deployment; the reconciler creates its instances."""
    await _check_deployable(ctx, spec)
    try:
        ctx.store.create_deployment(spec)
    except AlreadyExists as exc:
        raise ApiException(409, "exists", f"{exc}: use `gpustack-tui apply` to change it") from exc
    ctx.reconciler.wake()
    return _view(ctx, spec.name)


@router.put("/{name}")
async def apply_deployment(name: str, spec: DeploymentSpec, ctx: Context) -> DeploymentView:
    """Create the deployment or replace its spec. Running instances keep the old configuration
    until they are recreated."""
    if spec.name != name:
        raise ApiException(
            422, "invalid", f"the body names {spec.name!r} but the URL names {name!r}"
        )
    await _check_deployable(ctx, spec)
    try:
        ctx.store.update_deployment(spec)
    except NotFound:
        ctx.store.create_deployment(spec)
    if spec.replicas:
        with contextlib.suppress(NotFound):
            ctx.store.start_deployment(name, spec.replicas)  # no longer stopped: forget the count
    ctx.reconciler.wake()
    return _view(ctx, name)


class Start(BaseModel):
    """Body of POST /deployments/{name}/start (optional)."""

    replicas: int | None = Field(None, ge=1, le=64)


@router.patch("/{name}/scale")
def scale_deployment(name: str, body: Scale, ctx: Context) -> DeploymentView:
    """Set the replica count; 0 stops every instance and keeps the deployment (as Stop does:
    the count it had is remembered for Start)."""
    _view(ctx, name)
    try:
        if body.replicas == 0:
            ctx.store.stop_deployment(name)
        else:
            ctx.store.start_deployment(name, body.replicas)
    except NotFound:
        _view(ctx, name)  # deleted meanwhile: the 404
    ctx.reconciler.wake()
    return _view(ctx, name)


@router.post("/{name}/stop")
def stop_deployment(name: str, ctx: Context) -> DeploymentView:
    """Replicas to 0, remembering the count it had: its instances are stopped, the deployment
    kept. Stopping a stopped deployment changes nothing."""
    _view(ctx, name)
    try:
        ctx.store.stop_deployment(name)
    except NotFound:
        _view(ctx, name)
    ctx.reconciler.wake()
    return _view(ctx, name)


@router.post("/{name}/start")
def start_deployment(name: str, ctx: Context, body: Start | None = None) -> DeploymentView:
    """Replicas back to the count remembered by Stop (1 when none is), or to `replicas` when
    given. Starting a deployment that has replicas changes nothing unless `replicas` is given."""
    _view(ctx, name)
    try:
        ctx.store.start_deployment(name, body.replicas if body else None)
    except NotFound:
        _view(ctx, name)
    ctx.reconciler.wake()
    return _view(ctx, name)


@router.delete("/{name}", status_code=204)
def delete_deployment(name: str, ctx: Context) -> Response:
    """Delete the deployment; the reconciler stops its processes on the workers."""
    ctx.store.delete_deployment(name)
    ctx.reconciler.wake()
    return Response(status_code=204)
