"""gpustack-tui: deploy, scale, watch and serve AI models on a few GPU servers from a terminal."""

__version__ = "0.1.0"
