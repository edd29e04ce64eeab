"""A GPU-using custom backend for scripts/gpu_e2e.sh: takes GPU memory with PyTorch, says which
GPU it sees, then serves the OpenAI-compatible test backend. Run where PyTorch and a GPU are."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import torch

GIB = 1024**3

if __name__ == "__main__":
    device = torch.device("cuda:0")
    held = torch.empty(GIB // 4, dtype=torch.float32, device=device)  # 1 GiB, kept while serving
    print(
        f"gpu_backend: holding {held.numel() * 4 / GIB:.1f} GiB on {torch.cuda.get_device_name(0)}"
        f" (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r},"
        f" {torch.cuda.device_count()} visible)",
        flush=True,
    )
    backend = Path(__file__).resolve().parent.parent / "tests" / "openai_test_backend.py"
    sys.argv = [str(backend), *sys.argv[1:]]
    runpy.run_path(str(backend), run_name="__main__")
