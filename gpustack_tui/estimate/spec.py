"""The estimate of a `DeploymentSpec` (no I/O): its backend, backend parameters, category
override and extended KV cache applied to a model's metadata, for the scheduler."""

from __future__ import annotations

from collections.abc import Sequence

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.estimate.fit import Estimate, ExtendedKv, estimate
from gpustack_tui.estimate.parallel import ParallelChoice, minimum_tensor_parallel


def spec_metadata(spec: DeploymentSpec, meta: ModelMetadata) -> ModelMetadata:
    """The metadata with the spec's category override applied ('auto' keeps the detected)."""
    return meta.with_category(spec.advanced.category)


def spec_extended_kv(spec: DeploymentSpec) -> ExtendedKv:
    """The spec's extended KV cache settings in the estimate's terms."""
    kv = spec.performance.extended_kv_cache
    return ExtendedKv(
        enabled=kv.enabled, ram_to_vram_ratio=kv.ram_to_vram_ratio, max_ram_gib=kv.max_ram_gib
    )


def estimate_for_spec(
    spec: DeploymentSpec, meta: ModelMetadata, gpu_memory: Sequence[int]
) -> Estimate:
    """One replica of `spec` on exactly the GPUs of `gpu_memory` (bytes each)."""
    return estimate(
        spec_metadata(spec, meta),
        spec.backend,
        gpu_memory,
        spec.advanced.backend_parameters,
        spec_extended_kv(spec),
    )


def minimum_for_spec(
    spec: DeploymentSpec, meta: ModelMetadata, gpu_memory: Sequence[int]
) -> ParallelChoice:
    """The fewest of the GPUs in `gpu_memory` one replica of `spec` fits on."""
    return minimum_tensor_parallel(
        spec_metadata(spec, meta),
        spec.backend,
        gpu_memory,
        spec.advanced.backend_parameters,
        spec_extended_kv(spec),
    )
