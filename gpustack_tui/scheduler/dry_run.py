"""The dry run: where each replica would land, what each node would run, and the longest
context that fits there (no I/O). The server's `POST /plan` and `gpustack-tui plan --cluster`
both answer with it, so the deploy form's preview and the CLI agree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gpustack_tui.backends.for_spec import Site, launch_plan
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.domain.user_backend import UserBackend
from gpustack_tui.estimate.spec import estimate_for_spec
from gpustack_tui.scheduler.model import NoFit, PlacedInstance, Placement, Request, WorkerSnapshot
from gpustack_tui.scheduler.report import plan_json
from gpustack_tui.scheduler.schedule import place_replicas

# A model that comes from a hub has no path on its worker before it is downloaded there.
HUB_MODEL_PATH = "{model_path}"


def max_context(
    spec: DeploymentSpec, meta: ModelMetadata | None, gpu_totals: list[int]
) -> int | None:
    """The longest context one replica holds on GPUs of `gpu_totals` bytes; None when the
    metadata is unknown or the model holds no KV cache limit."""
    if meta is None or not gpu_totals:
        return None
    try:
        return estimate_for_spec(spec, meta, gpu_totals).largest_context
    except ValueError:
        return None


def _sites(
    placement: Placement,
    workers: dict[str, WorkerSnapshot],
    addresses: dict[str, str],
    mirrors: Mapping[str, tuple[Mapping[str, str], ...]],
) -> list[Site]:
    node_gpus = tuple(len(node.gpus) for node in placement.nodes)
    leader_ip = addresses.get(placement.leader.worker, "")
    sites = []
    for rank, node in enumerate(placement.nodes):
        worker = workers[node.worker]
        used = [g for g in worker.gpus if g.index in node.gpus]
        sites.append(
            Site(
                worker_ip=addresses.get(node.worker, ""),
                gpus=node.gpus,
                vendor=used[0].vendor if used else "nvidia",
                gpu_total=min((g.total for g in used), default=0),
                vram_claim=max(node.vram.values(), default=0),
                rank=rank,
                node_gpus=node_gpus if len(node_gpus) > 1 else (),
                leader_ip=leader_ip,
                node_ips=tuple(addresses.get(n.worker, "") for n in placement.nodes),
                node_gpu_indexes=tuple(n.gpus for n in placement.nodes),
                image_mirrors=mirrors.get(node.worker, ()),
            )
        )
    return sites


def dry_run(
    spec: DeploymentSpec,
    request: Request,
    workers: list[WorkerSnapshot],
    placed: list[PlacedInstance],
    meta: ModelMetadata | None = None,
    addresses: dict[str, str] | None = None,
    user_backend: UserBackend | None = None,
    mirrors: Mapping[str, tuple[Mapping[str, str], ...]] | None = None,
) -> dict[str, Any]:
    """`plan --json`'s answer: each replica's nodes with their claims and `launch`
    (`{port}` filled at start; the image each worker pulls, by its `mirrors` rule sets),
    `max_context`, or the reasons nothing fits."""
    addresses = addresses or {}
    mirrors = mirrors or {}
    results: list[Placement | NoFit] = place_replicas(request, workers, placed, spec.replicas)
    report = plan_json(results)
    by_name = {w.name: w for w in workers}
    model_path = spec.source.local_path or HUB_MODEL_PATH
    for replica, result in zip(report["replicas"], results, strict=True):
        if isinstance(result, NoFit):
            continue
        sites = _sites(result, by_name, addresses, mirrors)
        totals = [
            g.total
            for node in result.nodes
            for g in by_name[node.worker].gpus
            if g.index in node.gpus
        ]
        replica["max_context"] = max_context(spec, meta, totals)
        for node, site in zip(replica["nodes"], sites, strict=True):
            try:
                context = meta.max_context if meta else None
                plan = launch_plan(spec, site, model_path, None, context, user_backend)
            except ValueError as exc:
                node["launch"] = None
                replica["reasons"].append(str(exc))
                continue
            node["launch"] = plan.as_json()
    return report
