"""What the estimate needs to know about a model, whatever its source: `ModelMetadata`.

Pure data. The sources (`gpustack_tui.sources`) fill it from a hub, a local directory, a GGUF
file or a worker's agent; the estimate (`gpustack_tui.estimate`) reads it.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

DTYPE_BYTES: dict[str, float] = {
    "F64": 8,
    "I64": 8,
    "U64": 8,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F4": 0.5,
    "F6_E2M3": 0.75,
    "F6_E3M2": 0.75,
}
# config.json's torch_dtype / dtype spelled as the safetensors dtype names above.
TORCH_DTYPES: dict[str, str] = {
    "float32": "F32",
    "float": "F32",
    "float16": "F16",
    "half": "F16",
    "bfloat16": "BF16",
    "float8_e4m3fn": "F8_E4M3",
    "int8": "I8",
}


class Category(str, Enum):
    """What kind of model it is; decides how the backends serve it and how it is estimated."""

    LLM = "llm"
    EMBEDDING = "embedding"
    RERANKER = "reranker"
    IMAGE = "image"
    SPEECH_TO_TEXT = "speech-to-text"
    TEXT_TO_SPEECH = "text-to-speech"


class ModelFile(BaseModel):
    """One file of a model repository or directory."""

    path: str
    size: int = 0


class ModelMetadata(BaseModel):
    """The facts about one model that resource estimation uses.

    Attention shape fields are None when the source does not say (e.g. a diffusers repo).
    `weight_bytes` counts each tensor once: a repository shipping the same weights as `.bin`
    and `.safetensors` counts only one format.
    """

    source: str = Field(description="huggingface, modelscope or local")
    model_id: str = Field(description="repository id or path")
    revision: str | None = None
    architecture: str | None = None
    architectures: list[str] = Field(default_factory=list)
    model_type: str | None = None
    parameters_by_dtype: dict[str, int] = Field(default_factory=dict)
    weight_bytes: int = 0
    weight_format: str | None = Field(None, description="safetensors, bin, pt, gguf or None")
    torch_dtype: str | None = None
    num_layers: int | None = None
    hidden_size: int | None = None
    num_attention_heads: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    vocab_size: int | None = None
    max_context: int | None = None
    # Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds a compressed latent.
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    qk_nope_head_dim: int | None = None
    v_head_dim: int | None = None
    # Sliding-window attention: `sliding_window_layers` of the layers see only the last
    # `sliding_window` tokens (all layers for Mistral-7B-v0.1, every other one for Gemma 2).
    sliding_window: int | None = None
    sliding_window_layers: int = 0
    vision_heads: int | None = None
    gguf_file_type: str | None = None
    category: Category = Category.LLM
    detected_category: Category = Category.LLM
    category_overridden: bool = False
    files: list[ModelFile] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def parameter_count(self) -> int:
        """Total parameters over all dtypes."""
        return sum(self.parameters_by_dtype.values())

    @property
    def is_mla(self) -> bool:
        """Whether attention is multi-head latent (its KV cache is one latent per layer)."""
        return bool(self.kv_lora_rank)

    def with_category(self, category: Category | str | None) -> ModelMetadata:
        """A copy whose category is `category` (the user's override); None or 'auto' keeps
        the detected one."""
        if category is None or category == "auto":
            return self.model_copy(
                update={"category": self.detected_category, "category_overridden": False}
            )
        return self.model_copy(update={"category": Category(category), "category_overridden": True})


class SearchHit(BaseModel):
    """One model in a hub search, as the TUI lists it."""

    source: str
    model_id: str
    downloads: int = 0
    likes: int = 0
    last_modified: str | None = None
    library: str | None = None
    pipeline_tag: str | None = None
    gated: bool = False
    private: bool = False


class RepoInfo(BaseModel):
    """A hub repository: its files with sizes and what the hub says about it."""

    source: str
    model_id: str
    revision: str | None = None
    files: list[ModelFile] = Field(default_factory=list)
    parameters_by_dtype: dict[str, int] = Field(default_factory=dict)
    pipeline_tag: str | None = None
    library: str | None = None
    gated: bool = False
    private: bool = False
    downloads: int = 0
    likes: int = 0
    last_modified: str | None = None
