"""How each backend takes GPU memory (no I/O): the fraction of each GPU it claims, and the
runtime overhead that sits inside that claim beside the weights and the KV cache.

- vLLM claims `--gpu-memory-utilization` (default 0.9) of every GPU it uses, whatever the
  model's size; weights, activations, CUDA graphs and the KV cache share that budget.
- SGLang claims `--mem-fraction-static` for weights and the KV pool; when not given it derives
  it from the smallest GPU as GPUStack does (reference §7); activations live outside it.
- MindIE claims `--npu-memory-fraction` (default 0.8) of each NPU.
- Custom and VoxBox backends claim the estimate itself.
"""

from __future__ import annotations

from gpustack_tui.domain.model import Category, ModelMetadata
from gpustack_tui.estimate.params import BackendParameters

GIB = 1024**3
MIB = 1024**2
FRACTION_BACKENDS = ("vllm", "sglang", "mindie")
ESTIMATE_BACKENDS = ("custom", "voxbox")
BACKENDS = FRACTION_BACKENDS + ESTIMATE_BACKENDS
VLLM_DEFAULT_GMU = 0.9
MINDIE_DEFAULT_FRACTION = 0.8
# CUDA context, NCCL buffers and allocator slack that vLLM keeps outside torch's tensors.
VLLM_BASE_OVERHEAD = int(1.5 * GIB)
VLLM_DEFAULT_BATCHED_TOKENS = 8192
# Bytes of transient activations per batched token and hidden unit (attention, MLP, norms,
# in bf16), measured as roughly 24 on Llama/Qwen-shaped decoders.
ACTIVATION_BYTES_PER_TOKEN_HIDDEN = 24
MINDIE_BASE = 3 * GIB
QWEN3_GENERATORS = frozenset(
    {"Qwen3ForCausalLM", "Qwen3ForSequenceClassification", "Qwen3VLForConditionalGeneration"}
)


def vllm_non_llm(meta: ModelMetadata) -> bool:
    """GPUStack's 'GMU 0' mode: a model that is neither an LLM nor speech-to-text (and not a
    Qwen3 family model that vLLM serves as a generator) claims its estimate, not 90%."""
    if meta.category in (Category.LLM, Category.SPEECH_TO_TEXT):
        return False
    return not QWEN3_GENERATORS.intersection(meta.architectures)


def sglang_mem_fraction(
    gpu_mem_bytes: int,
    tp: int = 1,
    pp: int = 1,
    params: BackendParameters | None = None,
    npu: bool = False,
) -> float:
    """SGLang's --mem-fraction-static for the smallest GPU of `gpu_mem_bytes` (reference §7)."""
    params = params or BackendParameters()
    given = params.fraction("--mem-fraction-static")
    if given is not None:
        return given
    if gpu_mem_bytes <= 0:
        return 0.88
    mem = gpu_mem_bytes / MIB
    wide = tp >= 4
    if mem < 20480:
        chunk, bs = 2048, 8
    elif npu and mem < 32768:
        chunk, bs = 32768, 64 if wide else 16
    elif mem < 35840:
        chunk, bs = 2048, 80 if wide else 24
    elif mem < 61440:
        chunk, bs = 4096, 160 if wide else 32
    elif npu and mem < 65536:
        chunk, bs = 32768, 128 if wide else 64
    elif mem < 163840:
        chunk, bs = 8192, 512 if wide else 256
    else:
        chunk, bs = 16384, 512
    chunk = params.integer("--chunked-prefill-size") or chunk
    bs = params.integer("--cuda-graph-max-bs") or bs
    reserved = 512 + max(chunk, 2048) * 1.5 + 2 * bs + tp * pp / 8 * 1024
    if params.has("--enable-dp-attention"):
        dp = params.integer("--dp-size", "--data-parallel-size") or 1
        reserved += 3 * bs * dp + (1.5 * bs * dp if bs > 300 else 0)
    if mem > 61440:
        reserved = max(reserved, 10240)
    algorithm = (params.text("--speculative-algorithm") or "").upper()
    if algorithm == "STANDALONE":
        reserved += 6144
    elif algorithm and algorithm != "NGRAM":
        reserved += 2048
    return round((mem - reserved) / mem, 3)


def claim_fraction(
    meta: ModelMetadata,
    backend: str,
    smallest_gpu: int,
    tp: int,
    pp: int,
    params: BackendParameters,
    npu: bool = False,
) -> float | None:
    """The share of each GPU the backend takes, or None when it takes the estimate itself."""
    if backend == "vllm":
        given = params.fraction("--gpu-memory-utilization")
        if given is not None:
            return given
        return None if vllm_non_llm(meta) else VLLM_DEFAULT_GMU
    if backend == "sglang":
        return sglang_mem_fraction(smallest_gpu, tp, pp, params, npu)
    if backend == "mindie":
        return params.fraction("--npu-memory-fraction") or MINDIE_DEFAULT_FRACTION
    return None


def overhead_per_gpu(meta: ModelMetadata, backend: str, params: BackendParameters) -> int:
    """Runtime memory inside the claim besides weights and KV cache, on each GPU."""
    if meta.category is not Category.LLM and backend in ESTIMATE_BACKENDS:
        return 512 * MIB
    if backend == "sglang":
        return 0
    hidden = meta.hidden_size or 4096
    if backend == "mindie":
        return MINDIE_BASE
    if backend == "vllm":
        tokens = params.integer("--max-num-batched-tokens") or VLLM_DEFAULT_BATCHED_TOKENS
        return VLLM_BASE_OVERHEAD + tokens * hidden * ACTIVATION_BYTES_PER_TOKEN_HIDDEN
    return 2 * GIB
