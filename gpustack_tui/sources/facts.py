"""Raw facts (file lists, config.json, safetensors header summaries, GGUF fields) ->
`ModelMetadata`. The one place every source's facts become metadata; no I/O."""

from __future__ import annotations

import posixpath
from typing import Any

from gpustack_tui.domain.model import DTYPE_BYTES, ModelFile, ModelMetadata
from gpustack_tui.sources.categories import detect_category
from gpustack_tui.sources.config import fields_from_config
from gpustack_tui.sources.weights import diffusers_folders, weight_files

GGUF_FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    24: "IQ1_S",
    25: "IQ4_NL",
    30: "IQ4_XS",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}


def build_metadata(
    source: str,
    model_id: str,
    files: list[ModelFile],
    config: dict[str, Any] | None,
    model_index: dict[str, Any] | None = None,
    revision: str | None = None,
    parameters_by_dtype: dict[str, int] | None = None,
    safetensors: dict[str, dict[str, Any]] | None = None,
    pipeline_tag: str | None = None,
) -> ModelMetadata:
    """Metadata from a repository's facts. `safetensors` maps file path -> header summary
    ({parameters, bytes}); when given, parameters are summed over the chosen weight files only.
    `parameters_by_dtype` (a hub's own count) is used when there are no header summaries."""
    notes: list[str] = []
    is_diffusers = bool(model_index and "_diffusers_version" in model_index)
    folders = diffusers_folders(model_index) if is_diffusers and model_index else None
    fmt, chosen = weight_files(files, folders)
    fields = fields_from_config(config) if config else {}
    parameters: dict[str, int] = {}
    if safetensors and fmt == "safetensors":
        for f in chosen:
            for dtype, count in (safetensors.get(f.path) or {}).get("parameters", {}).items():
                parameters[dtype] = parameters.get(dtype, 0) + int(count)
    elif parameters_by_dtype:
        parameters = dict(parameters_by_dtype)
    weight_total = sum(f.size for f in chosen)
    if not parameters and weight_total:
        dtype = fields.get("torch_dtype") or "BF16"
        parameters = {dtype: int(weight_total / DTYPE_BYTES[dtype])}
        notes.append(f"parameter count estimated from {fmt} file sizes as {dtype}")
    if config is None and not is_diffusers:
        notes.append("no config.json: attention shape unknown, KV cache not estimated")
    if not chosen:
        notes.append("no weight files found")
    architectures = fields.get("architectures") or []
    category = detect_category(architectures, is_diffusers, pipeline_tag)
    return ModelMetadata(
        source=source,
        model_id=model_id,
        revision=revision,
        parameters_by_dtype=parameters,
        weight_bytes=weight_total,
        weight_format=fmt,
        category=category,
        detected_category=category,
        files=files,
        notes=notes,
        **fields,
    )


def metadata_from_directory_facts(
    facts: dict[str, Any], source: str = "local", model_id: str | None = None
) -> ModelMetadata:
    """Metadata from the agent's `model_metadata` answer for a folder."""
    files = [ModelFile(path=f["path"], size=int(f["size"])) for f in facts.get("files", [])]
    json_files = facts.get("json") or {}
    config = json_files.get("config.json")
    model_index = json_files.get("model_index.json")
    meta = build_metadata(
        source,
        model_id or str(facts.get("path", "")),
        files,
        config,
        model_index,
        safetensors=facts.get("safetensors") or {},
    )
    if model_index and "_diffusers_version" in model_index and config is None:
        sub = [v for k, v in json_files.items() if posixpath.basename(k) == "config.json"]
        meta.notes.append(f"diffusers pipeline with {len(sub)} component configs")
    meta.notes.extend(facts.get("problems") or [])
    return meta


def _gguf_int(meta: dict[str, Any], key: str) -> int | None:
    value = meta.get(key)
    if isinstance(value, list) and value:
        value = max((v for v in value if isinstance(v, int)), default=None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def metadata_from_gguf_facts(
    facts: dict[str, Any], source: str = "local", model_id: str | None = None
) -> ModelMetadata:
    """Metadata from GGUF facts: key fields under `<architecture>.`, tensors by ggml type."""
    meta: dict[str, Any] = facts.get("metadata") or {}
    arch = str(meta.get("general.architecture") or "")
    p = f"{arch}."
    heads = _gguf_int(meta, p + "attention.head_count")
    embedding = _gguf_int(meta, p + "embedding_length")
    key_length = _gguf_int(meta, p + "attention.key_length")
    vocab = _gguf_int(meta, p + "vocab_size")
    tokens = meta.get("tokenizer.ggml.tokens")
    if vocab is None and isinstance(tokens, dict):
        vocab = tokens.get("array_length")
    elif vocab is None and isinstance(tokens, list):
        vocab = len(tokens)
    pooling = _gguf_int(meta, p + "pooling_type")
    general_type = str(meta.get("general.type") or "")
    file_type = meta.get("general.file_type")
    window = _gguf_int(meta, p + "attention.sliding_window")
    layers = _gguf_int(meta, p + "block_count")
    mla = _gguf_int(meta, p + "attention.kv_lora_rank") is not None
    category = detect_category(
        [],
        gguf_pooling=bool(pooling) and pooling != 4,
        gguf_reranking=pooling == 4 or "rerank" in general_type,
    )
    files = [ModelFile(path=f["path"], size=int(f["size"])) for f in facts.get("files", [])]
    return ModelMetadata(
        source=source,
        model_id=model_id or str(facts.get("path", "")),
        architecture=arch or None,
        architectures=[arch] if arch else [],
        model_type=arch or None,
        parameters_by_dtype=dict(facts.get("parameters") or {}),
        weight_bytes=int(facts.get("tensor_bytes") or sum(f.size for f in files)),
        weight_format="gguf",
        torch_dtype="F16",
        num_layers=layers,
        hidden_size=embedding,
        num_attention_heads=heads,
        num_kv_heads=_gguf_int(meta, p + "attention.head_count_kv") or heads,
        head_dim=key_length or (embedding // heads if embedding and heads else None),
        vocab_size=vocab,
        max_context=_gguf_int(meta, p + "context_length"),
        kv_lora_rank=_gguf_int(meta, p + "attention.kv_lora_rank"),
        qk_rope_head_dim=_gguf_int(meta, p + "rope.dimension_count") if mla else None,
        sliding_window=window,
        sliding_window_layers=(layers or 0) if window else 0,
        gguf_file_type=None
        if file_type is None
        else GGUF_FILE_TYPES.get(file_type, f"{file_type}"),
        category=category,
        detected_category=category,
        files=files,
        notes=list(facts.get("problems") or []),
    )


def metadata_from_facts(facts: dict[str, Any], source: str = "local") -> ModelMetadata:
    """Metadata from any `model_metadata` answer (folder or GGUF)."""
    if facts.get("kind") == "gguf":
        return metadata_from_gguf_facts(facts, source)
    return metadata_from_directory_facts(facts, source)
