"""Candidate placements for one replica, fewest GPUs first (GPUStack's selector order).

Auto mode tries, in order, and stops at the first step that yields anything:
1. one GPU;
2. several GPUs of one worker (the smallest count that fits, tensor-parallel rules applied), or
   all GPUs of one worker for backends that take a whole machine (the custom backend);
3. several workers with equal GPU counts, all their GPUs (distributed inference);
4. CPU only, when the deployment allows it.
Manual mode places on the selected GPUs only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gpustack_tui.scheduler.model import GpuSnapshot, Node, Placement, Request, WorkerSnapshot


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _gpu_claim(request: Request, gpu: GpuSnapshot, share: int) -> int | None:
    """What `gpu` claims when it must carry `share` bytes of the model; None if it cannot.

    With a utilization the GPU claims its fixed fraction and needs that much unclaimed."""
    if request.utilization > 0:
        claim = int(gpu.total * request.utilization)
        if gpu.free_ratio < request.utilization or claim < share:
            return None
        return claim
    return share if gpu.allocatable >= share else None


def _node(
    request: Request, worker: WorkerSnapshot, gpus: list[GpuSnapshot], share: int
) -> Node | None:
    """`gpus` of `worker`, each carrying `share`; None if one cannot or RAM is short."""
    if worker.ram_allocatable < request.ram:
        return None
    claims: dict[int, int] = {}
    for gpu in sorted(gpus, key=lambda g: g.index):
        claim = _gpu_claim(request, gpu, share)
        if claim is None:
            return None
        claims[gpu.index] = claim
    return Node(worker.name, tuple(claims), claims, request.ram)


def _share(request: Request, gpu_count: int) -> int:
    """The part each of `gpu_count` GPUs must carry (0: the utilization rule decides)."""
    return 0 if request.utilization > 0 else _ceil_div(request.vram, gpu_count)


def _claimed(nodes: Iterable[Node]) -> int:
    return sum(sum(node.vram.values()) for node in nodes)


def single_gpu(
    request: Request, workers: Iterable[WorkerSnapshot]
) -> list[tuple[WorkerSnapshot, GpuSnapshot, int]]:
    """Every GPU that holds the whole replica, as (worker, gpu, claim): kept light because on
    a large cluster this is thousands of candidates per decision."""
    found = []
    util = request.utilization
    need = request.vram
    for worker in workers:
        if worker.ram_allocatable < request.ram:
            continue
        for gpu in worker.gpus:
            if util > 0:
                claim = int(gpu.total * util)
                if claim >= need and gpu.total and (gpu.total - gpu.allocated) >= claim:
                    found.append((worker, gpu, claim))
            elif gpu.total - gpu.allocated >= need:
                found.append((worker, gpu, need))
    return found


def single_gpu_placement(
    worker: WorkerSnapshot, gpu: GpuSnapshot, claim: int, ram: int
) -> Placement:
    """The placement of one single-GPU candidate."""
    return Placement((Node(worker.name, (gpu.index,), {gpu.index: claim}, ram),))


def _counts(request: Request, available: int) -> Iterator[int]:
    """GPU counts to try on one worker: the fixed one, or 2.. that split the model."""
    if request.gpu_count is not None:
        if 1 < request.gpu_count <= available and request.tp_ok(request.gpu_count):
            yield request.gpu_count
        return
    for count in range(2, available + 1):
        if request.tp_ok(count):
            yield count


def _fitting_node(request: Request, worker: WorkerSnapshot, gpus: list[GpuSnapshot]) -> Node | None:
    node = _node(request, worker, gpus, _share(request, len(gpus)))
    return node if node is not None and _claimed([node]) >= request.vram else None


def one_worker_multi_gpu(request: Request, workers: Iterable[WorkerSnapshot]) -> list[Placement]:
    """The smallest GPU count on one worker that fits; every worker's best at that count."""
    found: list[tuple[int, Placement]] = []
    for worker in workers:
        if len(worker.gpus) < 2:
            continue
        if request.all_gpus_of_worker:
            node = _fitting_node(request, worker, list(worker.gpus))
            if node is not None:
                found.append((len(worker.gpus), Placement((node,))))
            continue
        roomiest = sorted(worker.gpus, key=lambda g: (-g.allocatable, g.index))
        for count in _counts(request, len(roomiest)):
            node = _fitting_node(request, worker, roomiest[:count])
            if node is not None:
                found.append((count, Placement((node,))))
                break
    if not found:
        return []
    fewest = min(count for count, _ in found)
    return [placement for count, placement in found if count == fewest]


def multi_worker(request: Request, workers: Iterable[WorkerSnapshot]) -> list[Placement]:
    """Workers with equal GPU counts, all their GPUs, added until the replica fits
    (tensor parallel inside a worker, pipeline parallel across workers)."""
    groups: dict[int, list[WorkerSnapshot]] = {}
    for worker in workers:
        if worker.gpus:
            groups.setdefault(len(worker.gpus), []).append(worker)
    found: list[Placement] = []
    for per_node, group in sorted(groups.items(), reverse=True):
        if len(group) < 2 or not request.tp_ok(per_node):
            continue
        nodes: list[Node] = []
        for worker in group:
            if request.gpu_count is not None and per_node * (len(nodes) + 1) > request.gpu_count:
                break
            # With fixed claims, take what the node would need if it were the last one.
            share = _share(request, per_node * (len(nodes) + 1))
            node = _node(request, worker, list(worker.gpus), share)
            if node is None:
                continue
            nodes.append(node)
            enough = request.gpu_count is None or per_node * len(nodes) == request.gpu_count
            if len(nodes) >= 2 and enough and _claimed(nodes) >= request.vram:
                found.append(Placement(tuple(_even(request, nodes))))
                break
    return found


def _even(request: Request, nodes: list[Node]) -> list[Node]:
    """With fixed claims, spread the replica evenly over the GPUs finally chosen."""
    if request.utilization > 0:
        return nodes
    share = _share(request, sum(len(n.gpus) for n in nodes))
    return [Node(n.worker, n.gpus, dict.fromkeys(n.gpus, share), n.ram) for n in nodes]


def cpu_only(request: Request, workers: Iterable[WorkerSnapshot]) -> list[Placement]:
    """Workers with RAM for a replica that runs without GPUs."""
    return [
        Placement((Node(w.name, (), {}, request.ram),))
        for w in workers
        if w.ram_allocatable >= request.ram
    ]


def multi_candidates(request: Request, workers: list[WorkerSnapshot]) -> list[Placement]:
    """Auto mode after the single-GPU step found nothing: several GPUs of one worker, then
    several workers, then CPU only (see the module's docstring)."""
    if request.multi_gpu and request.gpu_count != 1:
        found = one_worker_multi_gpu(request, workers)
        if found:
            return found
        if request.distributed and not request.all_gpus_of_worker:
            found = multi_worker(request, workers)
            if found:
                return found
    return cpu_only(request, workers) if request.allow_cpu else []


def manual_gpus_per_replica(request: Request) -> int:
    """GPUs per replica in manual mode: the fixed number, else the largest power of two that
    lets every replica have its own share of the selected GPUs."""
    if request.gpu_count is not None:
        return request.gpu_count
    each = max(1, len(request.gpu_selector) // max(1, request.replicas))
    power = 1
    while power * 2 <= each:
        power *= 2
    return power


def manual_candidates(request: Request, workers: list[WorkerSnapshot]) -> list[Placement]:
    """Placements on the selected GPUs only: one worker first, then across workers."""
    count = manual_gpus_per_replica(request)
    selected: dict[str, set[int]] = {}
    for worker_name, index in request.gpu_selector:
        selected.setdefault(worker_name, set()).add(index)
    chosen = [
        (
            w,
            sorted(
                (g for g in w.gpus if g.index in selected.get(w.name, ())),
                key=lambda g: (-g.allocatable, g.index),
            ),
        )
        for w in workers
    ]
    found = []
    for worker, gpus in chosen:
        if len(gpus) >= count:
            node = _fitting_node(request, worker, gpus[:count])
            if node is not None:
                found.append(Placement((node,)))
    if found or not request.distributed:
        return found
    nodes: list[Node] = []
    remaining = count
    for worker, gpus in sorted(chosen, key=lambda wg: -len(wg[1])):
        if remaining <= 0 or not gpus:
            continue
        node = _node(request, worker, gpus[:remaining], _share(request, count))
        if node is None:
            return []
        nodes.append(node)
        remaining -= len(node.gpus)
    if remaining or len(nodes) < 2 or _claimed(nodes) < request.vram:
        return []
    return [Placement(tuple(nodes))]
