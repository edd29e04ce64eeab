"""Resource estimation: ModelMetadata + backend + GPUs -> what a replica claims. Pure."""
