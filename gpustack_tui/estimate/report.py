"""An estimate as lines a person reads (CLI `estimate`, the TUI's deploy form). No I/O."""

from __future__ import annotations

from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.estimate.fit import Estimate
from gpustack_tui.estimate.parallel import ParallelChoice

FRACTION_NAMES = {
    "vllm": "--gpu-memory-utilization",
    "sglang": "--mem-fraction-static",
    "mindie": "--npu-memory-fraction",
}


def size(value: float) -> str:
    """Bytes in the largest binary unit that keeps the number at least 1: `15.26 GiB`."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{int(value)} B"


def count(value: int) -> str:
    """A parameter count: `8.19B`, `596.0M`."""
    if value >= 10**9:
        return f"{value / 10**9:.2f}B"
    return f"{value / 10**6:.1f}M"


def metadata_lines(meta: ModelMetadata) -> list[str]:
    """What the model is: architecture, category, parameters, attention shape, context."""
    shape = []
    if meta.num_layers:
        shape.append(f"{meta.num_layers} layers")
    if meta.num_attention_heads:
        shape.append(f"{meta.num_attention_heads} heads / {meta.num_kv_heads} KV")
    if meta.head_dim:
        shape.append(f"head dim {meta.head_dim}")
    if meta.is_mla:
        shape.append(f"MLA latent {meta.kv_lora_rank}+{meta.qk_rope_head_dim}")
    if meta.sliding_window:
        shape.append(f"window {meta.sliding_window} on {meta.sliding_window_layers} layers")
    params = ", ".join(f"{k} {count(v)}" for k, v in sorted(meta.parameters_by_dtype.items()))
    category = meta.category.value + (" (set by you)" if meta.category_overridden else "")
    lines = [
        f"model         {meta.model_id} ({meta.source}"
        + (f", {meta.revision[:12]}" if meta.revision else "")
        + ")",
        f"architecture  {meta.architecture or 'unknown'} · {category}",
        f"parameters    {count(meta.parameter_count)}" + (f" ({params})" if params else ""),
        f"weights       {size(meta.weight_bytes)}"
        + (f" ({meta.weight_format})" if meta.weight_format else "")
        + (f" {meta.gguf_file_type}" if meta.gguf_file_type else ""),
    ]
    if shape:
        lines.append("attention     " + " · ".join(shape))
    if meta.max_context:
        lines.append(f"max context   {meta.max_context} tokens")
    return lines


def estimate_lines(est: Estimate) -> list[str]:
    """The estimate's parts, per GPU, and the verdict."""
    if est.claim_fraction is not None:
        flag = FRACTION_NAMES.get(est.backend, "fraction")
        claim = f"{est.claim_fraction:.0%} of each GPU ({flag}={est.claim_fraction})"
    else:
        claim = "its estimate"
    gpus = ", ".join(size(g) for g in est.gpu_memory)
    lines = [
        f"backend       {est.backend}: claims {claim}",
        f"GPUs          {est.gpu_count} ({gpus}), tensor parallel {est.tensor_parallel}"
        + (f", pipeline parallel {est.pipeline_parallel}" if est.pipeline_parallel > 1 else ""),
        f"KV cache      {size(est.kv_bytes_per_token)} per token"
        + (f" ({size(est.kv_bytes_per_token_per_gpu)} on each GPU)" if est.gpu_count > 1 else ""),
        f"per GPU       weights {size(est.weights_per_gpu)} + overhead "
        f"{size(est.overhead_per_gpu)} + KV cache {size(est.kv_budget_per_gpu)}"
        f" = claim {size(min(est.claim_per_gpu))}",
    ]
    if est.kv_cache_tokens is not None:
        lines.append(f"KV capacity   {est.kv_cache_tokens} tokens")
    if est.largest_context is not None:
        wanted = f", asked {est.context_requested}" if est.context_requested else ""
        lines.append(f"context       up to {est.largest_context} tokens fit{wanted}")
    if est.ram_bytes:
        lines.append(f"host RAM      {size(est.ram_bytes)}")
    verdict = "fits" if est.fits else "does not fit"
    lines.append(f"result        {verdict} on {est.gpu_count} GPU(s)")
    lines.extend(f"  - {reason}" for reason in est.reasons)
    lines.extend(f"note          {note}" for note in est.notes)
    return lines


def minimum_lines(choice: ParallelChoice) -> list[str]:
    """The smallest GPU count that fits, or why none does."""
    if choice.gpu_count is not None:
        return [f"minimum       {choice.gpu_count} GPU(s)"]
    return ["minimum       no GPU count fits:", *(f"  - {r}" for r in choice.reasons)]
