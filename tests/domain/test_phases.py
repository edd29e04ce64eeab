"""The phase bookkeeping of `domain/phases.py`: phases of a run, failures, restarts."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.instance import Failure, Instance, InstanceState
from gpustack_tui.domain.phases import LOADING, MAX_FAILURES, MAX_PHASES, begin, move, phase_of

S = InstanceState


def new() -> Instance:
    instance = Instance(name="m-abcde", deployment="m")
    begin(instance, 100.0)
    return instance


def names(instance: Instance) -> list[tuple[str, float, float | None]]:
    return [(p.name, p.started_at, p.ended_at) for p in instance.phases]


def test_a_new_instance_begins_pending() -> None:
    instance = new()
    assert (instance.phase, instance.phase_since) == ("pending", 100.0)
    assert names(instance) == [("pending", 100.0, None)]


def test_a_start_walks_its_phases_and_starting_turns_loading() -> None:
    instance = new()
    move(instance, S.ANALYZING, "reading", 101.0)
    move(instance, S.SCHEDULED, "", 102.0)
    move(instance, S.DOWNLOADING, "downloading 10%", 103.0)
    move(instance, S.DOWNLOADING, "downloading 50%", 110.0)  # progress: the same phase
    move(instance, S.STARTING, "waiting", 120.0)
    move(instance, S.STARTING, "waiting", 121.0, phase=LOADING)
    move(instance, S.STARTING, "waiting", 125.0)  # no phase given: it stays loading
    move(instance, S.RUNNING, "", 200.0)
    assert names(instance) == [
        ("pending", 100.0, 101.0),
        ("analyzing", 101.0, 102.0),
        ("scheduled", 102.0, 103.0),
        ("downloading", 103.0, 120.0),
        ("starting", 120.0, 121.0),
        ("loading", 121.0, 200.0),
        ("running", 200.0, None),
    ]
    assert (instance.state, instance.phase, instance.phase_since) == (S.RUNNING, "running", 200.0)
    assert instance.failures == []


def test_an_error_is_recorded_and_a_restart_begins_a_new_run() -> None:
    instance = new()
    move(instance, S.STARTING, "waiting", 101.0)
    failure = Failure(reason="the process exited with code 3", exit_code=3, log_lines=["boom"])
    move(instance, S.ERROR, "exited; restarting in 10 s", 105.0, failure=failure)
    move(instance, S.ERROR, "exited; restarting in 9 s", 106.0)  # still the same failure
    assert len(instance.failures) == 1
    recorded = instance.failures[0]
    assert (recorded.failed_at, recorded.exit_code, recorded.log_lines) == (105.0, 3, ["boom"])
    assert recorded.restarted_at is None
    move(instance, S.SCHEDULED, "restarting", 115.0)
    assert instance.failures[0].restarted_at == 115.0
    assert names(instance) == [("scheduled", 115.0, None)]


def test_an_error_without_details_keeps_its_message_as_the_reason() -> None:
    instance = new()
    move(instance, S.ERROR, "download failed: disk full", 101.0)
    assert instance.failures[0].reason == "download failed: disk full"
    assert instance.failures[0].exit_code is None


@pytest.mark.parametrize(("count", "kept"), [(1, 1), (MAX_FAILURES + 3, MAX_FAILURES)])
def test_failures_are_bounded_newest_kept(count: int, kept: int) -> None:
    instance = new()
    for n in range(count):
        move(instance, S.STARTING, "", 100.0 + 10 * n)
        move(instance, S.ERROR, f"failure {n}", 101.0 + 10 * n)
        move(instance, S.SCHEDULED, "", 102.0 + 10 * n)
    assert len(instance.failures) == kept
    assert instance.failures[-1].reason == f"failure {count - 1}"


def test_phases_of_a_flapping_run_are_bounded_and_counted() -> None:
    instance = new()
    for n in range(MAX_PHASES * 2):
        state = S.RUNNING if n % 2 else S.STARTING
        move(instance, state, "", 101.0 + n, phase=None if n % 2 else LOADING)
    assert len(instance.phases) == MAX_PHASES
    assert instance.earlier_phases == MAX_PHASES * 2 + 1 - MAX_PHASES
    assert instance.phases[-1].ended_at is None


def test_a_row_from_before_phases_reads_its_state() -> None:
    old = Instance.model_validate({"name": "m-x", "deployment": "m", "state": "starting"})
    assert phase_of(old) == "starting" and old.phase_since == 0.0


def test_a_row_from_before_phases_gets_a_time_only_when_its_phase_changes() -> None:
    old = Instance.model_validate({"name": "m-x", "deployment": "m", "state": "running"})
    move(old, S.RUNNING, "", 500.0)  # a new pid: when it began running is still unknown
    assert (old.phase, old.phase_since, old.phases) == ("", 0.0, [])
    move(old, S.STARTING, "health check failing", 600.0, phase=LOADING)
    assert names(old) == [("loading", 600.0, None)]
    failed = Instance.model_validate({"name": "m-y", "deployment": "m", "state": "error"})
    move(failed, S.SCHEDULED, "restarting", 700.0)
    assert names(failed) == [("scheduled", 700.0, None)]
