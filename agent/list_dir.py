"""`list_dir`: the entries of one folder, for path completion in the TUI.

Bounded: at most `limit` entries come back (the first by name), however large the folder; the
folder is read once with `os.scandir` and only the `limit` smallest names are kept. Hidden
entries (a leading `.`) are skipped. With `suffixes`, files are kept only when their name ends
with one of them (folders are always kept): the TUI asks for folders and `.gguf` files.
"""

from __future__ import annotations

import heapq
import os
from typing import Any, Dict, Iterator, List, Tuple

from agent.errors import BAD_REQUEST, NOT_FOUND, AgentError
from agent.params import get_int, get_str

PERMISSION_DENIED = "permission_denied"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000


def _suffixes(params: Dict[str, Any]) -> Tuple[str, ...]:
    value = params.get("suffixes")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise AgentError(BAD_REQUEST, "param 'suffixes' must be a list of strings")
    return tuple(s.lower() for s in value)


def _entries(path: str, suffixes: Tuple[str, ...]) -> Iterator[Tuple[str, bool, int]]:
    """(name, is_dir, size) of each visible entry that passes the suffix filter."""
    with os.scandir(path) as scan:
        for entry in scan:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()  # follows links: a Hugging Face snapshot is a folder
                size = 0 if is_dir else entry.stat().st_size
            except OSError:
                continue  # a dangling link or an entry removed meanwhile
            if not is_dir and suffixes and not entry.name.lower().endswith(suffixes):
                continue
            yield entry.name, is_dir, size


def list_dir(params: Dict[str, Any]) -> Dict[str, Any]:
    """`list_dir`: `{"path", "entries": [{"name", "is_dir", "size"}], "truncated"}`."""
    raw = get_str(params, "path")
    limit = get_int(params, "limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise AgentError(BAD_REQUEST, f"param 'limit' must be between 1 and {MAX_LIMIT}")
    suffixes = _suffixes(params)
    path = os.path.abspath(os.path.expanduser(raw or "/"))
    if "\0" in path:
        raise AgentError(BAD_REQUEST, "a path cannot hold a NUL character")
    if not os.path.exists(path):
        raise AgentError(NOT_FOUND, f"{path} does not exist")
    if not os.path.isdir(path):
        raise AgentError(BAD_REQUEST, f"{path} is a file, not a folder")
    count = 0

    def counted() -> Iterator[Tuple[str, bool, int]]:
        nonlocal count
        for item in _entries(path, suffixes):
            count += 1
            yield item

    try:
        kept: List[Tuple[str, bool, int]] = heapq.nsmallest(limit, counted())
    except PermissionError:
        raise AgentError(
            PERMISSION_DENIED,
            f"cannot read {path}: permission denied for the user the agent runs as "
            f"({_user()}); pick another folder or grant read access",
        ) from None
    except OSError as exc:
        raise AgentError(BAD_REQUEST, f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeError) as exc:  # a NUL byte, or a name the OS cannot encode
        raise AgentError(BAD_REQUEST, f"cannot read {path!r}: {exc}") from None
    entries = [{"name": n, "is_dir": d, "size": s} for n, d, s in kept]
    return {"path": path, "entries": entries, "truncated": count > len(entries)}


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
