"""A workload run's log: a new log per run (the previous one kept), and the size cap.

Beside each log lies a meta file (`log.meta`): `{"id": <hex naming this run's log>, "dropped":
<bytes the size cap cut from its start>}`. The offsets `read_log` hands out are *logical*: bytes
written to the run's log since it began (position in the file + `dropped`), so an offset stays
valid when the cap cuts the file, and a reader can tell a new run's log by its `id`.

The workload and its supervisor hold the log open in append mode, so the cap is applied in
place, as logrotate's copytruncate does: the newest part is copied to the start of the file
behind a marker line, then the file is truncated. Appends always land at the end, whatever its
size; only bytes appended between the last copy and the truncate (microseconds) can be lost.
Readers and the cutter serialize on `flock` of the log file; the workload never locks it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import uuid
from typing import Any, BinaryIO, Dict, Optional, Tuple

from agent import files
from agent.paths import LOG_FILE, LOG_MAX_BYTES_ENV, LOG_META_SUFFIX, PREVIOUS_LOG_FILE

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
MIN_MAX_BYTES = 4096  # the cut needs room for its marker line before the kept part
CHECK_SECONDS = 1.0
COPY_CHUNK = 1024 * 1024
LINE_SEARCH = 64 * 1024  # how far past the cut point to look for a line start


def meta_path(log_path: str) -> str:
    """The meta file of the log at `log_path`."""
    return log_path + LOG_META_SUFFIX


def read_meta(log_path: str) -> Dict[str, Any]:
    """`{"id": str, "dropped": int}` of a log; a log without a valid meta file has id "" and 0."""
    meta = files.read_json(meta_path(log_path))
    if not isinstance(meta, dict):
        return {"id": "", "dropped": 0}
    dropped = meta.get("dropped")
    return {
        "id": str(meta.get("id") or ""),
        "dropped": dropped if isinstance(dropped, int) and dropped >= 0 else 0,
    }


def _new_meta() -> Dict[str, Any]:
    return {"id": uuid.uuid4().hex[:16], "dropped": 0}


def begin_run(folder: str) -> None:
    """Before a run opens its log: the last run's log becomes `log.1` (replacing the one before),
    and the new log gets a fresh meta file. Called by the supervisor."""
    current = os.path.join(folder, LOG_FILE)
    previous = os.path.join(folder, PREVIOUS_LOG_FILE)
    try:
        handle = open(current, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        handle = None
    if handle is not None:
        with handle:
            # A cut in progress on this log finishes first (it holds the lock).
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            files.remove_file(meta_path(previous))
            os.replace(current, previous)
            if os.path.exists(meta_path(current)):
                os.replace(meta_path(current), meta_path(previous))
    files.write_json_atomic(meta_path(current), _new_meta())


def max_bytes_from_env() -> Tuple[int, Optional[str]]:
    """The cap from GPUSTACK_AGENT_LOG_MAX_BYTES, and a warning when the value was unusable."""
    raw = os.environ.get(LOG_MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES, None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < MIN_MAX_BYTES:
        return DEFAULT_MAX_BYTES, (
            f"ignoring {LOG_MAX_BYTES_ENV}={raw!r}: want a whole number of bytes >= "
            f"{MIN_MAX_BYTES}; capping this log at {DEFAULT_MAX_BYTES} bytes"
        )
    return value, None


def _line_start_after(handle: BinaryIO, position: int, end: int) -> int:
    """The start of the first whole line at or after `position` (or `position` itself)."""
    handle.seek(position)
    probe = handle.read(min(LINE_SEARCH, end - position))
    newline = probe.find(b"\n")
    if newline >= 0 and position + newline + 1 < end:
        return position + newline + 1
    return position


def _copy_down(fd: int, read_pos: int, write_pos: int) -> Tuple[int, int]:
    """Copy everything from `read_pos` to the end of the file down to `write_pos`, including
    what is appended meanwhile; the final (read_pos, write_pos)."""
    while True:
        end = os.fstat(fd).st_size
        if read_pos >= end:
            return read_pos, write_pos
        while read_pos < end:
            chunk = os.pread(fd, min(COPY_CHUNK, end - read_pos), read_pos)
            if not chunk:
                break
            os.pwrite(fd, chunk, write_pos)
            read_pos += len(chunk)
            write_pos += len(chunk)


def cut_to_newest(log_path: str, max_bytes: int) -> bool:
    """If the log is larger than `max_bytes`, keep only its newest half (from a line start),
    behind a marker line; whether it cut. The meta's `dropped` grows by the shift."""
    keep = max(MIN_MAX_BYTES // 2, max_bytes // 2)
    try:
        handle = open(log_path, "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return False
    with handle:
        fd = handle.fileno()
        if os.fstat(fd).st_size <= max_bytes:
            return False
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            try:
                if os.stat(log_path).st_ino != os.fstat(fd).st_ino:
                    return False  # a new run began: this file is the previous log now
            except FileNotFoundError:
                return False
            size = os.fstat(fd).st_size
            if size <= max_bytes:
                return False
            start = _line_start_after(handle, size - keep, size)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            marker = (
                f"[gpustack-agent {stamp}: log over {max_bytes} bytes; older output dropped, "
                "newest kept]\n"
            ).encode("utf-8")
            os.pwrite(fd, marker, 0)
            _read_end, write_end = _copy_down(fd, start, len(marker))
            os.ftruncate(fd, write_end)
            meta = read_meta(log_path)
            if not meta["id"]:
                meta["id"] = _new_meta()["id"]
            meta["dropped"] += start - len(marker)
            files.write_json_atomic(meta_path(log_path), meta)
            return True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _cap_loop(log_path: str, max_bytes: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        with contextlib.suppress(OSError):  # a full disk, a vanished folder: try again later
            cut_to_newest(log_path, max_bytes)


def start_size_cap(folder: str, log_fd: int, interval: float = CHECK_SECONDS) -> None:
    """Keep the run's log under the cap for as long as the calling process (the supervisor)
    lives: a daemon thread checks its size every `interval` seconds. A bad cap setting is
    reported once in the log itself."""
    max_bytes, warning = max_bytes_from_env()
    if warning:
        os.write(log_fd, f"gpustack-agent: {warning}\n".encode("utf-8", "replace"))
    thread = threading.Thread(
        target=_cap_loop,
        args=(os.path.join(folder, LOG_FILE), max_bytes, interval),
        name="log-size-cap",
        daemon=True,
    )
    thread.start()
