"""Relaying an instance's log from its worker: the last lines, then what is appended."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gpustack_tui.domain.instance import Instance
from gpustack_tui.server.sessions import SessionManager
from gpustack_tui.server.store import NotFound, Store

CHUNK = 256 * 1024
TAIL_WINDOW = 1024 * 1024
POLL_SECONDS = 0.25


async def _read(sessions: SessionManager, worker: str, name: str, offset: int) -> dict:
    return await sessions.call(
        worker, "read_log", timeout=15.0, name=name, offset=offset, max_bytes=CHUNK
    )


async def _start_offset(
    sessions: SessionManager, worker: str, name: str, tail: int | None
) -> tuple[int, str]:
    """Where to start reading, and the tail text already read (when `tail` is given)."""
    if tail is None:
        return 0, ""
    first = await _read(sessions, worker, name, 0)
    size = int(first["size"])
    offset = max(0, size - TAIL_WINDOW)
    text = ""
    while offset < size:
        chunk = await _read(sessions, worker, name, offset)
        if chunk["next_offset"] <= offset:
            break
        text += chunk["data"]
        offset = int(chunk["next_offset"])
    lines = text.splitlines(keepends=True)
    if size > TAIL_WINDOW and lines:
        lines = lines[1:]  # the window's first line is probably cut
    return offset, "".join(lines[-tail:] if tail > 0 else [])


async def stream_log(
    store: Store,
    sessions: SessionManager,
    instance: Instance,
    tail: int | None,
    follow: bool,
) -> AsyncIterator[str]:
    """Yield the log text; with `follow`, keep yielding until the instance is deleted."""
    worker = instance.worker or ""
    name = instance.workload_name
    offset, text = await _start_offset(sessions, worker, name, tail)
    yield text  # even when empty: a failing first read must surface before the stream starts
    while True:
        chunk = await _read(sessions, worker, name, offset)
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
