"""`read_log`: a workload's log by byte offsets, in whole lines where it can."""

from __future__ import annotations

import os
from typing import Any, Dict

from agent.errors import BAD_REQUEST, NOT_FOUND, AgentError
from agent.params import get_int, get_str
from agent.paths import LOG_FILE, workload_dir

DEFAULT_MAX_BYTES = 64 * 1024
MAX_MAX_BYTES = 8 * 1024 * 1024


def incomplete_utf8_tail(chunk: bytes) -> int:
    """How many bytes at the end of `chunk` start a UTF-8 character that `chunk` cuts off."""
    for back in range(1, min(4, len(chunk)) + 1):
        byte = chunk[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: look further back for the lead byte
            continue
        if byte & 0xE0 == 0xC0:
            needed = 2
        elif byte & 0xF0 == 0xE0:
            needed = 3
        elif byte & 0xF8 == 0xF0:
            needed = 4
        else:  # ASCII or an invalid byte: nothing to wait for
            return 0
        return back if needed > back else 0
    return 0


def cut_chunk(chunk: bytes, at_end: bool) -> bytes:
    """The part of `chunk` to return: up to its last newline; without one, all of it but a
    character cut in two (held back for the next read unless nothing else would be returned)."""
    newline = chunk.rfind(b"\n")
    if newline >= 0:
        return chunk[: newline + 1]
    cut = incomplete_utf8_tail(chunk)
    if cut == 0:
        return chunk
    if cut < len(chunk):
        return chunk[:-cut]
    # Only the start of one character: wait for the rest at the end of the log, but never stall
    # a reader whose max_bytes is smaller than one character.
    return b"" if at_end else chunk


def read_log(params: Dict[str, Any]) -> Dict[str, Any]:
    """`read_log`: `{"data", "next_offset", "size"}` from `offset`, at most `max_bytes` bytes."""
    folder = workload_dir(get_str(params, "name"))
    offset = get_int(params, "offset", 0)
    max_bytes = get_int(params, "max_bytes", DEFAULT_MAX_BYTES)
    if offset < 0:
        raise AgentError(BAD_REQUEST, "param 'offset' must be >= 0")
    if max_bytes < 1:
        raise AgentError(BAD_REQUEST, "param 'max_bytes' must be >= 1")
    if not os.path.isdir(folder):
        raise AgentError(NOT_FOUND, f"no workload named {os.path.basename(folder)}")
    try:
        handle = open(os.path.join(folder, LOG_FILE), "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return {"data": "", "next_offset": 0, "size": 0}
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if offset > size:  # the log was truncated or replaced: start over
            offset = 0
        handle.seek(offset)
        chunk = handle.read(min(max_bytes, MAX_MAX_BYTES, size - offset))
    chunk = cut_chunk(chunk, at_end=offset + len(chunk) >= size)
    return {
        "data": chunk.decode("utf-8", "replace"),
        "next_offset": offset + len(chunk),
        "size": size,
    }
