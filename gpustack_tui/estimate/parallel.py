"""The smallest tensor-parallel size that fits, with the backends' divisibility rules (no I/O).

A split over n GPUs needs the attention heads, the vocabulary and the vision heads divisible by
n (as GPUStack checks), and the KV heads either divisible by n or dividing n (vLLM replicates a
KV head over the ranks that share it). There is no power-of-two rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.estimate.backends import ESTIMATE_BACKENDS
from gpustack_tui.estimate.fit import Estimate, ExtendedKv, estimate
from gpustack_tui.estimate.params import BackendParameters


def divisibility_problems(meta: ModelMetadata, n: int) -> list[str]:
    """Why the model cannot be split over `n` tensor-parallel ranks (empty when it can)."""
    if n <= 1:
        return []
    problems = []
    heads, kv = meta.num_attention_heads, meta.num_kv_heads
    if heads and heads % n:
        problems.append(f"{heads} attention heads are not divisible by {n}")
    if kv and not meta.is_mla and kv % n and n % kv:
        problems.append(f"{kv} KV heads neither divide nor are divisible by {n}")
    if meta.vocab_size and meta.vocab_size % n:
        problems.append(f"vocabulary of {meta.vocab_size} is not divisible by {n}")
    if meta.vision_heads and meta.vision_heads % n:
        problems.append(f"{meta.vision_heads} vision heads are not divisible by {n}")
    return problems


class ParallelChoice(BaseModel):
    """The smallest GPU count that fits (`estimate` set), or why none does (`reasons`)."""

    gpu_count: int | None
    estimate: Estimate | None
    reasons: list[str] = Field(default_factory=list)


def minimum_tensor_parallel(
    meta: ModelMetadata,
    backend: str,
    gpu_memory: Sequence[int],
    backend_parameters: Sequence[str] = (),
    extended_kv: ExtendedKv | None = None,
) -> ParallelChoice:
    """Try 1, 2, ... of the largest GPUs in `gpu_memory`; the first count that divides the model
    and fits wins. With --tensor-parallel-size given, only that count (times any pipeline size)
    is tried."""
    ordered = sorted(gpu_memory, reverse=True)
    params = BackendParameters(backend_parameters)
    tp = params.integer("--tensor-parallel-size", "-tp", "--tp-size", "--tp")
    pp = params.integer("--pipeline-parallel-size", "-pp", "--pp-size", "--pp") or 1
    counts = [tp * pp] if tp else list(range(1, len(ordered) + 1))
    reasons: list[str] = []
    for n in counts:
        if n > len(ordered):
            reasons.append(f"{n} GPUs wanted, {len(ordered)} available")
            continue
        problems = [] if backend in ESTIMATE_BACKENDS else divisibility_problems(meta, n // pp)
        if problems:
            reasons.append(f"{n} GPU(s): " + "; ".join(problems))
            continue
        result = estimate(meta, backend, ordered[:n], backend_parameters, extended_kv)
        if result.fits:
            return ParallelChoice(gpu_count=n, estimate=result, reasons=reasons)
        reasons.append(f"{n} GPU(s): " + "; ".join(result.reasons))
    return ParallelChoice(gpu_count=None, estimate=None, reasons=reasons)
