"""From a deployment spec to the scheduler's request for one replica."""

from __future__ import annotations

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.estimate.claim import resource_request
from gpustack_tui.scheduler.model import Request


def gpu_selector_of(spec: DeploymentSpec) -> tuple[tuple[str, int], ...]:
    """Manual mode's `WORKER:GPU_INDEX` items as pairs (empty in auto mode)."""
    if spec.scheduling.mode != "manual":
        return ()
    pairs = (item.rpartition(":") for item in spec.scheduling.gpu_selector)
    return tuple((worker, int(index)) for worker, _, index in pairs)


def request_for(spec: DeploymentSpec, model_bytes: int, excluded: dict[str, str]) -> Request:
    """The scheduler's request for one replica of a custom-backend deployment.

    The custom backend takes what it is given: its claim is spread over the GPUs it gets, and
    several GPUs means all GPUs of one worker (it has no tensor-parallel rules we could check).
    """
    scheduling = spec.scheduling
    return Request(
        deployment=spec.name,
        vram=resource_request(spec, model_bytes).vram_per_gpu,
        cluster=spec.cluster,
        gpu_count=scheduling.gpus_per_replica
        if isinstance(scheduling.gpus_per_replica, int)
        else None,
        all_gpus_of_worker=scheduling.mode == "auto",
        allow_cpu=spec.advanced.allow_cpu_offloading,
        placement=scheduling.placement,
        worker_selector=dict(scheduling.worker_selector),
        gpu_selector=gpu_selector_of(spec),
        replicas=spec.replicas,
        excluded=excluded,
    )
