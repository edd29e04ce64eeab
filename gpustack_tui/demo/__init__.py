"""`gpustack-tui demo`: a private installation with simulated workers and GPUs, a built-in
OpenAI-compatible backend and demo deployments, for trying every screen without a GPU."""
