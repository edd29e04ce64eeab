"""Relaying an instance's log from its worker: the last lines, then what is appended.

The agent finds the last N lines itself (`read_log` with `tail_lines`, a backwards scan), so a
tail costs one call whatever the log's size. Offsets are the agent's logical offsets: they stay
valid when the agent's size cap cuts the log. A follower that sees a new `log_id` (the instance's
program was started again) says so and reads the new run's log from its start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from gpustack_tui.domain.instance import Instance
from gpustack_tui.server.state.store import NotFound, Store
from gpustack_tui.server.workers.sessions import SessionManager

CHUNK = 256 * 1024
POLL_SECONDS = 0.25
READ_TIMEOUT = 15.0
NEW_RUN_NOTE = "\n[gpustack-tui: the instance's program was started again; its new log follows]\n"


class NoPreviousLog(LookupError):
    """The instance's workload has no previous run's log (it was never started again)."""


async def _read(
    sessions: SessionManager, worker: str, name: str, previous: bool, **params: Any
) -> dict:
    if previous:
        params["previous"] = True
    return await sessions.call(worker, "read_log", timeout=READ_TIMEOUT, name=name, **params)


async def stream_log(
    store: Store,
    sessions: SessionManager,
    instance: Instance,
    tail: int | None,
    follow: bool,
    previous: bool = False,
) -> AsyncIterator[str]:
    """Yield the log text (the last `tail` lines first, when given); with `follow`, keep
    yielding until the instance is deleted. `previous` reads the last run's log, which is
    complete: it is never followed. Raises `NoPreviousLog` before yielding when there is none."""
    worker = instance.worker or ""
    name = instance.workload_name
    if tail is not None:
        first = await _read(sessions, worker, name, previous, tail_lines=tail)
    else:
        first = await _read(sessions, worker, name, previous, offset=0, max_bytes=CHUNK)
    if previous and not first.get("exists", True):
        raise NoPreviousLog(name)
    log_id = first.get("log_id")
    offset = int(first["next_offset"])
    # Yielded even when empty: a failing first read must surface before the stream starts.
    yield first["data"]
    follow = follow and not previous
    while True:
        chunk = await _read(sessions, worker, name, previous, offset=offset, max_bytes=CHUNK)
        if chunk.get("log_id") != log_id:
            # A new run: read its log from the start (this chunk came from our old offset).
            if log_id:
                yield NEW_RUN_NOTE
            log_id = chunk.get("log_id")
            offset = 0
            continue
        next_offset = int(chunk["next_offset"])
        if chunk["data"]:
            yield chunk["data"]
        moved = next_offset != offset
        offset = next_offset
        if moved and offset < int(chunk["size"]):
            continue
        if not follow:
            return
        try:
            store.get_instance(instance.name)
        except NotFound:
            return
        await asyncio.sleep(POLL_SECONDS)
