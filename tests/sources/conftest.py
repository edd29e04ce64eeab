"""Fixtures of the source tests (the loopback hub is tests/fixtures/hub.py's `hub`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.hub import QWEN3_06B_CONFIG
from tests.fixtures.models import write_safetensors


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
