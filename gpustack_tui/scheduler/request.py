"""From a deployment spec (and, for built-in backends, the model's metadata) to the scheduler's
request for one replica.

Built-in backends take their request from the estimate (issue 4): the share of each GPU the
backend claims (vLLM's --gpu-memory-utilization, SGLang's --mem-fraction-static, MindIE's
--npu-memory-fraction), the memory the model needs in all (weights, the runtime overhead and the
KV cache of the context it will be started with), the tensor-parallel divisors of the model, and
the GPU count when the user's parallelism flags fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict

from gpustack_tui.backends.catalog import BUILTIN
from gpustack_tui.backends.for_spec import image_problem
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.domain.units import GIB
from gpustack_tui.estimate.backends import claim_fraction, overhead_per_gpu
from gpustack_tui.estimate.claim import resource_request
from gpustack_tui.estimate.fit import CONTEXT_PARAMS, estimate, requested_context
from gpustack_tui.estimate.kv import kv_shape
from gpustack_tui.estimate.params import BackendParameters
from gpustack_tui.estimate.spec import spec_metadata
from gpustack_tui.scheduler.model import Request, WorkerSnapshot

# The launch plans cap a context the user did not choose at this many tokens (GPUStack does the
# same), so placement sizes the KV cache for that context, not the model's maximum.
DEFAULT_CONTEXT_CAP = 8192
TP_FLAGS = ("--tensor-parallel-size", "-tp", "--tp-size", "--tp")
PP_FLAGS = ("--pipeline-parallel-size", "-pp", "--pp-size", "--pp")
DP_FLAGS = ("--data-parallel-size", "-dp", "--dp-size", "--dp")
# A GPU big enough that an estimate which claims its own size (not a share) is never short.
_UNBOUNDED_GPU = 1 << 50


def gpu_selector_of(spec: DeploymentSpec) -> tuple[tuple[str, int], ...]:
    """Manual mode's `WORKER:GPU_INDEX` items as pairs (empty in auto mode)."""
    if spec.scheduling.mode != "manual":
        return ()
    pairs = (item.rpartition(":") for item in spec.scheduling.gpu_selector)
    return tuple((worker, int(index)) for worker, _, index in pairs)


def fixed_gpu_count(spec: DeploymentSpec) -> int | None:
    """GPUs per replica when they are fixed: a number chosen in the form, else the product of
    the user's parallelism flags (tensor x pipeline x data parallel), else None (auto).

    ValueError (naming the flag) when a flag's value is not a positive number."""
    chosen = spec.scheduling.gpus_per_replica
    if isinstance(chosen, int):
        return chosen
    params = BackendParameters(spec.advanced.backend_parameters)
    sizes = [params.integer(*flags) for flags in (TP_FLAGS, PP_FLAGS, DP_FLAGS)]
    if not any(sizes):
        return None
    count = 1
    for size in sizes:
        count *= size or 1
    return count


def smallest_gpu(workers: Iterable[WorkerSnapshot], cluster: str) -> int:
    """The memory of the smallest GPU of the cluster's ready workers (0 when none): SGLang
    derives its memory fraction from it."""
    sizes = [g.total for w in workers if w.ready and w.cluster == cluster for g in w.gpus]
    return min(sizes, default=0)


class _Common(TypedDict):
    """The fields of a Request that every backend's request takes from the spec alike."""

    deployment: str
    cluster: str
    placement: Literal["spread", "binpack"]
    worker_selector: dict[str, str]
    gpu_selector: tuple[tuple[str, int], ...]
    replicas: int
    excluded: dict[str, str]


def _common(spec: DeploymentSpec, excluded: dict[str, str]) -> _Common:
    scheduling = spec.scheduling
    return {
        "deployment": spec.name,
        "cluster": spec.cluster,
        "placement": scheduling.placement,
        "worker_selector": dict(scheduling.worker_selector),
        "gpu_selector": gpu_selector_of(spec),
        "replicas": spec.replicas,
        "excluded": excluded,
    }


def custom_request(spec: DeploymentSpec, model_bytes: int, excluded: dict[str, str]) -> Request:
    """The request of a custom-backend replica.

    The custom backend takes what it is given: its claim is spread over the GPUs it gets, and
    several GPUs means all GPUs of one worker (it has no tensor-parallel rules we could check).
    """
    scheduling = spec.scheduling
    return Request(
        vram=resource_request(spec, model_bytes).vram_per_gpu,
        gpu_count=scheduling.gpus_per_replica
        if isinstance(scheduling.gpus_per_replica, int)
        else None,
        all_gpus_of_worker=scheduling.mode == "auto",
        allow_cpu=spec.advanced.allow_cpu_offloading,
        **_common(spec, excluded),
    )


def launch_context(spec: DeploymentSpec, meta: ModelMetadata) -> int | None:
    """The context the backend is started with: the user's, else the model's maximum capped at
    DEFAULT_CONTEXT_CAP (as the launch plans cap it)."""
    params = BackendParameters(spec.advanced.backend_parameters)
    context = requested_context(spec_metadata(spec, meta), spec.backend, params)
    if context and not params.has(*CONTEXT_PARAMS.get(spec.backend, ())):
        context = min(context, DEFAULT_CONTEXT_CAP)
    return context


def builtin_request(
    spec: DeploymentSpec, meta: ModelMetadata, excluded: dict[str, str], smallest: int
) -> Request:
    """The request of a built-in backend's replica, from the model's metadata.

    With a claim fraction, every GPU used claims that share of itself, and the replica fits
    when the claims add up to the weights, one runtime overhead and the KV cache of the launch
    context. Without one (vLLM serving a non-LLM model, VoxBox) the replica claims the
    estimate itself, spread over its GPUs. ValueError for malformed parameters.
    """
    backend = BUILTIN[spec.backend]
    meta = spec_metadata(spec, meta)
    params = BackendParameters(spec.advanced.backend_parameters)
    tp = params.integer(*TP_FLAGS) or 1
    pp = params.integer(*PP_FLAGS) or 1
    fraction = claim_fraction(meta, spec.backend, smallest, tp, pp, params)
    context = launch_context(spec, meta) or 0
    if fraction is None:
        own = estimate(meta, spec.backend, [_UNBOUNDED_GPU], spec.advanced.backend_parameters)
        vram = own.claim_per_gpu[0]
    else:
        kv = kv_shape(meta, 1, params.text("--kv-cache-dtype")).bytes_for(context)
        vram = meta.weight_bytes + overhead_per_gpu(meta, spec.backend, params) + kv
    count = fixed_gpu_count(spec)
    kv_cache = spec.performance.extended_kv_cache
    ram = 0
    if kv_cache.enabled:
        per_gpu = int(smallest * fraction) if fraction else vram
        ram = (
            int(kv_cache.max_ram_gib * GIB)
            if kv_cache.max_ram_gib
            else int(per_gpu * (count or 1) * kv_cache.ram_to_vram_ratio)
        )
    divisors = (meta.num_attention_heads, meta.vocab_size, meta.vision_heads)
    return Request(
        vram=vram,
        ram=ram,
        utilization=fraction or 0.0,
        gpu_count=count,
        tp_divisors=tuple(d for d in divisors if d),
        multi_gpu=backend.multi_gpu,
        distributed=backend.distributed and spec.advanced.distributed_across_workers,
        **_common(spec, excluded),
    )


def image_exclusions(spec: DeploymentSpec, workers: Iterable[WorkerSnapshot]) -> dict[str, str]:
    """Workers whose GPUs the spec's built-in backend version has no image for, and why."""
    excluded = {}
    for worker in workers:
        problem = image_problem(spec, worker.gpus[0].vendor if worker.gpus else "nvidia")
        if problem:
            excluded[worker.name] = problem
    return excluded


def request_for(
    spec: DeploymentSpec,
    model_bytes: int,
    excluded: dict[str, str],
    meta: ModelMetadata | None = None,
    workers: Sequence[WorkerSnapshot] = (),
) -> Request:
    """The scheduler's request for one replica of `spec` on `workers`: from the metadata for a
    built-in backend (ValueError when it is missing or a parameter is malformed; workers it
    has no image for are excluded), from the size on disk for custom ones."""
    if spec.backend not in BUILTIN:
        return custom_request(spec, model_bytes, excluded)
    if meta is None:
        raise ValueError(f"{spec.backend} needs the model's metadata to be placed")
    excluded = {**image_exclusions(spec, workers), **excluded}
    return builtin_request(spec, meta, excluded, smallest_gpu(workers, spec.cluster))
