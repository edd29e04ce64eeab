"""Local paths: safetensors folders (headers only), sharded index files, GGUF files; the agent's
`model_metadata` over its real JSON-lines protocol; bad input; the metadata cache."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from gguf import GGUFReader, PoolingType

from agent.model_files import gguf_facts
from gpustack_tui.domain.model import Category
from gpustack_tui.sources.cache import BRANCH_TTL, MetadataCache
from gpustack_tui.sources.errors import SourceError
from gpustack_tui.sources.facts import metadata_from_facts
from gpustack_tui.sources.local import local_metadata
from gpustack_tui.sources.service import Sources
from tests.agent.conftest import AgentCallError, AgentProcess
from tests.fixtures.models import write_gguf, write_safetensors, write_sharded

LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 512,
    "num_hidden_layers": 8,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
    "torch_dtype": "bfloat16",
}


def test_folder_reads_headers_not_tensors(model_dir: Path) -> None:
    meta = local_metadata(str(model_dir))
    # 151936 x 1024 + 2048 x 1024 parameters in BF16, as the header lists them.
    assert meta.parameters_by_dtype == {"BF16": 151936 * 1024 + 2048 * 1024}
    assert meta.weight_bytes == (model_dir / "model.safetensors").stat().st_size
    assert (model_dir / "model.safetensors").stat().st_blocks * 512 < 1024 * 1024  # sparse
    assert (meta.num_layers, meta.num_kv_heads, meta.max_context) == (28, 8, 40960)
    assert meta.category is Category.LLM


def test_sharded_folder_with_index(tmp_path: Path) -> None:
    params = write_sharded(tmp_path / "m", LLAMA_CONFIG, shards=4, layers_per_shard=2, hidden=512)
    meta = local_metadata(str(tmp_path / "m"))
    assert meta.parameters_by_dtype == params == {"BF16": 4 * 2 * 4 * 512 * 512}
    index = json.loads((tmp_path / "m" / "model.safetensors.index.json").read_text())
    assert meta.weight_bytes == index["metadata"]["total_size"]


def test_bin_beside_safetensors_is_not_counted(model_dir: Path) -> None:
    with open(model_dir / "pytorch_model.bin", "wb") as handle:
        handle.truncate(5 * 1024**3)
    meta = local_metadata(str(model_dir))
    assert meta.weight_format == "safetensors"
    assert meta.weight_bytes == (model_dir / "model.safetensors").stat().st_size


def test_gguf_file_key_fields(tmp_path: Path) -> None:
    path = tmp_path / "llama.Q4_K_M.gguf"
    params = write_gguf(path, layers=32, heads=32, kv_heads=8, embedding=4096, vocab=5000)
    meta = local_metadata(str(path))
    assert meta.weight_format == "gguf" and meta.gguf_file_type == "Q4_K_M"
    assert (meta.architecture, meta.num_layers, meta.num_attention_heads) == ("llama", 32, 32)
    assert (meta.num_kv_heads, meta.hidden_size, meta.head_dim) == (8, 4096, 128)
    assert (meta.max_context, meta.vocab_size) == (131072, 5000)
    assert meta.parameters_by_dtype == params
    # Q4_K: 144 bytes per 256 weights.
    assert meta.weight_bytes == params["Q4_K"] // 256 * 144


def test_our_gguf_reader_agrees_with_the_gguf_package(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    write_gguf(path, vocab=300, pooling=PoolingType.MEAN)
    ours = gguf_facts(str(path))
    reader = GGUFReader(str(path))
    for key in ("general.architecture", "llama.block_count", "llama.context_length"):
        assert ours["metadata"][key] == reader.fields[key].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    assert (
        ours["metadata"]["tokenizer.ggml.tokens"]
        == {"array_length": len(tokens)}
        == {"array_length": 300}
    )
    assert ours["tensor_bytes"] == sum(int(t.n_bytes) for t in reader.tensors)
    counts: dict[str, int] = {}
    for tensor in reader.tensors:
        name = tensor.tensor_type.name
        counts[name] = counts.get(name, 0) + int(tensor.n_elements)
    assert ours["parameters"] == counts
    assert metadata_from_facts(ours).category is Category.EMBEDDING  # pooling -> embedding


def test_missing_and_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found on this machine") as missing:
        local_metadata(str(tmp_path / "nothing"))
    assert missing.value.code == "not_found"
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SourceError, match="neither a model folder nor a readable GGUF file"):
        local_metadata(str(text))
    truncated = tmp_path / "cut.gguf"
    write_gguf(truncated, vocab=50)
    os.truncate(truncated, 100)
    with pytest.raises(SourceError, match="readable GGUF"):
        local_metadata(str(truncated))


def test_odd_paths_and_configs_never_crash(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="neither a folder nor a regular file"):
        local_metadata(str(fifo))
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = {
        "architectures": "LlamaForCausalLM",
        "num_hidden_layers": "32",
        "num_attention_heads": True,
        "rope_scaling": {"type": "yarn", "factor": "big"},
        "text_config": [1, 2],
        "sliding_window": -1,
        "max_position_embeddings": None,
    }
    (folder / "config.json").write_text(json.dumps(odd))
    meta = local_metadata(str(folder))
    assert meta.architectures == [] and meta.num_layers is None
    assert meta.max_context == 2048 and meta.sliding_window is None
    assert "no weight files found" in meta.notes
    (folder / "config.json").write_text("[1, 2, 3]")
    assert local_metadata(str(folder)).num_layers is None


def test_broken_files_in_a_folder_are_reported_not_fatal(model_dir: Path) -> None:
    (model_dir / "extra.safetensors").write_bytes(b"\xff" * 4)
    (model_dir / "model_index.json").write_text("{not json")
    meta = local_metadata(str(model_dir))
    assert meta.num_layers == 28
    assert any("extra.safetensors" in note for note in meta.notes)
    assert any("model_index.json" in note for note in meta.notes)
    huge = model_dir / "huge.safetensors"
    write_safetensors(huge, {"x": ("BF16", [2, 2])})
    with open(huge, "r+b") as handle:
        handle.write((2**60).to_bytes(8, "little"))
    assert any("implausible" in note for note in local_metadata(str(model_dir)).notes)


def test_agent_answers_model_metadata(tmp_path: Path, model_dir: Path) -> None:
    gguf_path = tmp_path / "m.gguf"
    write_gguf(gguf_path, vocab=100)
    agent = AgentProcess(tmp_path / "agent-home")
    try:
        facts = agent.call("model_metadata", path=str(model_dir))
        via_agent = metadata_from_facts(facts)
        direct = local_metadata(str(model_dir))
        assert via_agent.model_dump(exclude={"model_id"}) == direct.model_dump(exclude={"model_id"})
        assert facts["kind"] == "directory" and "config.json" in facts["json"]
        gguf_answer = agent.call("model_metadata", path=str(gguf_path))
        assert metadata_from_facts(gguf_answer).num_layers == 32
        with pytest.raises(AgentCallError) as missing:
            agent.call("model_metadata", path=str(tmp_path / "absent"))
        assert missing.value.code == "not_found"
        (tmp_path / "plain.txt").write_text("x")
        with pytest.raises(AgentCallError) as bad:
            agent.call("model_metadata", path=str(tmp_path / "plain.txt"))
        assert bad.value.code == "bad_request"
        with pytest.raises(AgentCallError) as no_path:
            agent.call("model_metadata")
        assert no_path.value.code == "bad_request"
    finally:
        agent.close()


def test_cache_memory_disk_and_expiry(tmp_path: Path, model_dir: Path) -> None:
    meta = local_metadata(str(model_dir))
    cache = MetadataCache(tmp_path / "cache", memory_items=2)
    key = cache.key("huggingface", "Qwen/Qwen3-0.6B", None)
    cache.put(key, meta)
    assert cache.get(key, BRANCH_TTL) == meta
    fresh = MetadataCache(tmp_path / "cache")  # another process: from disk
    assert fresh.get(key, BRANCH_TTL) == meta
    assert fresh.get(key, 0.0) is None  # expired
    for i in range(3):
        cache.put(f"k{i}", meta)
    assert key not in cache._memory  # least recently used went first
    (tmp_path / "cache").chmod(0o500)
    try:
        cache.put("unwritable", meta)  # a read-only cache folder never fails a lookup
    finally:
        (tmp_path / "cache").chmod(0o700)
    corrupt = next((tmp_path / "cache").glob("*.json"))
    corrupt.write_text("{")
    assert MetadataCache(tmp_path / "cache").get(key, BRANCH_TTL) in (None, meta)


def test_sources_reread_a_changed_folder(tmp_path: Path, model_dir: Path) -> None:
    sources = Sources(tmp_path / "cache")
    first = sources.metadata("local", str(model_dir))
    assert sources.metadata("local", str(model_dir), category="embedding").category is (
        Category.EMBEDDING
    )
    config = json.loads((model_dir / "config.json").read_text())
    config["num_hidden_layers"] = 30
    (model_dir / "config.json").write_text(json.dumps(config))
    later = time.time() + 5
    os.utime(model_dir / "config.json", (later, later))
    assert first.num_layers == 28
    assert sources.metadata("local", str(model_dir)).num_layers == 30
