"""`/api/v1/instances`: list and delete instances, read their logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from gpustack_tui.domain.instance import Instance
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.state.store import NotFound
from gpustack_tui.server.workers.errors import WorkerError
from gpustack_tui.server.workers.logs import NoPreviousLog, stream_log

router = APIRouter(prefix="/instances", tags=["instances"])
Context = Annotated[ServerContext, Depends(get_context)]


def _instance(ctx: ServerContext, name: str) -> Instance:
    try:
        return ctx.store.get_instance(name)
    except NotFound as exc:
        raise ApiException(
            404, "not_found", f"no instance named {name!r} (see `gpustack-tui ls`)"
        ) from exc


@router.get("")
def list_instances(ctx: Context) -> list[Instance]:
    """Every instance of every deployment."""
    return ctx.store.list_instances()


@router.delete("/{name}", status_code=204)
def delete_instance(name: str, ctx: Context) -> Response:
    """Forget the instance; its process is stopped and the reconciler makes a new one."""
    ctx.store.delete_instance(name)
    ctx.reconciler.wake()
    return Response(status_code=204)


@router.get("/{name}/logs")
async def instance_logs(
    name: str,
    ctx: Context,
    tail: Annotated[int | None, Query(ge=0)] = None,
    follow: bool = False,
    previous: bool = False,
) -> StreamingResponse:
    """The instance's log as plain text; `follow=true` streams what is appended;
    `previous=true` gives the log of its program's previous run (never followed)."""
    instance = _instance(ctx, name)
    if instance.worker is None:
        raise ApiException(
            409, "not_placed", f"instance {name} is not placed on a worker yet: no log"
        )
    stream = stream_log(ctx.store, ctx.sessions, instance, tail, follow, previous)
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        first = ""
    except NoPreviousLog as exc:
        raise ApiException(
            404,
            "no_previous_log",
            f"instance {name} has no previous log: its program has not been started again "
            "on its worker; leave out --previous for the current log",
        ) from exc
    except WorkerError as exc:
        raise ApiException(502, exc.code, f"cannot read the log: {exc.message}") from exc

    async def body() -> AsyncIterator[str]:
        if first:
            yield first
        try:
            async for text in stream:
                yield text
        except WorkerError as exc:
            yield f"\n[gpustack-tui: log stream ended: {exc.message}]\n"

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8")
