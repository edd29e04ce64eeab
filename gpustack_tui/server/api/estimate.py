"""`POST /api/v1/estimate`: a model's metadata and what one replica of it needs on a set of GPUs.

Hub models are read here (cached in the data dir). A local path is read on this machine when it
exists here, else through the agent of the worker named in the request, else of the first ready
worker that has it. GPUs come from the request (`gpus` x `gpu_memory`), or from a worker's
inventory (the named one, else the ready worker with the most GPU memory).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gpustack_tui.domain.deployment import ModelSource
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.estimate.fit import Estimate, ExtendedKv, estimate
from gpustack_tui.estimate.parallel import ParallelChoice, minimum_tensor_parallel
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.state.store import NotFound
from gpustack_tui.server.workers.errors import AgentError, WorkerError
from gpustack_tui.sources.errors import SourceError
from gpustack_tui.sources.service import Sources

router = APIRouter(tags=["models"])
Context = Annotated[ServerContext, Depends(get_context)]
STATUS = {"not_found": 404, "gated": 403, "unauthorized": 403, "invalid": 422, "network": 502}
_SOURCES: dict[Path, Sources] = {}


def sources_for(ctx: ServerContext) -> Sources:
    """The installation's sources, caching metadata under `<data dir>/cache/metadata`."""
    folder = ctx.paths.data_dir / "cache" / "metadata"
    if folder not in _SOURCES:
        _SOURCES[folder] = Sources(folder)
    return _SOURCES[folder]


def source_failure(exc: SourceError) -> ApiException:
    """The API error of a source failure (its message already says what to do)."""
    return ApiException(STATUS.get(exc.code, 502), exc.code, exc.message)


class EstimateRequest(BaseModel):
    """Body of POST /estimate."""

    source: ModelSource
    revision: str | None = None
    backend: Literal["vllm", "sglang", "mindie", "voxbox", "custom"] = "vllm"
    category: str | None = Field(None, description="override the detected category")
    gpus: int | None = Field(None, ge=1, le=64, description="GPUs per replica; default: fewest")
    gpu_memory: int | None = Field(None, gt=0, description="bytes per GPU; default: a worker's")
    backend_parameters: list[str] = Field(default_factory=list)
    extended_kv_cache: ExtendedKv | None = None
    worker: str | None = None


class EstimateAnswer(BaseModel):
    """The metadata, the estimate on the chosen GPUs, and the smallest GPU count that fits."""

    metadata: ModelMetadata
    gpu_source: str
    estimate: Estimate | None
    minimum: ParallelChoice


async def _local_metadata(ctx: ServerContext, body: EstimateRequest) -> ModelMetadata:
    path = body.source.value
    sources = sources_for(ctx)
    if body.worker is None and Path(path).expanduser().exists():
        return await asyncio.to_thread(sources.metadata, "local", path, None, body.category)
    names = [body.worker] if body.worker else [w.name for w in _ready(ctx)]
    if not names:
        raise ApiException(
            404, "not_found", f"{path} is not on the server, and no worker is ready to look"
        )
    misses: list[str] = []
    for name in names:
        try:
            facts = await ctx.sessions.call(name, "model_metadata", timeout=60.0, path=path)
        except AgentError as exc:
            if exc.agent_code != "not_found":
                raise ApiException(422, "invalid", f"worker {name}: {exc.message}") from exc
            misses.append(name)
            continue
        except (WorkerError, KeyError) as exc:
            misses.append(f"{name} ({exc})")
            continue
        return sources.from_facts(facts, body.category)
    raise ApiException(404, "not_found", f"{path} was not found on: {', '.join(misses)}")


def _ready(ctx: ServerContext) -> list[Worker]:
    ready = [w for w in ctx.store.list_workers() if w.state is WorkerState.READY]
    return sorted(ready, key=lambda w: sum(g.memory_total for g in w.gpus), reverse=True)


def _gpu_memory(ctx: ServerContext, body: EstimateRequest) -> tuple[list[int], str]:
    if body.gpu_memory:
        # Room for the search of the smallest count as well as the count asked for.
        return [body.gpu_memory] * max(body.gpus or 0, 8), "request"
    if body.worker:
        try:
            workers = [ctx.store.get_worker(body.worker)]
        except NotFound as exc:
            raise ApiException(404, "not_found", f"no worker named {body.worker!r}") from exc
    else:
        workers = _ready(ctx)
    for worker in workers:
        memory = sorted((g.memory_total for g in worker.gpus if g.memory_total), reverse=True)
        if memory:
            return memory, f"worker {worker.name}"
    raise ApiException(
        422,
        "no_gpus",
        "no worker reports GPUs: give the GPUs to estimate for (gpus and gpu_memory, "
        "e.g. --gpus 1 --gpu-memory 80GiB)",
    )


@router.post("/estimate")
async def estimate_model(body: EstimateRequest, ctx: Context) -> EstimateAnswer:
    """Read the model's metadata and estimate one replica."""
    try:
        if body.source.kind == "local_path":
            meta = await _local_metadata(ctx, body)
        else:
            sources = sources_for(ctx)
            meta = await asyncio.to_thread(
                sources.metadata, body.source.kind, body.source.value, body.revision, body.category
            )
    except SourceError as exc:
        raise source_failure(exc) from exc
    except ValueError as exc:
        raise ApiException(422, "invalid", str(exc)) from exc
    memory, origin = _gpu_memory(ctx, body)
    if body.gpus and body.gpus > len(memory):
        raise ApiException(
            422, "invalid", f"{body.gpus} GPUs asked for, {origin} has {len(memory)}"
        )
    try:
        minimum = minimum_tensor_parallel(
            meta, body.backend, memory, body.backend_parameters, body.extended_kv_cache
        )
        chosen = minimum.estimate
        if body.gpus:
            chosen = estimate(
                meta,
                body.backend,
                memory[: body.gpus],
                body.backend_parameters,
                body.extended_kv_cache,
            )
    except ValueError as exc:
        raise ApiException(422, "invalid", str(exc)) from exc
    return EstimateAnswer(metadata=meta, gpu_source=origin, estimate=chosen, minimum=minimum)
