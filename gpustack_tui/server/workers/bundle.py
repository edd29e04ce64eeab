"""The agent as shipped to workers: its files and a content hash naming the upload folder.

The bundle is the installed `agent` package (`*.py` files and PROTOCOL.md, found without
importing the package), plus `pynvml.py` beside it when the server has pynvml: the agent can
then use NVML on a worker where nothing is installed. The hash covers every file's relative
path and bytes, so any change to the agent gives a new folder on the workers; the agent computes
the same hash of its own files (agent/bundle_hash.py) and reports it in `hello`.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

AGENT_PACKAGE = "agent"


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle: where it goes (relative, POSIX) and its bytes."""

    relative: str
    data: bytes


@dataclass(frozen=True)
class AgentBundle:
    """The files to upload and their hash."""

    files: tuple[BundleFile, ...]
    digest: str  # sha256 hex: the name of the upload folder on workers


def agent_package_dir() -> Path:
    """The folder of the installed `agent` package (not imported, only located)."""
    spec = importlib.util.find_spec(AGENT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the worker agent package `agent` is not installed next to gpustack_tui; "
            "reinstall gpustack-tui"
        )
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def pynvml_file() -> Path | None:
    """pynvml's single module file when the server can import it, else None."""
    try:
        spec = importlib.util.find_spec("pynvml")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    path = Path(spec.origin)
    return path if path.is_file() else None


def collect_bundle(package_dir: Path | None = None, include_pynvml: bool = True) -> AgentBundle:
    """Read the agent's files (and pynvml's) and hash them."""
    root = package_dir or agent_package_dir()
    files: list[BundleFile] = []
    for path in root.rglob("*"):
        if not path.is_file() or "__pycache__" in path.relative_to(root).parts:
            continue
        if path.suffix != ".py" and path.name != "PROTOCOL.md":
            continue
        relative = f"{AGENT_PACKAGE}/{path.relative_to(root).as_posix()}"
        files.append(BundleFile(relative, path.read_bytes()))
    files.sort(key=lambda item: item.relative)  # the agent hashes in this order (bundle_hash)
    if not any(f.relative == f"{AGENT_PACKAGE}/__main__.py" for f in files):
        raise RuntimeError(f"the agent package at {root} has no __main__.py; cannot run it")
    nvml = pynvml_file() if include_pynvml else None
    if nvml is not None:
        files.append(BundleFile("pynvml.py", nvml.read_bytes()))
    hasher = hashlib.sha256()
    for item in files:
        name = item.relative.encode("utf-8")
        hasher.update(len(name).to_bytes(4, "big") + name)
        hasher.update(len(item.data).to_bytes(8, "big") + item.data)
    return AgentBundle(files=tuple(files), digest=hasher.hexdigest())
