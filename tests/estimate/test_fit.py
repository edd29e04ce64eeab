"""The estimate per backend: claims, KV budget, the context that fits, tensor parallelism."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.estimate.backends import sglang_mem_fraction
from gpustack_tui.estimate.fit import ExtendedKv, estimate
from gpustack_tui.estimate.parallel import divisibility_problems, minimum_tensor_parallel
from gpustack_tui.estimate.params import BackendParameters, parse_parameters
from gpustack_tui.estimate.spec import estimate_for_spec, minimum_for_spec
from gpustack_tui.sources.facts import build_metadata
from tests.estimate import real_models as rm

GIB = 1024**3
H100 = 85899345920  # 80 GiB
H200 = 151511121920
G24 = 26015170560  # RTX 4090 as NVML reports it
G16 = 17171480576  # RTX 4080
MIB = 1024**2


def meta(config: dict, files: list) -> ModelMetadata:
    return build_metadata("huggingface", "test/model", files, config)


QWEN3_8B = meta(rm.QWEN3_8B, rm.QWEN3_8B_FILES)
LLAMA_70B = meta(rm.LLAMA_31_70B, rm.LLAMA_31_70B_FILES)
DEEPSEEK = meta(rm.DEEPSEEK_V3, rm.DEEPSEEK_V3_FILES)
MISTRAL = meta(rm.MISTRAL_7B_V01, rm.MISTRAL_7B_V01_FILES)
BGE_M3 = meta(rm.BGE_M3, rm.BGE_M3_FILES)


def test_vllm_qwen3_8b_on_one_h100() -> None:
    est = estimate(QWEN3_8B, "vllm", [H100])
    claim = int(H100 * 0.9)  # 77309411328
    overhead = int(1.5 * GIB) + 8192 * 4096 * 24  # CUDA context + activations of 8192 tokens
    budget = claim - 16380972728 - overhead
    assert est.claim_per_gpu == [claim]
    assert est.overhead_per_gpu == overhead == 2415919104
    assert est.kv_budget_per_gpu == budget
    assert est.kv_cache_tokens == budget // 147456 == 396813
    assert est.largest_context == 40960  # the model's own limit
    assert est.fits and est.reasons == []


def test_vllm_gpu_memory_utilization_parameter() -> None:
    est = estimate(QWEN3_8B, "vllm", [H100], ["--gpu-memory-utilization=0.5"])
    assert est.claim_per_gpu == [int(H100 * 0.5)]
    assert est.claim_fraction == 0.5


def test_llama_70b_context_limits_on_two_gpus() -> None:
    est = estimate(LLAMA_70B, "vllm", [H100, H100])
    weights = -(-141107412992 // 2)
    overhead = int(1.5 * GIB) + 8192 * 8192 * 24
    budget = int(H100 * 0.9) - weights - overhead
    # 8 KV heads split over 2 ranks: 327680 / 2 bytes per token on each GPU.
    assert est.kv_bytes_per_token_per_gpu == 163840
    assert est.kv_cache_tokens == budget // 163840
    assert est.largest_context == budget // 163840 < 131072
    assert not est.fits
    assert any("--max-model-len=" in r for r in est.reasons)
    shorter = estimate(LLAMA_70B, "vllm", [H100, H100], ["--max-model-len", "16384"])
    assert shorter.fits and shorter.largest_context == 16384
    assert shorter.context_requested == 16384


def test_minimum_tensor_parallel_for_llama_70b() -> None:
    choice = minimum_tensor_parallel(LLAMA_70B, "vllm", [H100] * 8)
    assert choice.gpu_count == 4
    assert choice.estimate is not None and choice.estimate.largest_context == 131072
    assert "1 GPU(s)" in choice.reasons[0] and "exceed" in choice.reasons[0]
    # 3 GPUs are never tried as a split: 64 heads, 8 KV heads, vocab 128256 all refuse 3.
    assert any(r.startswith("3 GPU(s): 64 attention heads") for r in choice.reasons)
    shorter = minimum_tensor_parallel(LLAMA_70B, "vllm", [H100] * 8, ["--max-model-len=8k"])
    assert shorter.gpu_count == 2


def test_mla_latent_is_kept_whole_on_every_rank() -> None:
    est = estimate(DEEPSEEK, "vllm", [H200] * 8)
    assert est.kv_bytes_per_token == 70272
    assert est.kv_bytes_per_token_per_gpu == 70272  # not divided by 8
    assert est.weights_per_gpu == -(-688586727753 // 8)
    assert est.fits and est.largest_context == 163840


def test_sliding_window_model_fits_any_context_once_the_window_does() -> None:
    est = estimate(MISTRAL, "vllm", [G24])
    assert est.kv_cache_tokens is None
    assert est.largest_context == 32768 and est.fits


def test_kv_cache_dtype_fp8_halves_the_kv() -> None:
    est = estimate(QWEN3_8B, "vllm", [H100], ["--kv-cache-dtype", "fp8"])
    assert est.kv_bytes_per_token == 147456 // 2


@pytest.mark.parametrize(
    ("memory", "tp", "pp", "expected"),
    [
        (24810 * MIB, 1, 1, 0.848),  # RTX 4090
        (24564 * MIB, 1, 1, 0.847),  # RTX 4090 D
        (16376 * MIB, 1, 1, 0.772),  # RTX 4080
        (16376 * MIB, 2, 1, 0.765),
        (16376 * MIB, 1, 2, 0.765),
        (H100, 1, 1, 0.836),
        (H200, 1, 1, 0.907),
    ],
)
def test_sglang_mem_fraction_static_table(memory: int, tp: int, pp: int, expected: float) -> None:
    assert sglang_mem_fraction(memory, tp, pp) == expected


def test_sglang_claim_and_user_fraction() -> None:
    est = estimate(QWEN3_8B, "sglang", [H100])
    assert est.claim_fraction == 0.836
    assert est.claim_per_gpu == [int(H100 * 0.836)]
    assert est.overhead_per_gpu == 0  # activations live outside the static fraction
    given = estimate(QWEN3_8B, "sglang", [H100], ["--mem-fraction-static=0.7"])
    assert given.claim_per_gpu == [int(H100 * 0.7)]
    limited = estimate(QWEN3_8B, "sglang", [H100], ["--context-length=8192"])
    assert limited.largest_context == 8192


def test_custom_backend_claims_its_estimate() -> None:
    est = estimate(QWEN3_8B, "custom", [G24])
    # weights + 2 GiB runtime + KV for the default 8192-token context.
    expected = 16380972728 + 2 * GIB + 8192 * 147456
    assert est.claim_per_gpu == [expected]
    assert est.claim_fraction is None
    assert est.fits  # 19736415928 bytes on a 26015170560-byte GPU
    small = estimate(QWEN3_8B, "custom", [G16])
    assert not small.fits
    assert small.reasons == ["GPU 0: needs 18.38 GiB of its 15.99 GiB"]
    assert est.ram_bytes == max(int(0.1 * expected), 2 * GIB)
    two = estimate(QWEN3_8B, "custom", [G24, G24], ["--ctx-size", "4096"])
    per_gpu = -(-16380972728 // 2) + 2 * GIB + 4096 * 147456 // 2
    assert two.claim_per_gpu == [per_gpu, per_gpu]
    assert two.fits


def test_vllm_embedding_model_claims_its_estimate() -> None:
    est = estimate(BGE_M3, "vllm", [G24])
    assert est.claim_fraction is None
    assert est.claim_per_gpu == [2271064456 + est.overhead_per_gpu]
    assert est.kv_bytes_per_token == 0 and est.fits


def test_voxbox_tts_weights_times_three() -> None:
    tts = BGE_M3.with_category("text-to-speech")
    est = estimate(tts, "voxbox", [G24])
    assert est.claim_per_gpu == [int(2271064456 * 3.0) + 512 * MIB]


def test_mindie_claims_eighty_percent() -> None:
    est = estimate(QWEN3_8B, "mindie", [64 * GIB])
    assert est.claim_per_gpu == [int(64 * GIB * 0.8)] == [54975581388]
    assert est.context_requested == 8192
    # 3 GiB runtime + 200 x 128 x 147456 bytes of compute buffer (reference §12).
    assert est.overhead_per_gpu == 3 * GIB + 200 * 128 * 147456


def test_extended_kv_cache_adds_ram() -> None:
    ratio = estimate(QWEN3_8B, "vllm", [H100], extended_kv=ExtendedKv(enabled=True))
    assert ratio.ram_bytes == int(int(H100 * 0.9) * 1.2)
    fixed = estimate(QWEN3_8B, "vllm", [H100], extended_kv=ExtendedKv(enabled=True, max_ram_gib=8))
    assert fixed.ram_bytes == 8 * GIB
    assert estimate(QWEN3_8B, "vllm", [H100]).ram_bytes == 0


def test_divisibility_rules() -> None:
    model = QWEN3_8B.model_copy(update={"num_attention_heads": 28, "vocab_size": 152064})
    assert divisibility_problems(model, 3) == [
        "28 attention heads are not divisible by 3",
        "8 KV heads neither divide nor are divisible by 3",
    ]
    assert divisibility_problems(model, 4) == []
    odd_vocab = QWEN3_8B.model_copy(update={"vocab_size": 10001})
    assert "vocabulary of 10001 is not divisible by 2" in divisibility_problems(odd_vocab, 2)
    few_kv = QWEN3_8B.model_copy(update={"num_kv_heads": 2})
    assert divisibility_problems(few_kv, 8) == []  # KV heads replicated over ranks
    vision = QWEN3_8B.model_copy(update={"vision_heads": 6})
    assert "6 vision heads are not divisible by 4" in divisibility_problems(vision, 4)


def test_explicit_tensor_parallel_size() -> None:
    choice = minimum_tensor_parallel(LLAMA_70B, "vllm", [H100] * 8, ["--tensor-parallel-size=8"])
    assert choice.gpu_count == 8
    wrong = estimate(QWEN3_8B, "vllm", [H100, H100], ["-tp", "4"])
    assert "does not match 2 GPU(s)" in wrong.reasons[0]


def test_nothing_fits_says_why_for_each_count() -> None:
    choice = minimum_tensor_parallel(LLAMA_70B, "vllm", [G16, G16])
    assert choice.gpu_count is None and choice.estimate is None
    assert [r.split(":")[0] for r in choice.reasons] == ["1 GPU(s)", "2 GPU(s)"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["--max-model-len=4096"], {"--max-model-len": "4096"}),
        (["--max-model-len 4096"], {"--max-model-len": "4096"}),
        (
            ["--max-model-len", "4096", "--enforce-eager"],
            {"--max-model-len": "4096", "--enforce-eager": ""},
        ),
        (["--max_model_len=1"], {"--max-model-len": "1"}),
    ],
)
def test_parameter_forms(given: list[str], expected: dict[str, str]) -> None:
    assert parse_parameters(given) == expected


def test_bad_parameters_name_themselves() -> None:
    assert BackendParameters(["--max-model-len=32k"]).integer("--max-model-len") == 32768
    with pytest.raises(ValueError, match="--max-model-len must be a number, not 'lots'"):
        estimate(QWEN3_8B, "vllm", [H100], ["--max-model-len=lots"])
    with pytest.raises(ValueError, match="--gpu-memory-utilization must be above 0 and at most 1"):
        estimate(QWEN3_8B, "vllm", [H100], ["--gpu-memory-utilization=1.5"])
    with pytest.raises(ValueError, match="unknown backend 'tgi'"):
        estimate(QWEN3_8B, "tgi", [H100])
    with pytest.raises(ValueError, match="at least one GPU"):
        estimate(QWEN3_8B, "vllm", [])


def test_spec_settings_reach_the_estimate() -> None:
    spec = DeploymentSpec.model_validate(
        {
            "name": "llama",
            "source": {"huggingface": "meta-llama/Llama-3.1-70B"},
            "backend": "vllm",
            "performance": {"extended_kv_cache": {"enabled": True, "max_ram_gib": 16}},
            "advanced": {"backend_parameters": ["--max-model-len=8192"], "category": "llm"},
        }
    )
    est = estimate_for_spec(spec, LLAMA_70B, [H100, H100])
    assert est.fits and est.context_requested == 8192
    assert est.ram_bytes == 16 * GIB
    assert minimum_for_spec(spec, LLAMA_70B, [H100] * 4).gpu_count == 2
    embedding = spec.model_copy(
        update={"advanced": spec.advanced.model_copy(update={"category": "embedding"})}
    )
    assert estimate_for_spec(embedding, LLAMA_70B, [H100] * 2).claim_fraction is None
