"""Fixtures of the source tests: the loopback hub, with the environment pointed at it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sources.hub_server import HubRepo, HubServer
from tests.sources.make_models import write_safetensors

# modelscope_hub reads its retry count once, at import: one try keeps the network-failure tests
# from waiting through its backoff (about 30 s).
os.environ.setdefault("MODELSCOPE_API_MAX_RETRIES", "1")

QWEN3_06B_CONFIG = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 1024,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "max_position_embeddings": 40960,
    "torch_dtype": "bfloat16",
    "sliding_window": None,
    "use_sliding_window": False,
    "tie_word_embeddings": True,
}


def publish_defaults(server: HubServer) -> None:
    """The repositories every hub test sees."""
    state = server.state
    state.add(
        HubRepo(
            "Qwen/Qwen3-0.6B",
            files={"config.json": json.dumps(QWEN3_06B_CONFIG).encode(), "README.md": b"# Qwen3"},
            sizes={"model.safetensors": 1503300328},
            downloads=4_200_000,
            likes=700,
            safetensors={"BF16": 751632384},
        )
    )
    state.add(
        HubRepo(
            "Qwen/Qwen3-8B",
            files={"config.json": b"{}"},
            sizes={"model-00001-of-00002.safetensors": 8000000000},
            downloads=2_000_000,
            likes=900,
        )
    )
    state.add(HubRepo("someone/qwen3-finetune", files={"config.json": b"{}"}, downloads=12))
    state.add(
        HubRepo(
            "meta-llama/Llama-3.1-8B",
            files={"config.json": b"{}"},
            sizes={"model.safetensors": 100},
            gated=True,
            downloads=900_000,
        )
    )
    state.add(HubRepo("acme/secret-model", files={"config.json": b"{}"}, private=True))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """A loopback hub with the default repositories; HF_ENDPOINT and MODELSCOPE_ENDPOINT point
    at it, caches live in the test's folder, and no token is set."""
    server = HubServer().start()
    publish_defaults(server)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", server.url)
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms"))
    monkeypatch.setenv("MODELSCOPE_HOME", str(tmp_path / "ms-home"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "MODELSCOPE_API_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.stop()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A Qwen3-0.6B-shaped folder: config.json and a sparse model.safetensors."""
    folder = tmp_path / "qwen3-0.6b"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(QWEN3_06B_CONFIG))
    write_safetensors(
        folder / "model.safetensors",
        {
            "model.embed_tokens.weight": ("BF16", [151936, 1024]),
            "model.layers.0.self_attn.q_proj.weight": ("BF16", [2048, 1024]),
        },
    )
    return folder
