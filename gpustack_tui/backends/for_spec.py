"""The launch plan of one node of a deployment's instance, whatever its backend (no I/O).

The dry-run plan (`gpustack-tui plan`, the deploy form's preview) and the starter both ask here,
so what a user previews is exactly what runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from gpustack_tui.backends.catalog import BUILTIN, FAMILY_OF_VENDOR
from gpustack_tui.backends.custom import build_custom_plan
from gpustack_tui.backends.launch import KvCache, NodeContext, build
from gpustack_tui.backends.plan import LaunchPlan
from gpustack_tui.backends.user_backend import build_user_backend_plan
from gpustack_tui.domain.backend_params import flatten
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.user_backend import UserBackend

# Backends whose share of each GPU is set by a flag; the share the scheduler claimed is passed.
FRACTION_BACKENDS = ("vllm", "sglang", "mindie")
CONTAINER_DATA_DIR = "/var/lib/gpustack-tui"


@dataclass(frozen=True)
class Site:
    """Where one node of an instance runs: the worker's address, its GPUs there, their vendor,
    the memory of the smallest of them and what the instance claims of each."""

    worker_ip: str
    gpus: tuple[int, ...] = ()
    vendor: str = "nvidia"
    gpu_total: int = 0
    vram_claim: int = 0
    # Distributed instances: this node's rank (0 leads), the GPU count of every node, the
    # leader's address and the leader's ports (serving, then the group's own).
    rank: int = 0
    node_gpus: tuple[int, ...] = ()
    leader_ip: str = ""
    ports: tuple[int, ...] = ()
    # MindIE's rank table: every node's address and GPU indexes, in rank order.
    node_ips: tuple[str, ...] = ()
    node_gpu_indexes: tuple[tuple[int, ...], ...] = ()
    # The image mirror rules of this node's worker, its own before the installation's
    # (domain/images.mirror_sets): the plan carries the image the worker pulls.
    image_mirrors: tuple[Mapping[str, str], ...] = field(default=(), hash=False)


class _Placed(TypedDict):
    """Where and what one node serves: the arguments every kind of launch plan takes."""

    model_path: str
    model_name: str
    port: int | None
    gpu_indexes: tuple[int, ...]
    worker_ip: str
    backend_parameters: list[str]


DEFAULT_HEALTH_PATH = "/v1/models"


def health_path_of(spec: DeploymentSpec, user_backend: UserBackend | None = None) -> str | None:
    """The path that answers 200 once an instance of `spec` serves; None for a user backend
    without one (it serves once its workload runs)."""
    backend = BUILTIN.get(spec.backend)
    if backend is not None:
        return backend.health_path
    if user_backend is not None:
        return user_backend.health_path
    return DEFAULT_HEALTH_PATH


def family_of(vendor: str) -> str:
    """The accelerator family (cuda, rocm, cann) of a GPU vendor; cuda when unknown."""
    return FAMILY_OF_VENDOR.get(vendor, "cuda")


def image_problem(spec: DeploymentSpec, vendor: str) -> str | None:
    """Why the spec's built-in backend has no image for `vendor`'s GPUs, or None."""
    backend = BUILTIN.get(spec.backend)
    if backend is None:
        return None
    try:
        version = backend.version(spec.backend_version)
    except KeyError as exc:
        return str(exc.args[0])
    family = family_of(vendor)
    if version.image_for(family) is None:
        has = ", ".join(sorted(version.images)) or "none"
        return (
            f"{backend.title} {version.version} has no image for {family} GPUs "
            f"(it has: {has}): pick another backend version or other workers"
        )
    return None


def launch_plan(
    spec: DeploymentSpec,
    site: Site,
    model_path: str,
    port: int | None,
    model_max_context: int | None = None,
    user_backend: UserBackend | None = None,
) -> LaunchPlan:
    """What one node of an instance of `spec` runs at `site`, its image (if any) fully
    qualified and rewritten by the site's mirror rules. `port` None (a dry run) keeps `{port}`
    in the command. ValueError when it cannot be built (no image for these GPUs, a backend
    without a launch plan yet, a malformed command or image). A backend the user defined is
    given as `user_backend`."""
    plan = _launch_plan(spec, site, model_path, port, model_max_context, user_backend)
    return plan.pulled_from(*site.image_mirrors)


def _launch_plan(
    spec: DeploymentSpec,
    site: Site,
    model_path: str,
    port: int | None,
    model_max_context: int | None = None,
    user_backend: UserBackend | None = None,
) -> LaunchPlan:
    """The plan as the backend writes it, its image not yet rewritten."""
    placed: _Placed = {
        "model_path": model_path,
        "model_name": spec.name,
        "port": port,
        "gpu_indexes": site.gpus,
        "worker_ip": site.worker_ip,
        "backend_parameters": spec.advanced.backend_parameters,
    }
    if user_backend is not None:
        return build_user_backend_plan(
            user_backend, spec.backend_version, env=spec.advanced.env, **placed
        )
    if spec.backend not in BUILTIN:
        return build_custom_plan(
            command=spec.advanced.command or "", env=spec.advanced.env, **placed
        )
    problem = image_problem(spec, site.vendor)
    if problem:
        raise ValueError(problem)
    utilization = None
    if spec.backend in FRACTION_BACKENDS and site.gpu_total and site.vram_claim:
        utilization = round(site.vram_claim / site.gpu_total, 3)
    kv = spec.performance.extended_kv_cache
    kv_cache = None
    if kv.enabled:
        kv_cache = KvCache(
            chunk_size=kv.chunk_size,
            ram_to_vram_ratio=kv.ram_to_vram_ratio,
            max_ram_gib=kv.max_ram_gib,
            node_vram_claim=site.vram_claim * max(len(site.gpus), 1),
        )
    context = NodeContext(
        backend=spec.backend,
        version=spec.backend_version,
        family=family_of(site.vendor),
        model_path=model_path,
        model_name=spec.name,
        worker_ip=site.worker_ip,
        port=port,
        gpus=site.gpus,
        user_args=flatten(spec.advanced.backend_parameters),
        user_env=dict(spec.advanced.env),
        derived_context=model_max_context,
        utilization=utilization,
        kv_cache=kv_cache,
        data_dir=CONTAINER_DATA_DIR,
        rank=site.rank,
        node_gpus=site.node_gpus,
        leader_ip=site.leader_ip,
        ports=site.ports,
        node_ips=site.node_ips,
        node_gpu_indexes=site.node_gpu_indexes,
    )
    try:
        return build(context)
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None
