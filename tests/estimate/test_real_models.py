"""Metadata and KV size of real models, each figure worked out by hand from the published
config.json and file listing."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.model import Category, ModelFile, ModelMetadata
from gpustack_tui.estimate.kv import kv_shape
from gpustack_tui.sources.facts import build_metadata
from tests.estimate import real_models as rm


def meta_of(config: dict | None, files: list[ModelFile], **kw: object) -> ModelMetadata:
    return build_metadata("huggingface", "test/model", files, config, **kw)  # type: ignore[arg-type]


# (name, config, files, model_index, weights, KV bytes per token, category, max context)
CASES = [
    # 1503300328: the one safetensors file.  KV: 2 (K,V) x 8 kv heads x 128 x 2 B x 28 layers.
    ("Qwen3-0.6B", rm.QWEN3_0_6B, rm.QWEN3_0_6B_FILES, None, 1503300328, 114688, "llm", 40960),
    # 3996250744 + 3993160448 + 3959062608 + 3187839088 + 1244659840 = 16380972728.
    # KV: 2 x 8 x 128 x 2 x 36 = 147456.
    ("Qwen3-8B", rm.QWEN3_8B, rm.QWEN3_8B_FILES, None, 16380972728, 147456, "llm", 40960),
    # Root shards only: 4976698672 + 4999802720 + 4915916176 + 1168138808 = 16060556376
    # (original/consolidated.00.pth is the same weights again). KV: 2 x 8 x 128 x 2 x 32.
    # rope_type llama3 is already counted in max_position_embeddings.
    (
        "Llama-3.1-8B",
        rm.LLAMA_31_8B,
        rm.LLAMA_31_8B_FILES,
        None,
        16060556376,
        131072,
        "llm",
        131072,
    ),
    # KV: head dim 8192 / 64 = 128; 2 x 8 x 128 x 2 x 80 = 327680.
    (
        "Llama-3.1-70B",
        rm.LLAMA_31_70B,
        rm.LLAMA_31_70B_FILES,
        None,
        141107412992,
        327680,
        "llm",
        131072,
    ),
    # MLA: one latent of kv_lora_rank 512 + rope 64 per layer, in bf16: 576 x 2 x 61 = 70272
    # (standard attention would be 2 x 128 x 192 x 2 x 61 = 5996544). yarn: 4096 x 40 = 163840.
    ("DeepSeek-V3", rm.DEEPSEEK_V3, rm.DEEPSEEK_V3_FILES, None, 688586727753, 70272, "llm", 163840),
    # safetensors only: 9942981696 + 4540516344 = 14483498040 (the .bin copy not added).
    # KV within the 4096 window: 2 x 8 x 128 x 2 x 32 = 131072.
    (
        "Mistral-7B-v0.1",
        rm.MISTRAL_7B_V01,
        rm.MISTRAL_7B_V01_FILES,
        None,
        14483498040,
        131072,
        "llm",
        32768,
    ),
    # model.safetensors 2271064456 only: pytorch_model.bin is the same tensors; the .pt heads
    # lose to safetensors. Encoder-only: no KV cache.
    ("bge-m3", rm.BGE_M3, rm.BGE_M3_FILES, None, 2271064456, 0, "embedding", 8194),
    # model.safetensors; the fp32 variant shards are not added. KV of the decoder:
    # head dim 1280 / 20 = 64; 2 x 20 x 64 x 2 x 32 = 163840. Context: max_target_positions.
    (
        "whisper-large-v3",
        rm.WHISPER_LARGE_V3,
        rm.WHISPER_LARGE_V3_FILES,
        None,
        3087130976,
        163840,
        "speech-to-text",
        448,
    ),
    # Components listed in model_index.json: transformer 9983147712 + 9949832408 + 3870554640,
    # text_encoder 246144352, text_encoder_2 4994582224 + 4530066360, vae 167666902
    # = 33741994598. The root single-file flux1-dev.safetensors and ae.safetensors are not added.
    ("FLUX.1-dev", None, rm.FLUX_FILES, rm.FLUX_MODEL_INDEX, 33741994598, 0, "image", None),
]


@pytest.mark.parametrize(
    ("config", "files", "index", "weights", "kv", "category", "context"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_real_model(
    config: dict | None,
    files: list[ModelFile],
    index: dict | None,
    weights: int,
    kv: int,
    category: str,
    context: int | None,
) -> None:
    meta = meta_of(config, files, model_index=index)
    assert meta.weight_bytes == weights
    assert kv_shape(meta).bytes_per_token == kv
    assert meta.category is Category(category)
    if context is not None:
        assert meta.max_context == context


def test_mistral_v03_consolidated_file_is_not_added() -> None:
    # 4949453792 + 5000001072 + 4546807800 = 14496262664; consolidated.safetensors (14496078512)
    # holds the same weights in Mistral's own layout.
    meta = meta_of(rm.MISTRAL_7B_V01, rm.MISTRAL_7B_V03_FILES)
    assert meta.weight_bytes == 14496262664
    assert meta.weight_format == "safetensors"


def test_parameters_estimated_from_bin_when_no_safetensors() -> None:
    meta = meta_of(rm.BGE_M3, rm.files(("pytorch_model.bin", 2271145830)))
    # float32 -> 4 bytes a parameter: 2271145830 // 4.
    assert meta.parameters_by_dtype == {"F32": 567786457}
    assert any("estimated" in note for note in meta.notes)


def test_hub_parameter_counts_are_kept() -> None:
    meta = meta_of(rm.QWEN3_0_6B, rm.QWEN3_0_6B_FILES, parameters_by_dtype={"BF16": 751632384})
    assert meta.parameter_count == 751632384


def test_mla_and_sliding_window_attributes() -> None:
    deepseek = meta_of(rm.DEEPSEEK_V3, rm.DEEPSEEK_V3_FILES)
    assert (deepseek.kv_lora_rank, deepseek.qk_rope_head_dim, deepseek.qk_nope_head_dim) == (
        512,
        64,
        128,
    )
    assert deepseek.is_mla
    mistral = meta_of(rm.MISTRAL_7B_V01, rm.MISTRAL_7B_V01_FILES)
    assert (mistral.sliding_window, mistral.sliding_window_layers) == (4096, 32)
    qwen = meta_of(rm.QWEN3_8B, rm.QWEN3_8B_FILES)
    assert qwen.sliding_window is None  # use_sliding_window: false


def test_sliding_window_kv_stops_growing_past_the_window() -> None:
    shape = kv_shape(meta_of(rm.MISTRAL_7B_V01, rm.MISTRAL_7B_V01_FILES))
    assert shape.bytes_for(4096) == 4096 * 131072
    assert shape.bytes_for(32768) == 4096 * 131072
    assert shape.tokens_for(4096 * 131072) is None  # the whole window fits: no limit
    assert shape.tokens_for(1000 * 131072) == 1000


def test_gemma2_style_half_sliding_layers() -> None:
    config = {**rm.MISTRAL_7B_V01, "model_type": "gemma2", "num_hidden_layers": 42}
    shape = kv_shape(meta_of(config, rm.MISTRAL_7B_V01_FILES))
    per_layer = 2 * 8 * 128 * 2
    assert (shape.full_layers, shape.window_layers) == (21, 21)
    # 10000 tokens: 21 full layers hold 10000, 21 sliding layers hold 4096.
    assert shape.bytes_for(10000) == per_layer * (21 * 10000 + 21 * 4096)
    assert shape.tokens_for(per_layer * (21 * 10000 + 21 * 4096)) == 10000


def test_category_override_and_reranker_detection() -> None:
    reranker = {**rm.BGE_M3, "architectures": ["XLMRobertaForSequenceClassification"]}
    meta = meta_of(reranker, rm.BGE_M3_FILES)
    assert meta.category is Category.RERANKER
    overridden = meta.with_category("embedding")
    assert overridden.category is Category.EMBEDDING and overridden.category_overridden
    assert overridden.with_category("auto").category is Category.RERANKER
    tts = {**rm.QWEN3_0_6B, "architectures": ["Qwen3TTSForConditionalGeneration"]}
    assert meta_of(tts, rm.QWEN3_0_6B_FILES).category is Category.TEXT_TO_SPEECH
    unknown = {**rm.QWEN3_0_6B, "architectures": ["SomethingNew"]}
    assert meta_of(unknown, rm.QWEN3_0_6B_FILES).category is Category.LLM
    with pytest.raises(ValueError):
        meta.with_category("spreadsheet")
