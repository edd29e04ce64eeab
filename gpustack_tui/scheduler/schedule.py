"""One placement decision: filters, then candidates, then scores. Pure and deterministic.

`place` answers for one replica; `place_replicas` places several one by one, each seeing the
claims of the ones before it.
"""

from __future__ import annotations

from dataclasses import replace

from gpustack_tui.domain.units import format_bytes
from gpustack_tui.scheduler.candidates import (
    manual_candidates,
    multi_candidates,
    single_gpu,
    single_gpu_placement,
)
from gpustack_tui.scheduler.filters import labels_match, selector_text
from gpustack_tui.scheduler.model import (
    GpuSnapshot,
    NoFit,
    PlacedInstance,
    Placement,
    Request,
    WorkerSnapshot,
)
from gpustack_tui.scheduler.scoring import (
    Load,
    SpreadScorer,
    binpack,
    binpack_gpu,
    ram_term,
)


def filter_workers(
    request: Request, workers: list[WorkerSnapshot]
) -> tuple[list[WorkerSnapshot], dict[str, str]]:
    """Workers that may take the replica, and why each other one may not."""
    selected = {name for name, _ in request.gpu_selector}
    kept: list[WorkerSnapshot] = []
    dropped: dict[str, str] = {}
    for worker in sorted(workers, key=lambda w: w.name):
        if worker.cluster != request.cluster:
            dropped[worker.name] = f"in cluster {worker.cluster}, not {request.cluster}"
        elif request.gpu_selector and worker.name not in selected:
            dropped[worker.name] = "none of its GPUs is selected"
        elif not labels_match(worker.labels, request.worker_selector):
            dropped[worker.name] = (
                f"labels do not match the worker selector {selector_text(request.worker_selector)}"
            )
        elif not worker.ready:
            dropped[worker.name] = worker.state
        elif worker.name in request.excluded:
            dropped[worker.name] = request.excluded[worker.name]
        else:
            kept.append(worker)
    return kept, dropped


def _shortfall(request: Request, worker: WorkerSnapshot) -> str:
    """Why a worker that passed the filters still cannot take the replica."""
    if worker.ram_allocatable < request.ram:
        return (
            f"{worker.name}: {format_bytes(worker.ram_allocatable)} RAM allocatable, "
            f"needs {format_bytes(request.ram)}"
        )
    if not worker.gpus:
        return f"{worker.name}: no GPUs"
    gpus = worker.gpus
    if request.gpu_selector:
        chosen = {i for w, i in request.gpu_selector if w == worker.name}
        gpus = tuple(g for g in gpus if g.index in chosen)
    free = sum(1 for g in gpus if g.allocated == 0)
    allocatable = sum(g.allocatable for g in gpus)
    need = format_bytes(request.vram)
    if request.utilization > 0:
        need += f" with {request.utilization:.0%} of each GPU used unclaimed"
    if request.gpu_count is not None:
        need += f" on {request.gpu_count} GPU(s)"
    return (
        f"{worker.name}: {free} of {len(gpus)} GPUs free, "
        f"{format_bytes(allocatable)} allocatable, needs {need}"
    )


def _best_single_gpu(
    request: Request,
    fits: list[tuple[WorkerSnapshot, GpuSnapshot, int]],
    load: Load,
) -> Placement:
    """The winning single-GPU candidate, scored without building a placement for each."""
    best_score = -1.0
    best = fits[0]
    if request.placement == "binpack":
        ram_terms: dict[str, float] = {}
        for candidate in fits:
            worker, gpu, claim = candidate
            if worker.name not in ram_terms:
                ram_terms[worker.name] = ram_term(request.ram, worker)
            score = binpack_gpu(claim, gpu.total - gpu.allocated, ram_terms[worker.name])
            if score > best_score:
                best_score, best = score, candidate
    else:
        scorer = SpreadScorer(load, request.deployment, {worker.name for worker, _, _ in fits})
        current = ""
        worker_part = 0.0
        hopeless = False
        for candidate in fits:  # grouped by worker, in worker order
            worker, gpu, _claim = candidate
            if worker.name != current:
                current = worker.name
                worker_part = 0.85 * scorer.worker(current)
                # A GPU adds at most 0.15: skip workers that cannot beat the best so far.
                hopeless = (worker_part + 0.15) * 100 <= best_score
            if hopeless:
                continue
            score = (worker_part + 0.15 * scorer.gpu(current, gpu.index)) * 100
            if score > best_score:
                best_score, best = score, candidate
    worker, gpu, claim = best
    placement = single_gpu_placement(worker, gpu, claim, request.ram)
    return replace(placement, score=round(best_score, 3))


def _no_fit(
    request: Request,
    workers: list[WorkerSnapshot],
    eligible: list[WorkerSnapshot],
    dropped: dict[str, str],
) -> NoFit:
    reasons = {name: f"{name}: {why}" for name, why in dropped.items()}
    reasons.update({w.name: _shortfall(request, w) for w in eligible})
    return NoFit(tuple(reasons[name] for name in sorted(reasons)))


def place(
    request: Request, workers: list[WorkerSnapshot], load: Load | list[PlacedInstance]
) -> Placement | NoFit:
    """Place one replica of `request` among `workers`, whose GPUs already carry what `load`
    counts (a list of instances is counted on the spot; pass a `Load` to reuse the count)."""
    if not isinstance(load, Load):
        load = Load.of(load)
    eligible, dropped = filter_workers(request, workers)
    if request.gpu_selector:
        candidates = manual_candidates(request, eligible)
    else:
        if request.gpu_count in (None, 1):
            fits = single_gpu(request, eligible)
            if fits:
                return _best_single_gpu(request, fits, load)
        candidates = multi_candidates(request, eligible)
    if not candidates:
        return _no_fit(request, workers, eligible, dropped)
    by_name = {w.name: w for w in eligible}
    if request.placement == "binpack":
        scored = [(binpack(p, by_name), p) for p in candidates]
    else:
        names = {node.worker for p in candidates for node in p.nodes}
        scorer = SpreadScorer(load, request.deployment, names)
        scored = [(scorer.score(p), p) for p in candidates]
    best_score, best = scored[0]
    for score, placement in scored[1:]:
        if score > best_score:
            best_score, best = score, placement
    return replace(best, score=round(best_score, 3))


def claim(
    workers: list[WorkerSnapshot], load: Load, placement: Placement, deployment: str
) -> list[WorkerSnapshot]:
    """The workers after `placement` took its claims; `load` counts the new instance."""
    nodes = {node.worker: node for node in placement.nodes}
    updated = []
    for worker in workers:
        node = nodes.get(worker.name)
        if node is None:
            updated.append(worker)
            continue
        gpus = tuple(
            replace(g, allocated=g.allocated + node.vram.get(g.index, 0)) for g in worker.gpus
        )
        updated.append(replace(worker, gpus=gpus, ram_allocated=worker.ram_allocated + node.ram))
    for node in placement.nodes:
        load.add(PlacedInstance(deployment, node.worker, node.gpus, dict(node.vram), node.ram))
    return updated


def place_replicas(
    request: Request, workers: list[WorkerSnapshot], instances: list[PlacedInstance], count: int
) -> list[Placement | NoFit]:
    """Place `count` replicas one by one; each sees the claims of those placed before it."""
    load = Load.of(instances)
    results: list[Placement | NoFit] = []
    for _ in range(count):
        result = place(request, workers, load)
        results.append(result)
        if isinstance(result, Placement):
            workers = claim(workers, load, result, request.deployment)
    return results
