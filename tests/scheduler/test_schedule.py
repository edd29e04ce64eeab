"""The scheduler, table by table, with the reference's acceptance scenarios (§14) adapted.

Byte figures are GPUStack's where our rules agree; where they differ the test says why.
"""

from __future__ import annotations

import pytest

from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.units import GIB
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.scheduler.candidates import manual_gpus_per_replica
from gpustack_tui.scheduler.filters import labels_match, selector_text
from gpustack_tui.scheduler.model import (
    GpuSnapshot,
    NoFit,
    PlacedInstance,
    Placement,
    Request,
    WorkerSnapshot,
)
from gpustack_tui.scheduler.scale_down import removal_order
from gpustack_tui.scheduler.schedule import place, place_replicas

G24 = 26015170560
G16 = 17171480576
G80 = 85899345920
VLLM = 0.9


def worker(name: str, *totals: int, ready: bool = True, **kw) -> WorkerSnapshot:
    gpus = tuple(GpuSnapshot(index=i, total=t) for i, t in enumerate(totals))
    return WorkerSnapshot(
        name=name,
        gpus=gpus,
        ready=ready,
        state="ready" if ready else "unreachable",
        ram_total=kw.pop("ram", 64 * GIB),
        **kw,
    )


def holding(w: WorkerSnapshot, index: int, used: int) -> WorkerSnapshot:
    gpus = tuple(
        GpuSnapshot(g.index, g.total, g.allocated + (used if g.index == index else 0))
        for g in w.gpus
    )
    return WorkerSnapshot(w.name, gpus, w.cluster, w.ready, w.state, w.labels, w.ram_total)


def llm(vram_gib: float, **kw) -> Request:
    return Request(
        deployment="m",
        vram=int(vram_gib * GIB),
        utilization=VLLM,
        placement=kw.pop("placement", "binpack"),
        **kw,
    )


def nodes(result: Placement | NoFit) -> list[tuple[str, tuple[int, ...], dict[int, int]]]:
    assert isinstance(result, Placement), result
    return [(n.worker, n.gpus, n.vram) for n in result.nodes]


def test_1_small_llm_claims_ninety_percent_of_one_gpu() -> None:
    result = place(llm(1.5), [worker("host4090", G24)], [])
    assert nodes(result) == [("host4090", (0,), {0: 23413653504})]
    assert result.score == 60.0


def test_2_second_llm_on_a_claimed_gpu_does_not_fit() -> None:
    busy = holding(worker("host4090", G24), 0, 23413653504)
    result = place(llm(1.5), [busy], [])
    assert isinstance(result, NoFit)
    assert result.reasons == (
        "host4090: 0 of 1 GPUs free, 2.4 GiB allocatable, needs 1.5 GiB with 90% of each GPU "
        "used unclaimed",
    )


def test_3_an_embedding_model_claims_only_its_estimate() -> None:
    busy = holding(worker("host4090", G24), 0, 23413653504)
    embedding = Request(deployment="bge", vram=1588014354)
    assert nodes(place(embedding, [busy], [])) == [("host4090", (0,), {0: 1588014354})]


def test_4_two_gpus_when_one_is_too_small() -> None:
    result = place(llm(20.31), [worker("host4080", G16, G16)], [])
    assert nodes(result) == [("host4080", (0, 1), {0: 15454332518, 1: 15454332518})]


@pytest.mark.parametrize(("heads", "gpus"), [(28, 4), (24, 3)])
def test_5_tensor_parallel_must_divide_the_heads(heads: int, gpus: int) -> None:
    request = llm(40, tp_divisors=(heads, 152064))
    result = place(request, [worker("host-4-4080", G16, G16, G16, G16)], [])
    assert len(nodes(result)[0][1]) == gpus


def test_6_too_big_for_one_worker_says_how_much_is_there() -> None:
    result = place(llm(63.97), [worker("host-4-4080", G16, G16, G16, G16)], [])
    assert isinstance(result, NoFit)
    assert result.reasons == (
        "host-4-4080: 4 of 4 GPUs free, 64.0 GiB allocatable, needs 64.0 GiB with 90% of each "
        "GPU used unclaimed",
    )


def r1_cluster() -> list[WorkerSnapshot]:
    return [
        worker("host4090", G24),
        worker("host4090-0", G24),
        *(worker(f"host2{i}-h100", *[G80] * 8) for i in range(2, 6)),
    ]


def test_7_distributed_across_two_eight_gpu_workers() -> None:
    request = llm(770, tp_divisors=(128, 129280), distributed=True)
    assert nodes(place(request, r1_cluster(), [])) == [
        ("host22-h100", tuple(range(8)), dict.fromkeys(range(8), 77309411328)),
        ("host23-h100", tuple(range(8)), dict.fromkeys(range(8), 77309411328)),
    ]
    alone = place(llm(770, tp_divisors=(128, 129280)), r1_cluster(), [])
    assert isinstance(alone, NoFit)


def test_8_pipeline_parallel_three_spans_three_one_gpu_workers() -> None:
    cluster = [
        worker("host4090", G24),
        worker("host4090-0", G24),
        worker("host-2-4090", 25757220864),
    ]
    result = place(llm(1.5, gpu_count=3, distributed=True), cluster, [])
    assert [(w, g) for w, g, _ in nodes(result)] == [
        ("host-2-4090", (0,)),
        ("host4090", (0,)),
        ("host4090-0", (0,)),
    ]
    assert nodes(result)[0][2] == {0: 23181498777}


def test_9_manual_selection_across_workers_leader_has_most_gpus() -> None:
    cluster = [worker("host4090", G24), worker("host-4-4080", G16, G16, G16, G16)]
    selection = (("host4090", 0), ("host-4-4080", 0), ("host-4-4080", 1), ("host-4-4080", 2))
    request = llm(8, gpu_selector=selection, gpu_count=4, distributed=True)
    assert nodes(place(request, cluster, [])) == [
        ("host-4-4080", (0, 1, 2), dict.fromkeys((0, 1, 2), 15454332518)),
        ("host4090", (0,), {0: 23413653504}),
    ]
    two = llm(8, gpu_selector=selection, gpu_count=2, distributed=True)
    assert nodes(place(two, cluster, []))[0][:2] == ("host-4-4080", (0, 1))


def test_manual_gpus_per_replica_auto_is_a_power_of_two() -> None:
    six = tuple(("w", i) for i in range(6))
    assert manual_gpus_per_replica(Request("m", 1, gpu_selector=six)) == 4
    assert manual_gpus_per_replica(Request("m", 1, gpu_selector=six, replicas=2)) == 2
    assert manual_gpus_per_replica(Request("m", 1, gpu_selector=six, gpu_count=3)) == 3


def test_manual_claim_checked_against_what_the_gpus_have_left() -> None:
    busy = holding(worker("w", G16, G16), 0, 10 * GIB)
    request = Request("m", vram=12 * GIB, gpu_selector=(("w", 0),))
    result = place(request, [busy], [])
    assert isinstance(result, NoFit)
    assert result.reasons[0].startswith("w: 0 of 1 GPUs free, 6.0 GiB allocatable")


def test_14_spread_prefers_the_worker_without_this_model() -> None:
    cluster = [worker("w1", G24), worker("w2", G24)]
    existing = [PlacedInstance("m", "w2", (0,), {0: GIB})]
    cluster[1] = holding(cluster[1], 0, GIB)
    result = place(Request("m", vram=GIB, placement="spread"), cluster, existing)
    assert nodes(result)[0][0] == "w1" and result.score == 100.0


def test_14_spread_score_of_the_busier_worker() -> None:
    existing = [PlacedInstance("m", "w2", (0,), {0: GIB})]
    only_w2 = place(
        Request("m", vram=GIB, placement="spread"),
        [worker("w1", 0), holding(worker("w2", G24), 0, GIB)],
        existing,
    )
    # w1 has no usable GPU, so w2 is the only candidate: min == max, inv() = 1, and w2 keeps
    # cur = 1 > 0 with every candidate at cur > 0: 0.50 + 0.25 + 0.15 = 0.9 -> 0.85*90 + 0.15*50
    assert only_w2.score == 84.0


@pytest.mark.parametrize(("strategy", "gpu"), [("binpack", 0), ("spread", 1)])
def test_15_binpack_fills_spread_evens(strategy: str, gpu: int) -> None:
    w = holding(worker("w", 24 * GIB, 24 * GIB), 0, 4 * GIB)
    existing = [PlacedInstance("other", "w", (0,), {0: 4 * GIB})]
    result = place(Request("emb", vram=2 * GIB, placement=strategy), [w], existing)
    assert nodes(result)[0][1] == (gpu,)
    assert result.score == {"binpack": 6.667, "spread": 100.0}[strategy]


def test_16_custom_backend_takes_all_gpus_of_one_worker() -> None:
    # GPUStack claims VRAM // 4 per GPU; we round up, so the four claims cover the estimate.
    request = Request("omni", vram=int(26.99 * GIB), all_gpus_of_worker=True)
    result = place(request, [worker("host-4-4080", G16, G16, G16, G16)], [])
    share = -(-int(26.99 * GIB) // 4)
    assert nodes(result) == [("host-4-4080", (0, 1, 2, 3), dict.fromkeys(range(4), share))]


def test_16_cpu_only_when_allowed_and_ram_suffices() -> None:
    cpu = worker("cpu", ram=64 * GIB)
    fits = place(
        Request("c", vram=30 * GIB, ram=3 * GIB, allow_cpu=True, placement="binpack"), [cpu], []
    )
    assert nodes(fits) == [("cpu", (), {})] and fits.score == 4.688
    too_big = place(Request("c", vram=700 * GIB, ram=70 * GIB, allow_cpu=True), [cpu], [])
    assert isinstance(too_big, NoFit)
    assert too_big.reasons == ("cpu: 64.0 GiB RAM allocatable, needs 70.0 GiB",)


def test_19_filters_say_why_each_worker_was_dropped() -> None:
    cluster = [
        worker("mac", G24, labels={"os": "Darwin"}),
        worker("linux", G24, labels={"os": "Linux"}),
        worker("down", G24, ready=False, labels={"os": "Darwin"}),
        worker("far", G24, cluster="other", labels={"os": "Darwin"}),
        worker("nopath", G24, labels={"os": "Darwin"}),
    ]
    request = Request(
        "m",
        vram=GIB,
        worker_selector={"os": "Darwin"},
        excluded={"nopath": "model path /m not found there"},
    )
    assert nodes(place(request, cluster, []))[0][0] == "mac"
    blocked = place(
        Request(
            "m",
            vram=99 * GIB,
            worker_selector={"os": "Darwin"},
            excluded={"nopath": "model path /m not found there"},
        ),
        cluster,
        [],
    )
    assert isinstance(blocked, NoFit)
    assert blocked.reasons == (
        "down: unreachable",
        "far: in cluster other, not default",
        "linux: labels do not match the worker selector {os=Darwin}",
        "mac: 1 of 1 GPUs free, 24.2 GiB allocatable, needs 99.0 GiB",
        "nopath: model path /m not found there",
    )


def test_replicas_are_placed_one_by_one_each_seeing_the_last() -> None:
    cluster = [worker("w", G24, G24)]
    results = place_replicas(llm(1.5), cluster, [], 3)
    assert [nodes(r)[0][1] for r in results[:2]] == [(0,), (1,)]
    assert isinstance(results[2], NoFit)


def test_ties_go_to_the_first_worker_by_name() -> None:
    cluster = [worker("b", G24), worker("a", G24)]
    assert nodes(place(Request("m", vram=GIB), cluster, []))[0][0] == "a"


def test_21_scale_down_removes_the_weakest_first() -> None:
    workers = {
        "ok": Worker(name="ok", destination="ok", state=WorkerState.READY),
        "gone": Worker(name="gone", destination="gone", state=WorkerState.UNREACHABLE),
    }
    running = Instance(
        name="a", deployment="d", worker="ok", state=InstanceState.RUNNING, created_at=1
    )
    starting = Instance(
        name="b", deployment="d", worker="ok", state=InstanceState.STARTING, created_at=2
    )
    on_dead = Instance(
        name="c", deployment="d", worker="gone", state=InstanceState.RUNNING, created_at=0
    )
    older_pending = Instance(name="d", deployment="d", created_at=1)
    order = removal_order([running, starting, on_dead, older_pending], workers)
    assert [i.name for i in order] == ["c", "b", "d", "a"]


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("strategy", ["spread", "binpack"])
def test_fast_single_gpu_path_agrees_with_scoring_every_candidate(seed: int, strategy) -> None:
    """The single-GPU fast path (no placement objects, hopeless workers skipped) must pick
    exactly what scoring every candidate placement in order would."""
    import random

    from gpustack_tui.scheduler.candidates import single_gpu, single_gpu_placement
    from gpustack_tui.scheduler.scoring import Load, SpreadScorer, binpack

    rng = random.Random(seed)
    cluster = [
        worker(f"w{n}", *[rng.choice([G16, G24, G80]) for _ in range(rng.randint(1, 4))])
        for n in range(8)
    ]
    existing = []
    for _ in range(rng.randint(0, 20)):
        w = rng.choice(cluster)
        gpu = rng.randrange(len(w.gpus))
        existing.append(PlacedInstance(rng.choice(["m", "x", "y"]), w.name, (gpu,), {gpu: GIB}))
    request = Request("m", vram=int(rng.uniform(1, 20) * GIB), placement=strategy)
    result = place(request, cluster, existing)
    fits = single_gpu(request, sorted(cluster, key=lambda w: w.name))
    if not fits:
        assert isinstance(result, NoFit)
        return
    candidates = [single_gpu_placement(w, g, c, 0) for w, g, c in fits]
    if strategy == "binpack":
        by_name = {w.name: w for w in cluster}
        scores = [binpack(p, by_name) for p in candidates]
    else:
        scorer = SpreadScorer(Load.of(existing), "m", {p.leader.worker for p in candidates})
        scores = [scorer.score(p) for p in candidates]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    assert nodes(result) == nodes(candidates[best])
    assert result.score == round(scores[best], 3)


def test_no_workers_tells_how_to_add_one() -> None:
    assert "gpustack-tui workers add" in place(Request("m", vram=GIB), [], []).message


@pytest.mark.parametrize(
    ("labels", "selector", "expected"),
    [
        ({}, {}, True),
        ({"gpu": "a100", "zone": "b"}, {"gpu": "a100"}, True),
        ({"gpu": "a100"}, {"gpu": "h100"}, False),
        ({}, {"gpu": "a100"}, False),
        ({"gpu": "a100"}, {"gpu": "a100", "zone": "b"}, False),
    ],
)
def test_worker_selector(labels, selector, expected) -> None:
    assert labels_match(labels, selector) is expected


def test_selector_text_is_sorted() -> None:
    assert selector_text({"zone": "b", "gpu": "a100"}) == "{gpu=a100, zone=b}"
