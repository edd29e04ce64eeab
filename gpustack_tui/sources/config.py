"""config.json -> the attention shape and context fields of `ModelMetadata` (no I/O)."""

from __future__ import annotations

from typing import Any

from gpustack_tui.domain.model import TORCH_DTYPES

CONTEXT_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_target_positions",
    "max_sequence_length",
)
DEFAULT_CONTEXT = 2048


def _int(config: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a (possibly multimodal) config that describes the language model."""
    for key in ("llm_config", "text_config"):
        if isinstance(config.get(key), dict):
            return {**config[key]}
    thinker = config.get("thinker_config")
    if isinstance(thinker, dict) and isinstance(thinker.get("text_config"), dict):
        return {**thinker["text_config"]}
    return config


def max_context(config: dict[str, Any]) -> int:
    """The longest context the model was made for: the smallest of the length keys, scaled by
    rope_scaling (yarn from original_max_position_embeddings; llama3/su/longrope already
    counted in max_position_embeddings); 2048 when none is given."""
    lengths = [config[k] for k in CONTEXT_KEYS if isinstance(config.get(k), int) and config[k] > 0]
    length = min(lengths) if lengths else DEFAULT_CONTEXT
    scaling = config.get("rope_scaling")
    if isinstance(scaling, dict):
        kind = scaling.get("rope_type") or scaling.get("type")
        factor = scaling.get("factor")
        counted = kind in ("su", "longrope", "llama3")
        if isinstance(factor, int | float) and factor > 0 and not counted:
            original = scaling.get("original_max_position_embeddings")
            if kind == "yarn" and isinstance(original, int):
                length = int(original * factor)
            else:
                length = int(length * factor)
    return length


def sliding_layers(config: dict[str, Any], layers: int) -> tuple[int | None, int]:
    """(window, number of layers that use it), or (None, 0) without sliding-window attention."""
    window = config.get("sliding_window")
    if not isinstance(window, int) or window <= 0 or config.get("use_sliding_window") is False:
        return None, 0
    layer_types = config.get("layer_types")
    if isinstance(layer_types, list) and layer_types:
        return window, sum(1 for t in layer_types if t == "sliding_attention")
    pattern = config.get("sliding_window_pattern")
    if isinstance(pattern, int) and pattern > 1:
        return window, layers - layers // pattern
    model_type = config.get("model_type")
    if model_type == "gemma2":
        return window, layers // 2
    if model_type in ("qwen2", "qwen2_moe") and isinstance(config.get("max_window_layers"), int):
        return window, max(0, layers - config["max_window_layers"])
    return window, layers


def fields_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """The `ModelMetadata` fields that config.json gives."""
    listed = config.get("architectures")
    architectures = [a for a in listed if isinstance(a, str)] if isinstance(listed, list) else []
    text = text_config(config)
    layers = _int(text, "num_hidden_layers", "n_layer", "num_layers", "n_layers", "decoder_layers")
    heads = _int(
        text, "num_attention_heads", "n_head", "num_heads", "decoder_attention_heads", "n_heads"
    )
    kv_heads = _int(
        text, "num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"
    )
    hidden = _int(text, "hidden_size", "n_embd", "d_model", "dim")
    head_dim = _int(text, "head_dim")
    if head_dim is None and hidden and heads:
        head_dim = hidden // heads
    window, window_layers = sliding_layers(text, layers or 0)
    dtype = text.get("torch_dtype") or text.get("dtype") or config.get("torch_dtype")
    vision = config.get("vision_config")
    vision_heads = None
    if isinstance(vision, dict):
        vision_heads = _int(vision, "num_attention_heads", "num_heads")
    return {
        "architectures": architectures,
        "architecture": architectures[0] if architectures else None,
        "model_type": config.get("model_type"),
        "num_layers": layers,
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_kv_heads": kv_heads or heads,
        "head_dim": head_dim,
        "vocab_size": _int(text, "vocab_size", "padded_vocab_size") or _int(config, "vocab_size"),
        "max_context": max_context(text),
        "kv_lora_rank": _int(text, "kv_lora_rank"),
        "qk_rope_head_dim": _int(text, "qk_rope_head_dim"),
        "qk_nope_head_dim": _int(text, "qk_nope_head_dim"),
        "v_head_dim": _int(text, "v_head_dim"),
        "sliding_window": window,
        "sliding_window_layers": window_layers,
        "torch_dtype": TORCH_DTYPES.get(str(dtype), None) if dtype else None,
        "vision_heads": vision_heads,
    }
