"""The hash of the agent's own code, reported in `hello` so the server can tell a stale or
modified copy on a worker from the bundle it would upload.

The files and the order are those of the server's bundle (gpustack_tui/server/workers/bundle.py
computes the same hash): every `*.py` and `PROTOCOL.md` under the `agent` package (`__pycache__`
left out), sorted by their path relative to the package's parent ("agent/..."), then `pynvml.py`
when it lies beside the package. Each file adds its name's length (4 bytes, big-endian), the
name, its size (8 bytes) and its bytes to a sha256.
"""

from __future__ import annotations

import hashlib
import os
from typing import List, Optional, Tuple

PACKAGE = "agent"
PYNVML_FILE = "pynvml.py"

_cached: Optional[str] = None


def bundle_files(package_dir: str) -> List[Tuple[str, str]]:
    """(relative name, absolute path) of each hashed file, in hashing order."""
    found: List[Tuple[str, str]] = []
    for parent, dirs, names in os.walk(package_dir):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            if not (name.endswith(".py") or name == "PROTOCOL.md"):
                continue
            path = os.path.join(parent, name)
            relative = os.path.relpath(path, package_dir).replace(os.sep, "/")
            found.append((f"{PACKAGE}/{relative}", path))
    found.sort()
    beside = os.path.join(os.path.dirname(package_dir), PYNVML_FILE)
    if os.path.isfile(beside):
        found.append((PYNVML_FILE, beside))
    return found


def code_hash(package_dir: Optional[str] = None) -> str:
    """The sha256 (hex) of the agent's code as it is on disk (computed once per process)."""
    global _cached
    if package_dir is None and _cached is not None:
        return _cached
    root = package_dir or os.path.dirname(os.path.abspath(__file__))
    hasher = hashlib.sha256()
    for relative, path in bundle_files(root):
        with open(path, "rb") as handle:
            data = handle.read()
        name = relative.encode("utf-8")
        hasher.update(len(name).to_bytes(4, "big") + name)
        hasher.update(len(data).to_bytes(8, "big") + data)
    digest = hasher.hexdigest()
    if package_dir is None:
        _cached = digest
    return digest
