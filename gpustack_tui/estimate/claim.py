"""What a replica asks of a worker. The skeleton's estimate: a user-given claim or one derived
from the model's size on disk; issue 4 replaces the derivation with a metadata-based estimate."""

from __future__ import annotations

from dataclasses import dataclass

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.units import GIB

MIN_CLAIM = 256 * 1024**2
# Weights plus activations and runtime buffers; a rough factor until the real estimate lands.
SIZE_FACTOR = 1.2


@dataclass(frozen=True)
class ResourceRequest:
    """Per replica: how many GPUs, how much memory on each, and whether CPU alone will do."""

    gpu_count: int
    vram_per_gpu: int
    allow_cpu: bool


def resource_request(spec: DeploymentSpec, model_bytes: int) -> ResourceRequest:
    """The request of one replica of `spec`, whose model takes `model_bytes` on disk."""
    if spec.advanced.vram_claim_gib is not None:
        claim = int(spec.advanced.vram_claim_gib * GIB)
    else:
        claim = max(MIN_CLAIM, int(model_bytes * SIZE_FACTOR))
    return ResourceRequest(
        gpu_count=1, vram_per_gpu=claim, allow_cpu=spec.advanced.allow_cpu_offloading
    )
