"""Which files of a repository are the weights, each tensor counted once (no I/O).

GPUStack sums every root-level .safetensors/.bin/.pt/.pth file, so a repository shipping both
formats is counted twice. Here one format is chosen per folder (safetensors first), Mistral's
`consolidated.safetensors` beside sharded files is skipped, and a diffusers variant such as
`*.fp16.safetensors` beside the full-precision file is not added to it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from gpustack_tui.domain.model import ModelFile

FORMATS = (("safetensors", (".safetensors",)), ("bin", (".bin",)), ("pt", (".pt", ".pth")))
SKIP_NAMES = frozenset({"training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth"})


def _format_of(path: str) -> str | None:
    name = posixpath.basename(path)
    if name in SKIP_NAMES:
        return None
    for fmt, suffixes in FORMATS:
        if name.endswith(suffixes):
            return fmt
    return None


def _is_variant(path: str) -> bool:
    """`x.fp16.safetensors` or `x.fp16-00001-of-00002.safetensors`: a diffusers variant."""
    stem = posixpath.basename(path).split(".")
    return len(stem) >= 3


def _pick(files: list[ModelFile]) -> tuple[str | None, list[ModelFile]]:
    by_format: dict[str, list[ModelFile]] = {}
    for f in files:
        fmt = _format_of(f.path)
        if fmt is not None:
            by_format.setdefault(fmt, []).append(f)
    for fmt, _suffixes in FORMATS:
        chosen = by_format.get(fmt)
        if not chosen:
            continue
        if fmt == "safetensors" and len(chosen) > 1:
            chosen = [f for f in chosen if posixpath.basename(f.path) != "consolidated.safetensors"]
            plain = [f for f in chosen if not _is_variant(f.path)]
            chosen = plain or chosen
        return fmt, chosen
    return None, []


def weight_files(
    files: Iterable[ModelFile], folders: Iterable[str] | None = None
) -> tuple[str | None, list[ModelFile]]:
    """(format, the weight files): root-level files, or for a diffusers repo the files of each
    component folder in `folders`, one format per folder."""
    files = list(files)
    if folders is None:
        return _pick([f for f in files if "/" not in f.path])
    chosen: list[ModelFile] = []
    formats: list[str] = []
    for folder in folders:
        fmt, picked = _pick([f for f in files if posixpath.dirname(f.path) == folder])
        if fmt:
            formats.append(fmt)
            chosen.extend(picked)
    return (formats[0] if formats else None), chosen


def weight_bytes(files: Iterable[ModelFile], folders: Iterable[str] | None = None) -> int:
    """The bytes of the weight files chosen by `weight_files`."""
    return sum(f.size for f in weight_files(files, folders)[1])


def diffusers_folders(model_index: dict) -> list[str]:
    """The component folders model_index.json lists (entries given as [library, class])."""
    return sorted(
        key
        for key, value in model_index.items()
        if not key.startswith("_") and isinstance(value, list) and len(value) == 2 and value[0]
    )
