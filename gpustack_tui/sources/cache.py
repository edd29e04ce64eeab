"""Metadata cache: an in-memory LRU in front of JSON files in the installation's data dir.

Keyed by source, repository and revision. A commit id names fixed content, so its entry lives
long; a branch such as `main` moves, so its entry expires after a day. Local paths are keyed by
their modification time and size, so a changed folder is read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

from gpustack_tui.domain.model import ModelMetadata

COMMIT = re.compile(r"^[0-9a-f]{40}$")
BRANCH_TTL = 24 * 3600.0
FIXED_TTL = 30 * 24 * 3600.0
MEMORY_ITEMS = 256


def ttl_for(revision: str | None) -> float:
    """How long an entry for `revision` stays fresh."""
    if revision and (COMMIT.match(revision) or revision.startswith("local:")):
        return FIXED_TTL
    return BRANCH_TTL


class MetadataCache:
    """Get and put `ModelMetadata` by (source, repository, revision)."""

    def __init__(self, folder: Path | None, memory_items: int = MEMORY_ITEMS) -> None:
        self.folder = folder
        self.memory_items = memory_items
        self._memory: OrderedDict[str, tuple[float, ModelMetadata]] = OrderedDict()
        # The server reads metadata from worker threads (asyncio.to_thread).
        self._lock = threading.Lock()

    @staticmethod
    def key(source: str, repo: str, revision: str | None) -> str:
        """The cache key of one model revision."""
        return f"{source}:{repo}@{revision or 'main'}"

    def _file(self, key: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def get(self, key: str, ttl: float) -> ModelMetadata | None:
        """The entry if present and younger than `ttl` seconds."""
        now = time.time()
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None and now - hit[0] < ttl:
                self._memory.move_to_end(key)
                return hit[1]
        path = self._file(key)
        if path is None:
            return None
        try:
            stored = json.loads(path.read_text())
            if stored.get("key") != key or now - float(stored["stored_at"]) >= ttl:
                return None
            meta = ModelMetadata.model_validate(stored["metadata"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self._remember(key, float(stored["stored_at"]), meta)
        return meta

    def put(self, key: str, meta: ModelMetadata) -> None:
        """Store an entry in memory and, when there is a folder, on disk (atomically)."""
        now = time.time()
        self._remember(key, now, meta)
        path = self._file(key)
        if path is None:
            return
        body = json.dumps({"key": key, "stored_at": now, "metadata": meta.model_dump(mode="json")})
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
            tmp.write_text(body)
            os.replace(tmp, path)

    def _remember(self, key: str, stored_at: float, meta: ModelMetadata) -> None:
        with self._lock:
            self._memory[key] = (stored_at, meta)
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
