"""`/api/v1/workers`: add (with host key confirmation), list, label and remove workers."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from gpustack_tui.domain.images import checked_mirrors
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.state.store import AlreadyExists
from gpustack_tui.server.workers.errors import (
    HostKeyChanged,
    HostKeyUnknown,
    WorkerError,
)
from gpustack_tui.server.workers.sessions import default_worker_name

router = APIRouter(prefix="/workers", tags=["workers"])
Context = Annotated[ServerContext, Depends(get_context)]
WORKER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class AddWorker(BaseModel):
    """Body of POST /workers."""

    destination: str
    name: str | None = None
    identity_file: str | None = None
    accept_host_key: str | None = None
    image_mirrors: dict[str, str] = {}


def _checked(mirrors: dict[str, str]) -> dict[str, str]:
    """`mirrors` checked; 422 naming the first malformed rule."""
    try:
        return checked_mirrors(mirrors)
    except ValueError as exc:
        raise ApiException(422, "invalid", str(exc)) from exc


@router.get("")
def list_workers(ctx: Context) -> list[Worker]:
    """Every worker with its state and GPUs."""
    return ctx.store.list_workers()


@router.get("/{name}")
def get_worker(name: str, ctx: Context) -> Worker:
    """One worker."""
    return ctx.store.get_worker(name)


@router.post("", status_code=201)
async def add_worker(body: AddWorker, ctx: Context) -> Worker:
    """Connect to the worker's agent, then store it. Nothing is stored on any failure."""
    if body.name is not None and not WORKER_NAME.match(body.name):
        raise ApiException(
            422, "invalid", "worker name: use letters, digits, '.', '_' or '-' (at most 63)"
        )
    mirrors = _checked(body.image_mirrors)
    wanted = body.name or default_worker_name(body.destination)
    if any(w.name == wanted or w.destination == body.destination for w in ctx.store.list_workers()):
        raise ApiException(
            409, "exists", f"a worker named {wanted!r} or reached at {body.destination} exists"
        )
    try:
        worker = await ctx.sessions.connect_new(
            body.destination,
            body.name,
            body.identity_file,
            body.accept_host_key,
            image_mirrors=mirrors,
        )
    except (HostKeyUnknown, HostKeyChanged) as exc:
        raise ApiException(409, exc.code, exc.message, exc.details) from exc
    except WorkerError as exc:
        raise ApiException(502, exc.code, exc.message, exc.details) from exc
    except AlreadyExists as exc:  # before ValueError, its base: a racing add of the same name
        raise ApiException(409, "exists", str(exc)) from exc
    except ValueError as exc:
        raise ApiException(422, "invalid", str(exc)) from exc
    ctx.reconciler.wake()
    return worker


@router.put("/{name}/labels")
def set_labels(name: str, labels: dict[str, str], ctx: Context) -> Worker:
    """Replace a worker's labels."""
    worker = ctx.store.get_worker(name)
    worker.labels = labels
    ctx.store.save_worker(worker)
    return worker


@router.put("/{name}/image-mirrors")
def set_image_mirrors(name: str, mirrors: dict[str, str], ctx: Context) -> Worker:
    """Replace a worker's own image mirrors (they come before the installation's); 422 naming
    a malformed rule. They apply to the next start and plan."""
    checked = _checked(mirrors)
    worker = ctx.store.get_worker(name)
    worker.image_mirrors = checked
    ctx.store.save_worker(worker)
    return worker


@router.delete("/{name}", status_code=204)
def remove_worker(name: str, ctx: Context) -> Response:
    """Forget a worker; refused while instances are placed on it."""
    placed = ctx.store.list_instances(worker=name)
    if placed:
        names = ", ".join(i.name for i in placed[:5])
        raise ApiException(
            409,
            "worker_busy",
            f"{len(placed)} instance(s) are placed on {name} ({names}): scale those deployments "
            "down or delete them first",
        )
    ctx.store.remove_worker(name)
    ctx.sessions.forget(name)
    return Response(status_code=204)
