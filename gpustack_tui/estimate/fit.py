"""The estimate: weights, KV cache, overhead and the per-GPU claim of one replica on a given set
of GPUs; whether it fits, and the longest context that does (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from gpustack_tui.domain.model import Category, ModelMetadata
from gpustack_tui.estimate.backends import (
    BACKENDS,
    ESTIMATE_BACKENDS,
    GIB,
    claim_fraction,
    overhead_per_gpu,
)
from gpustack_tui.estimate.kv import kv_shape
from gpustack_tui.estimate.params import BackendParameters

CONTEXT_PARAMS = {
    "vllm": ("--max-model-len",),
    "sglang": ("--context-length",),
    "mindie": ("--max-seq-len", "--max-model-len"),
    "custom": ("--ctx-size", "-c", "--max-model-len", "--context-length"),
    "voxbox": (),
}
CUSTOM_DEFAULT_CONTEXT = 8192
MINDIE_DEFAULT_CONTEXT = 8192
MINDIE_COMPUTE_TOKENS = 200 * 128


class ExtendedKv(BaseModel):
    """Extended KV cache: KV blocks kept in host RAM besides the GPUs."""

    enabled: bool = False
    ram_to_vram_ratio: float = 1.2
    max_ram_gib: float | None = None


class Estimate(BaseModel):
    """One replica of a model on `gpu_count` GPUs under one backend, and its parts."""

    backend: str
    category: Category
    gpu_count: int
    tensor_parallel: int
    pipeline_parallel: int = 1
    gpu_memory: list[int] = Field(description="total bytes of each GPU used")
    weight_bytes: int
    weights_per_gpu: int
    kv_bytes_per_token: int = Field(description="whole model, all layers")
    kv_bytes_per_token_per_gpu: int
    overhead_per_gpu: int
    claim_fraction: float | None = Field(description="GMU / MFS / NPU fraction, else None")
    claim_per_gpu: list[int]
    kv_budget_per_gpu: int = Field(description="what the smallest claim leaves for KV cache")
    context_requested: int | None
    model_max_context: int | None
    largest_context: int | None = Field(description="the longest context that fits")
    kv_cache_tokens: int | None = Field(description="tokens the KV cache holds; None: unlimited")
    vram_bytes: int = Field(description="sum of the claims")
    ram_bytes: int = 0
    fits: bool
    reasons: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def _gib(value: float) -> str:
    return f"{value / GIB:.2f} GiB"


def requested_context(meta: ModelMetadata, backend: str, params: BackendParameters) -> int | None:
    """The context the backend will be started with: the user's parameter, else the model's
    maximum (vLLM, SGLang), else the backend's default (MindIE, custom)."""
    given = params.integer(*CONTEXT_PARAMS.get(backend, ()))
    if given:
        return given
    if backend == "mindie":
        return min(meta.max_context or MINDIE_DEFAULT_CONTEXT, MINDIE_DEFAULT_CONTEXT)
    if backend == "custom":
        return min(meta.max_context or CUSTOM_DEFAULT_CONTEXT, CUSTOM_DEFAULT_CONTEXT)
    return meta.max_context


def _parallel(params: BackendParameters, gpus: int) -> tuple[int, int]:
    tp = params.integer("--tensor-parallel-size", "-tp", "--tp-size", "--tp")
    pp = params.integer("--pipeline-parallel-size", "-pp", "--pp-size", "--pp") or 1
    if tp is None:
        tp = max(gpus // pp, 1)
    return tp, pp


def estimate(
    meta: ModelMetadata,
    backend: str,
    gpu_memory: Sequence[int],
    backend_parameters: Sequence[str] = (),
    extended_kv: ExtendedKv | None = None,
    npu: bool = False,
) -> Estimate:
    """Estimate one replica on the GPUs whose total memory is `gpu_memory` (one entry per GPU,
    all used). ValueError for an unknown backend or malformed parameters."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if not gpu_memory or any(g <= 0 for g in gpu_memory):
        raise ValueError("give at least one GPU, each with its memory in bytes")
    params = BackendParameters(backend_parameters)
    n = len(gpu_memory)
    tp, pp = _parallel(params, n)
    reasons: list[str] = []
    notes: list[str] = list(meta.notes)
    if tp * pp != n:
        reasons.append(f"tensor x pipeline parallel size {tp}x{pp} does not match {n} GPU(s)")
    world = max(tp * pp, 1)
    shape = kv_shape(meta, tp, params.text("--kv-cache-dtype"))
    per_gpu_kv = shape.bytes_per_token / pp
    weights = meta.weight_bytes
    if backend == "voxbox":
        factor = 3.0 if meta.category is Category.TEXT_TO_SPEECH else 1.2
        weights_per_gpu = int(weights * factor / world)
        notes.append(f"VoxBox: weights x {factor} for runtime buffers")
    else:
        weights_per_gpu = -(-weights // world)
    overhead = overhead_per_gpu(meta, backend, params)
    if backend == "mindie":
        # GPUStack's MindIE compute buffer: 200 x 128 tokens of per-layer K/V work space.
        overhead += MINDIE_COMPUTE_TOKENS * int(per_gpu_kv)
    context = requested_context(meta, backend, params)
    fraction = claim_fraction(meta, backend, min(gpu_memory), tp, pp, params, npu)
    kv_for_context = int(shape.bytes_for(context or 0) / pp) if context else 0
    if fraction is None:
        own = weights_per_gpu + overhead + (kv_for_context if backend != "voxbox" else 0)
        claims = [own] * n
        if backend == "vllm":
            notes.append("vLLM non-LLM model: claims its estimate, not a share of each GPU")
    else:
        claims = [int(g * fraction) for g in gpu_memory]
    budget = min(claims) - weights_per_gpu - overhead
    for i, (total, claim) in enumerate(zip(gpu_memory, claims, strict=True)):
        if claim > total:
            reasons.append(f"GPU {i}: needs {_gib(claim)} of its {_gib(total)}")
    if budget < 0:
        reasons.append(
            f"weights ({_gib(weights_per_gpu)}) and runtime overhead ({_gib(overhead)}) per GPU "
            f"exceed the claim of {_gib(min(claims))}"
        )
    tokens = None if per_gpu_kv == 0 else shape.tokens_for(budget * pp)
    if fraction is None and tokens is not None and context and budget >= kv_for_context:
        tokens = max(tokens, context)  # the claim was sized for this context: no rounding loss
    largest = None
    if budget >= 0:
        limit = params.integer(*CONTEXT_PARAMS.get(backend, ())) or meta.max_context
        largest = limit if tokens is None else tokens
        if limit and largest is not None:
            largest = min(largest, limit)
        if context and largest is not None and largest < context:
            name = (CONTEXT_PARAMS.get(backend) or ("the context",))[0]
            reasons.append(
                f"the KV cache holds {largest} tokens, less than the context of {context}: "
                f"pass {name}={largest} or use more GPUs"
            )
    ram = _ram(backend, claims, extended_kv)
    if extended_kv and extended_kv.enabled:
        notes.append(f"extended KV cache: {_gib(ram)} of host RAM")
    return Estimate(
        backend=backend,
        category=meta.category,
        gpu_count=n,
        tensor_parallel=tp,
        pipeline_parallel=pp,
        gpu_memory=list(gpu_memory),
        weight_bytes=weights,
        weights_per_gpu=weights_per_gpu,
        kv_bytes_per_token=kv_shape(meta, 1, params.text("--kv-cache-dtype")).bytes_per_token,
        kv_bytes_per_token_per_gpu=int(per_gpu_kv),
        overhead_per_gpu=overhead,
        claim_fraction=fraction,
        claim_per_gpu=claims,
        kv_budget_per_gpu=max(budget, 0),
        context_requested=context,
        model_max_context=meta.max_context,
        largest_context=largest,
        kv_cache_tokens=tokens,
        vram_bytes=sum(claims),
        ram_bytes=ram,
        fits=not reasons,
        reasons=reasons,
        notes=notes,
    )


def _ram(backend: str, claims: list[int], extended_kv: ExtendedKv | None) -> int:
    if extended_kv and extended_kv.enabled:
        if extended_kv.max_ram_gib:
            return int(extended_kv.max_ram_gib * GIB)
        return int(sum(claims) * extended_kv.ram_to_vram_ratio)
    if backend in ESTIMATE_BACKENDS:
        return max(int(0.1 * sum(claims)), 2 * GIB)
    return 0
