"""Local paths on this machine: a model folder (config.json, safetensors headers, sharded index
files; never the tensors) or a GGUF file.

The readers are the worker agent's own (stdlib only), so a path read here and one read through a
worker's agent give the same facts. GGUF metadata is parsed with struct rather than the `gguf`
package: `gguf.GGUFReader` decodes every token of the vocabulary into numpy objects and took
3-5 s on a file with a 128k-token vocabulary, against about 30 ms here; the tests check that both
readers agree.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from agent.model_files import directory_facts, gguf_facts
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.sources.errors import SourceError
from gpustack_tui.sources.facts import metadata_from_facts


def local_facts(path: str) -> dict[str, Any]:
    """The raw facts about a model folder or GGUF file; SourceError when there is none."""
    full = os.path.expanduser(path)
    if not os.path.exists(full):
        raise SourceError("not_found", f"model path {path} not found on this machine")
    if os.path.isdir(full):
        facts = directory_facts(full)
        facts["path"] = full
        return facts
    if not os.path.isfile(full):
        raise SourceError("invalid", f"{path} is neither a folder nor a regular file")
    try:
        facts = gguf_facts(full)
    except (OSError, ValueError, IndexError, struct.error) as exc:
        raise SourceError(
            "invalid", f"{path}: neither a model folder nor a readable GGUF file ({exc})"
        ) from exc
    facts["path"] = full
    return facts


def local_metadata(path: str) -> ModelMetadata:
    """Metadata of the model folder or GGUF file at `path` on this machine."""
    return metadata_from_facts(local_facts(path))


def revision_of(path: str) -> str:
    """A cache key that changes when the model changes: the newest modification time and the
    total size of the path's top-level entries."""
    full = Path(os.path.expanduser(path))
    stat = full.stat()
    if not full.is_dir():
        return f"{stat.st_mtime_ns}-{stat.st_size}"
    newest, total = stat.st_mtime_ns, 0
    for entry in os.scandir(full):
        info = entry.stat()
        newest = max(newest, info.st_mtime_ns)
        total += info.st_size
    return f"{newest}-{total}"
