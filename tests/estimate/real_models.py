"""Real model configurations (config.json / model_index.json as published) and their file
listings, with sizes as the hubs list them (a few rounded where noted)."""

from __future__ import annotations

from gpustack_tui.domain.model import ModelFile

QWEN3_0_6B = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 1024,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "max_position_embeddings": 40960,
    "rope_scaling": None,
    "sliding_window": None,
    "use_sliding_window": False,
    "max_window_layers": 28,
    "torch_dtype": "bfloat16",
}
QWEN3_8B = {
    **QWEN3_0_6B,
    "hidden_size": 4096,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "max_window_layers": 36,
}
LLAMA_31_8B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "rope_scaling": {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "torch_dtype": "bfloat16",
}
LLAMA_31_70B = {
    **LLAMA_31_8B,
    "hidden_size": 8192,
    "num_hidden_layers": 80,
    "num_attention_heads": 64,
}
DEEPSEEK_V3 = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "model_type": "deepseek_v3",
    "hidden_size": 7168,
    "num_hidden_layers": 61,
    "num_attention_heads": 128,
    "num_key_value_heads": 128,
    "kv_lora_rank": 512,
    "q_lora_rank": 1536,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
    "vocab_size": 129280,
    "max_position_embeddings": 163840,
    "rope_scaling": {
        "beta_fast": 32,
        "beta_slow": 1,
        "factor": 40,
        "mscale": 1.0,
        "mscale_all_dim": 1.0,
        "original_max_position_embeddings": 4096,
        "type": "yarn",
    },
    "torch_dtype": "bfloat16",
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8"},
}
MISTRAL_7B_V01 = {
    "architectures": ["MistralForCausalLM"],
    "model_type": "mistral",
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "sliding_window": 4096,
    "vocab_size": 32000,
    "max_position_embeddings": 32768,
    "torch_dtype": "bfloat16",
}
BGE_M3 = {
    "architectures": ["XLMRobertaModel"],
    "model_type": "xlm-roberta",
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "vocab_size": 250002,
    "max_position_embeddings": 8194,
    "torch_dtype": "float32",
}
WHISPER_LARGE_V3 = {
    "architectures": ["WhisperForConditionalGeneration"],
    "model_type": "whisper",
    "d_model": 1280,
    "encoder_layers": 32,
    "decoder_layers": 32,
    "encoder_attention_heads": 20,
    "decoder_attention_heads": 20,
    "num_hidden_layers": 32,
    "vocab_size": 51866,
    "max_source_positions": 1500,
    "max_target_positions": 448,
    "max_length": 448,
    "torch_dtype": "float16",
}
FLUX_MODEL_INDEX = {
    "_class_name": "FluxPipeline",
    "_diffusers_version": "0.30.0.dev0",
    "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "text_encoder_2": ["transformers", "T5EncoderModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "tokenizer_2": ["transformers", "T5TokenizerFast"],
    "transformer": ["diffusers", "FluxTransformer2DModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}


def files(*pairs: tuple[str, int]) -> list[ModelFile]:
    """ModelFile entries from (path, size) pairs, plus the small files every repo has."""
    small = [("README.md", 9000), ("config.json", 700), ("generation_config.json", 200)]
    return [ModelFile(path=p, size=s) for p, s in [*small, *pairs]]


QWEN3_0_6B_FILES = files(("model.safetensors", 1503300328))
QWEN3_8B_FILES = files(
    ("model-00001-of-00005.safetensors", 3996250744),
    ("model-00002-of-00005.safetensors", 3993160448),
    ("model-00003-of-00005.safetensors", 3959062608),
    ("model-00004-of-00005.safetensors", 3187839088),
    ("model-00005-of-00005.safetensors", 1244659840),
    ("model.safetensors.index.json", 32878),
)
LLAMA_31_8B_FILES = files(
    ("model-00001-of-00004.safetensors", 4976698672),
    ("model-00002-of-00004.safetensors", 4999802720),
    ("model-00003-of-00004.safetensors", 4915916176),
    ("model-00004-of-00004.safetensors", 1168138808),
    ("original/consolidated.00.pth", 16060617592),
    ("original/params.json", 199),
)
# 30 shards; sizes rounded to a whole sum of 141107412992 bytes (70.55B BF16 parameters).
LLAMA_31_70B_FILES = files(
    *[(f"model-{i:05d}-of-00030.safetensors", 4700000000) for i in range(1, 30)],
    ("model-00030-of-00030.safetensors", 141107412992 - 29 * 4700000000),
)
# 163 shards of FP8 weights; sizes rounded to a sum of 688586727753 bytes.
DEEPSEEK_V3_FILES = files(
    *[(f"model-{i:05d}-of-000163.safetensors", 4250000000) for i in range(1, 163)],
    ("model-00163-of-000163.safetensors", 688586727753 - 162 * 4250000000),
)
MISTRAL_7B_V01_FILES = files(
    ("model-00001-of-00002.safetensors", 9942981696),
    ("model-00002-of-00002.safetensors", 4540516344),
    ("pytorch_model-00001-of-00002.bin", 9943028044),
    ("pytorch_model-00002-of-00002.bin", 5064823659),
)
MISTRAL_7B_V03_FILES = files(
    ("consolidated.safetensors", 14496078512),
    ("model-00001-of-00003.safetensors", 4949453792),
    ("model-00002-of-00003.safetensors", 5000001072),
    ("model-00003-of-00003.safetensors", 4546807800),
)
BGE_M3_FILES = files(
    ("pytorch_model.bin", 2271145830),
    ("model.safetensors", 2271064456),
    ("colbert_linear.pt", 2100799),
    ("sparse_linear.pt", 3516),
    ("onnx/model.onnx_data", 2266820608),
)
WHISPER_LARGE_V3_FILES = files(
    ("model.safetensors", 3087130976), ("model.fp32-00001-of-00002.safetensors", 4993448880)
)
FLUX_FILES = [
    ModelFile(path="model_index.json", size=536),
    ModelFile(path="flux1-dev.safetensors", size=23802932552),
    ModelFile(path="ae.safetensors", size=335304388),
    ModelFile(path="transformer/config.json", size=378),
    ModelFile(
        path="transformer/diffusion_pytorch_model-00001-of-00003.safetensors", size=9983147712
    ),
    ModelFile(
        path="transformer/diffusion_pytorch_model-00002-of-00003.safetensors", size=9949832408
    ),
    ModelFile(
        path="transformer/diffusion_pytorch_model-00003-of-00003.safetensors", size=3870554640
    ),
    ModelFile(path="text_encoder/config.json", size=613),
    ModelFile(path="text_encoder/model.safetensors", size=246144352),
    ModelFile(path="text_encoder_2/model-00001-of-00002.safetensors", size=4994582224),
    ModelFile(path="text_encoder_2/model-00002-of-00002.safetensors", size=4530066360),
    ModelFile(path="tokenizer/vocab.json", size=1059962),
    ModelFile(path="vae/diffusion_pytorch_model.safetensors", size=167666902),
]
