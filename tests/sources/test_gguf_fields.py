"""GGUF key fields read from the agent's facts: odd values are skipped, never fatal."""

from __future__ import annotations

from gpustack_tui.sources.facts import metadata_from_gguf_facts


def facts(**metadata: object) -> dict[str, object]:
    """A `model_metadata` answer for a GGUF file with `metadata` under `llama.`."""
    return {
        "kind": "gguf",
        "path": "/models/m.gguf",
        "metadata": {"general.architecture": "llama", **metadata},
        "files": [{"path": "m.gguf", "size": 1024}],
    }


def test_per_layer_arrays_give_their_largest_value() -> None:
    meta = metadata_from_gguf_facts(
        facts(**{"llama.attention.head_count": 32, "llama.attention.head_count_kv": [8, 0, 4]})
    )
    assert meta.num_kv_heads == 8


def test_an_array_without_integers_is_skipped_not_fatal() -> None:
    # max() of an empty selection raised ValueError and the whole model failed to read.
    meta = metadata_from_gguf_facts(
        facts(**{"llama.attention.head_count": 32, "llama.attention.head_count_kv": [0.5, "x"]})
    )
    assert meta.num_kv_heads == 32  # falls back to the attention heads
