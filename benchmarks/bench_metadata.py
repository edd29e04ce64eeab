"""Metadata of local models. Run: .venv/bin/python benchmarks/bench_metadata.py

Builds, in a temporary folder (sparse files: a few MB on disk):
1. a 100-shard safetensors folder (config.json, model.safetensors.index.json, 100 shards of
   Llama-70B-shaped layers: 80 tensors x 100 = 8,000 tensors in the headers);
2. a 40 GB GGUF file (Llama-3.1-8B key fields, a 128,256-token vocabulary, Q4_K tensors);
and prints the median and p95 of reading their metadata, cold (no cache) and through the
in-memory cache, plus the `gguf` package's reader on the same file for comparison.
Goal: under 100 ms each, cold.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpustack_tui.sources.local import local_metadata
from gpustack_tui.sources.service import Sources
from tests.fixtures.models import write_gguf, write_safetensors

ROUNDS = 20
CONFIG = (
    '{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192,'
    ' "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8,'
    ' "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "bfloat16"}'
)


def build_sharded(folder: Path, shards: int = 100) -> None:
    """A sharded folder whose headers look like a 70B model split into `shards` files."""
    import json

    folder.mkdir(parents=True)
    (folder / "config.json").write_text(CONFIG)
    weight_map = {}
    total = 0
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        tensors = {}
        for i in range(8):
            layer = s * 8 + i
            for part, shape in (
                ("self_attn.q_proj", [8192, 8192]),
                ("self_attn.k_proj", [1024, 8192]),
                ("self_attn.v_proj", [1024, 8192]),
                ("self_attn.o_proj", [8192, 8192]),
                ("mlp.gate_proj", [28672, 8192]),
                ("mlp.up_proj", [28672, 8192]),
                ("mlp.down_proj", [8192, 28672]),
                ("input_layernorm", [8192]),
                ("post_attention_layernorm", [8192]),
                ("self_attn.rotary", [64]),
            ):
                tensors[f"model.layers.{layer}.{part}.weight"] = ("BF16", shape)
        for tensor in tensors:
            weight_map[tensor] = name
        total += write_safetensors(folder / name, tensors)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))


def timed(call: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def report(name: str, figures: tuple[float, float], goal: float | None = 100.0) -> None:
    """One line: median, p95, and whether the goal is met."""
    median, p95 = figures
    verdict = "" if goal is None else ("  ok" if p95 < goal else f"  OVER {goal:.0f} ms")
    print(f"{name:<46} median {median:8.2f} ms   p95 {p95:8.2f} ms{verdict}")


def main() -> None:
    """Build the models, time the reads, print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_sharded(root / "sharded")
        gguf_path = root / "llama-3.1-8b.Q4_K_M.gguf"
        write_gguf(gguf_path, vocab=128256, tensor_bytes=40 * 10**9)
        size = gguf_path.stat().st_size
        meta = local_metadata(str(root / "sharded"))
        print(f"100-shard folder: {meta.parameter_count:,} parameters in 100 headers")
        print(f"GGUF file: {size / 1e9:.1f} GB apparent, 128,256-token vocabulary")
        report(
            "100-shard safetensors folder, cold",
            timed(lambda: local_metadata(str(root / "sharded"))),
        )
        report("40 GB GGUF file, cold", timed(lambda: local_metadata(str(gguf_path))))
        sources = Sources(None)
        sources.metadata("local", str(gguf_path))
        report(
            "40 GB GGUF file, cached (stat + lookup)",
            timed(lambda: sources.metadata("local", str(gguf_path))),
        )
        from gguf import GGUFReader

        report(
            "(for comparison) gguf.GGUFReader, same file",
            timed(lambda: GGUFReader(str(gguf_path)), 3),
            None,
        )


if __name__ == "__main__":
    main()
