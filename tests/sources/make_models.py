"""Writers of test model files: safetensors folders (headers written with json + struct, tensor
data sparse) and GGUF files written with the `gguf` package (tensor data sparse)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, PoolingType
from gguf.constants import GGML_QUANT_SIZES

DTYPE_SIZE = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1, "I8": 1}


def write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int]]]) -> int:
    """A safetensors file whose header lists `tensors` (name -> (dtype, shape)); the data part
    is a hole of the right size. Returns the file's size."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        size = DTYPE_SIZE[dtype] * int(np.prod(shape))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)))
        handle.write(raw)
        handle.truncate(8 + len(raw) + offset)
    return 8 + len(raw) + offset


def write_sharded(
    folder: Path, config: dict, shards: int, layers_per_shard: int, hidden: int, dtype: str = "BF16"
) -> dict[str, int]:
    """A sharded safetensors folder with config.json and model.safetensors.index.json.
    Returns parameters by dtype."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    weight_map: dict[str, str] = {}
    params = 0
    total = 0
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        tensors = {}
        for layer in range(layers_per_shard):
            index = s * layers_per_shard + layer
            for part in ("q_proj", "k_proj", "v_proj", "o_proj"):
                tensors[f"model.layers.{index}.self_attn.{part}.weight"] = (dtype, [hidden, hidden])
        for tensor, (_dt, shape) in tensors.items():
            weight_map[tensor] = name
            params += int(np.prod(shape))
        total += write_safetensors(folder / name, tensors)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return {dtype: params}


def write_gguf(
    path: Path,
    arch: str = "llama",
    layers: int = 32,
    heads: int = 32,
    kv_heads: int = 8,
    embedding: int = 4096,
    context: int = 131072,
    vocab: int = 1000,
    tensor_bytes: int = 0,
    pooling: PoolingType | None = None,
    file_type: int = 15,
) -> dict[str, int]:
    """A GGUF file with a model's key fields, a token list of `vocab` entries and Q4_K tensors
    adding up to about `tensor_bytes` (data left as a hole). Returns parameters by type."""
    writer = GGUFWriter(str(path), arch)
    writer.add_block_count(layers)
    writer.add_context_length(context)
    writer.add_embedding_length(embedding)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_file_type(file_type)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([f"tok{i}" for i in range(vocab)])
    if pooling is not None:
        writer.add_pooling_type(pooling)
    block, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType.Q4_K]
    per_tensor = embedding * embedding // block * block_bytes
    count = max(1, tensor_bytes // per_tensor) if tensor_bytes else layers * 4
    for i in range(count):
        writer.add_tensor_info(
            f"blk.{i}.attn.weight",
            [embedding, embedding * block_bytes // block],
            np.dtype(np.uint8),
            per_tensor,
            raw_dtype=GGMLQuantizationType.Q4_K,
        )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    assert writer.fout is not None
    handle = writer.fout[0]
    handle.flush()
    end = handle.tell()
    end += -end % 32
    handle.truncate(end + count * per_tensor)
    handle.close()
    return {"Q4_K": count * embedding * embedding}


TINY_QWEN3_CONFIG = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 1024,
    "num_hidden_layers": 4,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 64,
    "vocab_size": 4096,
    "max_position_embeddings": 32768,
    "torch_dtype": "bfloat16",
}


def write_tiny_model(folder: Path) -> Path:
    """A small Qwen3-shaped model folder (config.json and one 8 MiB safetensors file, its data
    a hole), for tests that place and launch built-in backends."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(TINY_QWEN3_CONFIG))
    write_safetensors(
        folder / "model.safetensors", {"model.embed_tokens.weight": ("BF16", [4096, 1024])}
    )
    return folder
