"""Category detection, as GPUStack does it (reference §10): diffusers repos are images; else the
first architecture found in one of the lists decides; unknown architectures are LLMs."""

from __future__ import annotations

from gpustack_tui.domain.model import Category

EMBEDDING_ARCHITECTURES = frozenset(
    {
        "BertModel",
        "RobertaModel",
        "XLMRobertaModel",
        "NomicBertModel",
        "GteModel",
        "GteNewModel",
        "NewModel",
        "ModernBertModel",
        "Qwen2Model",
        "Qwen3Model",
        "LlamaModel",
        "MistralModel",
        "Gemma2Model",
        "Gemma3TextModel",
        "CLIPModel",
        "SiglipModel",
        "JinaVLForEmbedding",
        "BgeM3Model",
        "T5EncoderModel",
    }
)
RERANKER_ARCHITECTURES = frozenset(
    {"JinaForRanking", "BertForSequenceClassification", "XLMRobertaForSequenceClassification"}
)
SPEECH_TO_TEXT_ARCHITECTURES = frozenset(
    {
        "WhisperForConditionalGeneration",
        "VoxtralForConditionalGeneration",
        "Qwen3ASRForConditionalGeneration",
        "GraniteSpeechForConditionalGeneration",
        "GlmAsrForConditionalGeneration",
    }
)
TEXT_TO_SPEECH_ARCHITECTURES = frozenset({"Qwen3TTSForConditionalGeneration"})
# Hub pipeline tags, used only when a repository names no architecture at all.
PIPELINE_TAGS = {
    "feature-extraction": Category.EMBEDDING,
    "sentence-similarity": Category.EMBEDDING,
    "text-ranking": Category.RERANKER,
    "text-classification": Category.RERANKER,
    "text-to-image": Category.IMAGE,
    "image-to-image": Category.IMAGE,
    "automatic-speech-recognition": Category.SPEECH_TO_TEXT,
    "text-to-speech": Category.TEXT_TO_SPEECH,
    "text-to-audio": Category.TEXT_TO_SPEECH,
}


def category_of_architecture(architecture: str) -> Category | None:
    """The category an architecture name belongs to, or None when no list names it."""
    if architecture in EMBEDDING_ARCHITECTURES:
        return Category.EMBEDDING
    if architecture in RERANKER_ARCHITECTURES or architecture.endswith("ForSequenceClassification"):
        return Category.RERANKER
    if architecture in SPEECH_TO_TEXT_ARCHITECTURES:
        return Category.SPEECH_TO_TEXT
    if architecture in TEXT_TO_SPEECH_ARCHITECTURES:
        return Category.TEXT_TO_SPEECH
    if architecture.endswith(("ForCausalLM", "ForConditionalGeneration")):
        return Category.LLM
    return None


def detect_category(
    architectures: list[str],
    is_diffusers: bool = False,
    pipeline_tag: str | None = None,
    gguf_pooling: bool = False,
    gguf_reranking: bool = False,
) -> Category:
    """The detected category: diffusers -> image; GGUF flags; architectures in order; the hub's
    pipeline tag when there is no architecture; else llm."""
    if is_diffusers:
        return Category.IMAGE
    if gguf_reranking:
        return Category.RERANKER
    if gguf_pooling:
        return Category.EMBEDDING
    for architecture in architectures:
        found = category_of_architecture(architecture)
        if found is not None:
            return found
    if not architectures and pipeline_tag in PIPELINE_TAGS:
        return PIPELINE_TAGS[pipeline_tag]
    return Category.LLM
