"""First-fit placement: a table of cases."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.instance import Instance
from gpustack_tui.domain.worker import Gpu, Worker, WorkerState
from gpustack_tui.estimate.claim import GIB, ResourceRequest
from gpustack_tui.scheduler.filters import labels_match, selector_text
from gpustack_tui.scheduler.first_fit import NoFit, Placement, first_fit


def worker(name: str, *gib: int, state: WorkerState = WorkerState.READY) -> Worker:
    gpus = [Gpu(index=i, name="g", memory_total=g * GIB) for i, g in enumerate(gib)]
    return Worker(name=name, destination=name, state=state, gpus=gpus)


def placed(worker_name: str, index: int, gib: int, name: str = "x") -> Instance:
    return Instance(
        name=name, deployment="d", worker=worker_name, gpu_indexes=[index], vram_claim=gib * GIB
    )


def request(gib: float, cpu: bool = False) -> ResourceRequest:
    return ResourceRequest(gpu_count=1, vram_per_gpu=int(gib * GIB), allow_cpu=cpu)


@pytest.mark.parametrize(
    ("workers", "instances", "excluded", "req", "expected"),
    [
        ([worker("a", 24)], [], {}, request(10), Placement("a", (0,), 10 * GIB)),
        ([worker("b", 24), worker("a", 24)], [], {}, request(10), Placement("a", (0,), 10 * GIB)),
        (
            [worker("a", 24, 24)],
            [placed("a", 0, 20)],
            {},
            request(10),
            Placement("a", (1,), 10 * GIB),
        ),
        (
            [worker("a", 24), worker("b", 24)],
            [placed("a", 0, 20)],
            {},
            request(10),
            Placement("b", (0,), 10 * GIB),
        ),
        (
            [worker("a", 24), worker("b", 24)],
            [],
            {"a": "model path missing"},
            request(10),
            Placement("b", (0,), 10 * GIB),
        ),
        ([worker("a")], [], {}, request(1, cpu=True), Placement("a", (), 0)),
        ([worker("a", 8)], [], {}, request(10, cpu=True), Placement("a", (), 0)),
    ],
)
def test_places(workers, instances, excluded, req, expected) -> None:
    assert first_fit(req, workers, instances, excluded) == expected


def test_the_instance_being_placed_does_not_count_against_itself() -> None:
    result = first_fit(
        request(20), [worker("a", 24)], [placed("a", 0, 20, name="me")], placing="me"
    )
    assert result == Placement("a", (0,), 20 * GIB)


def test_no_fit_says_why_per_worker() -> None:
    workers = [
        worker("a", 24, 24),
        worker("b"),
        worker("c", 80, state=WorkerState.UNREACHABLE),
        worker("d", 80),
    ]
    result = first_fit(
        request(30), workers, [placed("a", 0, 10)], {"d": "model path /m not found there"}
    )
    assert isinstance(result, NoFit)
    assert result.reasons == (
        "a: 2 GPUs, at most 24.0 GiB unclaimed on one, needs 30.0 GiB",
        "b: no GPUs",
        "c: unreachable",
        "d: model path /m not found there",
    )
    assert result.message.startswith("no worker fits: a: 2 GPUs")


def test_no_workers_tells_how_to_add_one() -> None:
    assert "gpustack-tui workers add" in first_fit(request(1), [], []).message


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
