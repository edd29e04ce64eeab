"""Model sources: Hugging Face, ModelScope and local paths -> ModelMetadata, search, cached."""
