"""KV-cache size per token: multi-head / grouped-query attention, multi-head latent attention
(MLA) and sliding-window layers (no I/O).

Per layer and token a standard layer stores a key and a value for each KV head:
`2 x kv_heads x head_dim x bytes`. An MLA layer stores one compressed latent plus the rotary
part of the key: `(kv_lora_rank + qk_rope_head_dim) x bytes`. A sliding-window layer stores at
most `window` tokens, however long the context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpustack_tui.domain.model import DTYPE_BYTES, Category, ModelMetadata

# Encoder-only models keep no KV cache: nothing is generated token by token.
ENCODER_ONLY_TYPES = frozenset(
    {"bert", "roberta", "xlm-roberta", "nomic_bert", "new", "modernbert", "gte", "clip", "siglip"}
)
KV_CACHE_DTYPES = {"fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1, "fp8_inc": 1, "int8": 1}


@dataclass(frozen=True)
class KvShape:
    """How a model's KV cache grows with the context, per tensor-parallel rank."""

    bytes_per_layer_token: float
    full_layers: int
    window_layers: int
    window: int | None

    @property
    def bytes_per_token(self) -> int:
        """Bytes per token while the context is within the sliding window (all layers)."""
        return int(self.bytes_per_layer_token * (self.full_layers + self.window_layers))

    @property
    def bytes_per_token_beyond_window(self) -> int:
        """Bytes each further token adds once the context is longer than the window."""
        return int(self.bytes_per_layer_token * self.full_layers)

    def bytes_for(self, tokens: int) -> int:
        """KV bytes for a context of `tokens`."""
        window = min(tokens, self.window) if self.window else tokens
        per = self.bytes_per_layer_token
        return math.ceil(per * (self.full_layers * tokens + self.window_layers * window))

    def tokens_for(self, budget: float) -> int | None:
        """The most tokens whose KV fits in `budget` bytes; None when unlimited (no layer
        grows with the context, e.g. every layer is sliding-window and the window fits)."""
        if budget <= 0:
            return 0
        per_token = self.bytes_per_token
        if per_token <= 0:
            return None
        within = int(budget // per_token)
        if not self.window or within < self.window:
            return within
        if self.full_layers == 0:
            return None
        rest = budget - self.bytes_for(self.window)
        return self.window + int(rest // self.bytes_per_token_beyond_window)


def kv_dtype_bytes(meta: ModelMetadata, kv_cache_dtype: str | None = None) -> float:
    """Bytes per KV element: 1 for an fp8/int8 cache, else the model's activation dtype
    (bf16 for fp8-weight models)."""
    if kv_cache_dtype and kv_cache_dtype.lower() in KV_CACHE_DTYPES:
        return KV_CACHE_DTYPES[kv_cache_dtype.lower()]
    size = DTYPE_BYTES.get(meta.torch_dtype or "BF16", 2)
    return 2 if size < 2 else size


def has_kv_cache(meta: ModelMetadata) -> bool:
    """Whether the model keeps a KV cache at all (decoders do; encoders and images do not)."""
    if meta.category is Category.IMAGE or not meta.num_layers:
        return False
    return (meta.model_type or "") not in ENCODER_ONLY_TYPES


def kv_shape(
    meta: ModelMetadata, tensor_parallel: int = 1, kv_cache_dtype: str | None = None
) -> KvShape:
    """The KV cache of one rank when the model is split over `tensor_parallel` GPUs.

    GQA heads are divided among ranks; with more ranks than KV heads each rank keeps one head.
    The MLA latent is not split: every rank keeps all of it.
    """
    if not has_kv_cache(meta):
        return KvShape(0, 0, 0, None)
    size = kv_dtype_bytes(meta, kv_cache_dtype)
    layers = meta.num_layers or 0
    if meta.is_mla:
        per_layer = ((meta.kv_lora_rank or 0) + (meta.qk_rope_head_dim or 0)) * size
    else:
        kv_heads = meta.num_kv_heads or meta.num_attention_heads or 0
        per_rank_heads = max(kv_heads / max(tensor_parallel, 1), 1) if kv_heads else 0
        per_layer = 2 * per_rank_heads * (meta.head_dim or 0) * size
    window_layers = min(meta.sliding_window_layers, layers) if meta.sliding_window else 0
    return KvShape(
        bytes_per_layer_token=per_layer,
        full_layers=layers - window_layers,
        window_layers=window_layers,
        window=meta.sliding_window if window_layers else None,
    )
