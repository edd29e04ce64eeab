"""Small file helpers: atomic writes (a reader never sees half a file) and tolerant reads."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Optional


def write_text_atomic(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: str, value: Any) -> None:
    """Write `value` as JSON to `path` atomically."""
    write_text_atomic(path, json.dumps(value, sort_keys=True))


def read_json(path: str) -> Optional[Any]:
    """The JSON value in `path`, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def read_int(path: str) -> Optional[int]:
    """The integer written in `path`, or None when it is missing or not an integer."""
    try:
        with open(path, encoding="utf-8") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def remove_file(path: str) -> None:
    """Delete `path` if it exists."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
