"""`GET /api/v1/files`: one folder's entries on the server or on a worker, for path completion.

The server's own folders are read in a thread with the agent's `list_dir` (the same code, so
both places answer alike); a worker's through its agent, bounded by `WORKER_TIMEOUT` so that a
slow worker is said to be slow instead of holding the caller.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from agent.errors import AgentError as LocalAgentError
from agent.list_dir import list_dir
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.workers.errors import AgentError, WorkerError, WorkerUnreachable

router = APIRouter(tags=["files"])
Context = Annotated[ServerContext, Depends(get_context)]
WORKER_TIMEOUT = 5.0
MODEL_SUFFIXES = [".gguf"]
STATUS_OF = {"not_found": 404, "permission_denied": 403, "bad_request": 422}


class FileEntry(BaseModel):
    """One entry of a folder."""

    name: str
    is_dir: bool
    size: int


class FileListing(BaseModel):
    """A folder's entries (the first `limit` by name) and where they were read."""

    path: str
    where: str
    entries: list[FileEntry]
    truncated: bool


def _check_path(path: str) -> None:
    if not path.startswith(("/", "~")):
        raise ApiException(
            422, "invalid", f"give an absolute path (starting with / or ~), not {path!r}"
        )
    if "\0" in path:
        raise ApiException(422, "invalid", "a path cannot hold a NUL character")


def _refusal(code: str, message: str, where: str) -> ApiException:
    return ApiException(STATUS_OF.get(code, 502), code, f"{where}: {message}")


@router.get("/files")
async def list_files(
    ctx: Context,
    path: Annotated[str, Query(min_length=1, max_length=4096)],
    worker: Annotated[str | None, Query(max_length=200)] = None,
    all_files: Annotated[bool, Query(alias="all")] = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> FileListing:
    """Folders and `.gguf` files in `path` (every visible file with `all=true`), read on the
    server, or on `worker` through its agent."""
    _check_path(path)
    params: dict[str, Any] = {
        "path": path,
        "limit": limit,
        "suffixes": None if all_files else MODEL_SUFFIXES,
    }
    if not worker:
        try:
            answer = await asyncio.to_thread(list_dir, params)
        except LocalAgentError as exc:
            raise _refusal(exc.code, exc.message, "on the server") from exc
        return FileListing(where="server", **answer)
    ctx.store.get_worker(worker)  # NotFound: 404 "no worker named ..."
    where = f"on worker {worker}"
    try:
        answer = await ctx.sessions.call(worker, "list_dir", timeout=WORKER_TIMEOUT, **params)
    except AgentError as exc:
        raise _refusal(exc.agent_code, exc.message, where) from exc
    except WorkerUnreachable as exc:
        raise ApiException(
            503,
            "worker_unreachable",
            f"worker {worker} did not answer: {exc.message} (check it on the Workers view, "
            "or list the server's folders instead)",
        ) from exc
    except WorkerError as exc:
        raise ApiException(502, exc.code, f"{where}: {exc.message}") from exc
    return FileListing(where=f"worker {worker}", **answer)
