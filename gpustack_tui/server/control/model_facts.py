"""What placement needs to know of a deployment's model: which ready workers can reach it, its
size, and (for the built-in backends, whose claims come from the estimate) its metadata.

A hub model is read from the hub (cached); every worker can download it. A local path is asked
of each worker (`path_info`); its metadata is read on one worker that has it
(`model_metadata`), or on the server when the path is there too. Metadata is kept in memory
for a few minutes, so a pass over many pending instances reads it once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from gpustack_tui.backends.catalog import BUILTIN
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.server.control import downloads
from gpustack_tui.server.workers.errors import AgentError, WorkerError
from gpustack_tui.server.workers.sessions import SessionManager
from gpustack_tui.sources.errors import SourceError
from gpustack_tui.sources.service import Sources

log = logging.getLogger(__name__)

METADATA_TTL_SECONDS = 300.0
PATH_INFO_TIMEOUT = 15.0
METADATA_TIMEOUT = 60.0
_LOCAL_SOURCES = Sources()
_METADATA: dict[tuple[str, str], tuple[float, ModelMetadata]] = {}


@dataclass
class ModelFacts:
    """Which workers cannot take the model (and why), its size, and its metadata."""

    excluded: dict[str, str] = field(default_factory=dict)
    size: int = 0
    metadata: ModelMetadata | None = None
    problem: str | None = None  # why the metadata could not be read, when it was needed

    def metadata_problem(self, spec: DeploymentSpec) -> str | None:
        """Why `spec` cannot be placed for want of metadata, or None."""
        if spec.backend not in BUILTIN:
            return None
        if self.metadata is None:
            return f"cannot read the model's metadata: {self.problem or 'no worker has it'}"
        if not self.metadata.weight_bytes:
            found = "; ".join(self.metadata.notes) or "no weights"
            return f"cannot read the model's metadata: {found} in {self.metadata.model_id}"
        return None


async def model_presence(
    sessions: SessionManager, workers: list[str], path: str
) -> tuple[dict[str, str], int, list[str]]:
    """Ask each worker whether the model path exists there.

    Returns (excluded: worker -> reason, size in bytes as seen on a worker that has it, the
    workers that have it).
    """
    excluded: dict[str, str] = {}
    size = 0
    present: list[str] = []
    for worker in workers:
        try:
            info = await sessions.call(worker, "path_info", timeout=PATH_INFO_TIMEOUT, path=path)
        except WorkerError as exc:
            excluded[worker] = f"cannot check the model path: {exc.message}"
            continue
        if not info.get("exists"):
            excluded[worker] = f"model path {path} not found there"
            continue
        present.append(worker)
        if not size:
            size = int(info.get("size", 0))
    return excluded, size, present


def _cached(key: tuple[str, str]) -> ModelMetadata | None:
    entry = _METADATA.get(key)
    if entry is None or time.monotonic() - entry[0] > METADATA_TTL_SECONDS:
        return None
    return entry[1]


async def local_metadata(
    sessions: SessionManager, path: str, workers: list[str]
) -> tuple[ModelMetadata | None, str | None]:
    """The metadata of a local model path, read on the server when the path is here, else on
    the first of `workers` that can read it; (None, why) when none can."""
    key = ("local", path)
    cached = _cached(key)
    if cached is not None:
        return cached, None
    problems: list[str] = []
    if Path(path).expanduser().exists():
        try:
            meta = await asyncio.to_thread(_LOCAL_SOURCES.metadata, "local", path)
        except SourceError as exc:
            problems.append(f"on the server: {exc.message}")
        else:
            _METADATA[key] = (time.monotonic(), meta)
            return meta, None
    for worker in workers:
        try:
            facts = await sessions.call(
                worker, "model_metadata", timeout=METADATA_TIMEOUT, path=path
            )
            meta = _LOCAL_SOURCES.from_facts(facts)
        except (WorkerError, AgentError, KeyError, ValueError) as exc:
            problems.append(f"{worker}: {getattr(exc, 'message', exc)}")
            continue
        _METADATA[key] = (time.monotonic(), meta)
        return meta, None
    return None, "; ".join(problems) or f"no ready worker has {path}"


async def model_facts(
    sessions: SessionManager,
    spec: DeploymentSpec,
    workers: list[str],
    want_metadata: bool = False,
) -> ModelFacts:
    """The facts of `spec`'s model for placement on the ready `workers`; the metadata is read
    for the built-in backends, or for any when `want_metadata` (the dry run's context)."""
    needs_metadata = want_metadata or spec.backend in BUILTIN
    if downloads.is_hub(spec):
        excluded, meta = await downloads.hub_model_metadata(spec, workers)
        size = meta.weight_bytes if meta is not None else 0
        problem = next(iter(excluded.values()), None) if meta is None else None
        return ModelFacts(excluded, size, meta, problem)
    path = spec.source.value
    excluded, size, present = await model_presence(sessions, workers, path)
    if not needs_metadata:
        return ModelFacts(excluded, size)
    meta, problem = await local_metadata(sessions, path, present)
    if problem:
        log.warning("deployment %s: %s", spec.name, problem)
    return ModelFacts(excluded, size, meta, problem)


async def local_or_hub_metadata(
    sessions: SessionManager, spec: DeploymentSpec, worker: str, model_path: str
) -> tuple[ModelMetadata | None, str | None]:
    """The metadata of the model an instance starts on `worker` (from the memory cache when
    placement read it a moment ago); (None, why) when it cannot be read."""
    if downloads.is_hub(spec):
        excluded, meta = await downloads.hub_model_metadata(spec, [worker])
        return meta, excluded.get(worker)
    return await local_metadata(sessions, model_path, [worker])
