"""`read_log`: a workload's log by (logical) byte offsets in whole lines where it can, or its
last N lines, found by scanning backwards from the end; the current run's log or the previous.

Offsets are logical (see agent.log_rotation): they stay valid when the size cap cuts the log.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any, BinaryIO, Dict, Optional

from agent.errors import BAD_REQUEST, NOT_FOUND, AgentError
from agent.log_rotation import read_meta
from agent.params import get_int, get_str
from agent.paths import LOG_FILE, PREVIOUS_LOG_FILE, workload_dir

DEFAULT_MAX_BYTES = 64 * 1024
MAX_MAX_BYTES = 8 * 1024 * 1024
TAIL_BLOCK = 64 * 1024


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


def tail_start(handle: BinaryIO, size: int, lines: int, max_bytes: int) -> int:
    """Where the last `lines` lines of a file of `size` bytes begin, scanning backwards in
    blocks; never more than `max_bytes` before the end (then at the first line start inside
    that window, or mid-line when one line is longer). A last line without its newline counts."""
    if lines <= 0 or size == 0:
        return size
    floor = max(0, size - max_bytes)
    handle.seek(size - 1)
    search_end = size - 1 if handle.read(1) == b"\n" else size
    count = 0
    earliest: Optional[int] = None
    pos = search_end
    while pos > floor:
        block_start = max(floor, pos - TAIL_BLOCK)
        handle.seek(block_start)
        block = handle.read(pos - block_start)
        index = len(block)
        while True:
            index = block.rfind(b"\n", 0, index)
            if index < 0:
                break
            count += 1
            earliest = block_start + index + 1
            if count == lines:
                return earliest
        pos = block_start
    if floor == 0:
        return 0
    if earliest is not None:
        return earliest
    handle.seek(floor)
    head = handle.read(4)
    skip = 0
    while skip < len(head) and head[skip] & 0xC0 == 0x80:  # do not start inside a character
        skip += 1
    return floor + skip


def _get_bool(params: Dict[str, Any], key: str) -> bool:
    value = params.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise AgentError(BAD_REQUEST, f"param {key!r} must be true or false")
    return value


def _empty(exists: bool) -> Dict[str, Any]:
    return {"data": "", "next_offset": 0, "size": 0, "log_id": "", "exists": exists}


def read_log(params: Dict[str, Any]) -> Dict[str, Any]:
    """`read_log`: `{"data", "next_offset", "size", "log_id", "exists"}` from `offset` (at most
    `max_bytes` bytes), or the last `tail_lines` lines; of the previous run's log if `previous`."""
    folder = workload_dir(get_str(params, "name"))
    offset = get_int(params, "offset", 0)
    tail_lines = get_int(params, "tail_lines", None)
    default_max = DEFAULT_MAX_BYTES if tail_lines is None else MAX_MAX_BYTES
    max_bytes = min(get_int(params, "max_bytes", default_max), MAX_MAX_BYTES)
    previous = _get_bool(params, "previous")
    if offset < 0:
        raise AgentError(BAD_REQUEST, "param 'offset' must be >= 0")
    if max_bytes < 1:
        raise AgentError(BAD_REQUEST, "param 'max_bytes' must be >= 1")
    if tail_lines is not None and tail_lines < 0:
        raise AgentError(BAD_REQUEST, "param 'tail_lines' must be >= 0")
    if not os.path.isdir(folder):
        raise AgentError(NOT_FOUND, f"no workload named {os.path.basename(folder)}")
    path = os.path.join(folder, PREVIOUS_LOG_FILE if previous else LOG_FILE)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return _empty(exists=False) if previous else _empty(exists=True)
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # no size-cap cut while we read
        meta = read_meta(path)
        dropped = int(meta["dropped"])
        size = os.fstat(handle.fileno()).st_size
        if tail_lines is not None:
            start = tail_start(handle, size, tail_lines, max_bytes)
            handle.seek(start)
            chunk = handle.read(size - start)
            chunk = chunk[: len(chunk) - incomplete_utf8_tail(chunk)]
        else:
            # Behind what the cap kept: from the file's start (its marker says what was lost).
            # Past the end: a new run's log replaced the one the offset was for.
            start = offset - dropped
            if start < 0 or start > size:
                start = 0
            handle.seek(start)
            chunk = handle.read(min(max_bytes, size - start))
            chunk = cut_chunk(chunk, at_end=start + len(chunk) >= size)
    return {
        "data": chunk.decode("utf-8", "replace"),
        "next_offset": dropped + start + len(chunk),
        "size": dropped + size,
        "log_id": meta["id"],
        "exists": True,
    }
