"""The lifecycle rules with a fake clock: restart backoff, error messages, lost workers."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.server.control.lifecycle import (
    BACKOFF_BASE_ENV,
    RESCHEDULE_ENV,
    LifecyclePolicy,
    error_message,
    log_excerpt,
    restart_delay,
    restart_fields,
    restart_wait,
    workers_to_evacuate,
)

POLICY = LifecyclePolicy()
INF = float("inf")


@pytest.mark.parametrize(
    ("backoff", "delay"),
    [(0, 0), (1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 300), (7, 300), (500, 300)],
)
def test_backoff_schedule(backoff: int, delay: float) -> None:
    assert restart_delay(backoff, POLICY) == delay


def failed(backoff: int, last_restart_at: float, **update: object) -> Instance:
    fields: dict = {"state": InstanceState.ERROR, **update}
    return Instance(
        name="m-abcde",
        deployment="m",
        restart_backoff=backoff,
        last_restart_at=last_restart_at,
        **fields,
    )


@pytest.mark.parametrize(
    ("instance", "enabled", "now", "wait"),
    [
        (failed(0, 0.0), True, 1000.0, 0.0),  # the first restart comes at once
        (failed(1, 1000.0), True, 1000.0, 10.0),  # counted from the last restart
        (failed(1, 1000.0), True, 1004.0, 6.0),
        (failed(1, 1000.0), True, 1010.0, 0.0),
        (failed(3, 1000.0), True, 1039.5, 0.5),
        (failed(9, 1000.0), True, 1299.0, 1.0),  # capped at 5 minutes
        (failed(9, 1000.0), True, 5000.0, 0.0),  # long overdue: now
        (failed(0, 0.0), False, 1000.0, INF),  # auto-restart off
        (failed(0, 0.0, state=InstanceState.RUNNING), True, 1000.0, INF),
        (failed(0, 0.0, state=InstanceState.UNREACHABLE), True, 1000.0, INF),
    ],
)
def test_restart_wait(instance: Instance, enabled: bool, now: float, wait: float) -> None:
    assert restart_wait(instance, enabled, now, POLICY) == wait


def test_repeated_crashes_follow_the_schedule_and_running_resets_it() -> None:
    """Crash right after each restart: the restarts come 0, 10, 20, ... 300, 300 s apart."""
    clock = 5000.0
    instance = failed(0, 0.0)
    gaps = []
    last = clock
    for _ in range(9):
        while restart_wait(instance, True, clock, POLICY) > 0:
            clock += 0.5
        gaps.append(clock - last)
        last = clock
        instance = instance.model_copy(update=restart_fields(instance, clock))
    assert gaps == [0, 10, 20, 40, 80, 160, 300, 300, 300]
    assert instance.restart_count == 9

    running = instance.model_copy(update={"restart_backoff": 0})  # it reached running
    clock += 3600
    assert restart_wait(running, True, clock, POLICY) == 0
    again = running.model_copy(update=restart_fields(running, clock))
    assert restart_wait(again, True, clock + 9.9, POLICY) == pytest.approx(0.1)
    assert again.restart_count == 10  # the count never resets


def test_policy_from_env() -> None:
    policy = LifecyclePolicy.from_env({BACKOFF_BASE_ENV: "0.5", RESCHEDULE_ENV: "3"})
    assert (policy.backoff_base, policy.backoff_cap, policy.reschedule_after) == (0.5, 300, 3)
    assert restart_delay(3, policy) == 2.0
    assert LifecyclePolicy.from_env({}) == POLICY


@pytest.mark.parametrize("bad", ["soon", "-1", "nan", "inf"])
def test_a_bad_env_value_falls_back_to_the_default(
    bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert LifecyclePolicy.from_env({RESCHEDULE_ENV: bad}).reschedule_after == 300
    assert RESCHEDULE_ENV in caplog.text


@pytest.mark.parametrize(
    ("log", "excerpt"),
    [
        ("", ""),
        ("one\ntwo\n", "one | two"),
        ("1\n2\n3\n4\n5\n6\n7", "3 | 4 | 5 | 6 | 7"),
        ("a\n\n   \nb\r\n", "a | b"),
        ("\x1b[31mred\x1b[0m\x1b]52;c;ZXZpbA==\x07 text\tx\n", "red text x"),
        ("x" * 500, "x" * 159 + "…"),
    ],
)
def test_log_excerpt(log: str, excerpt: str) -> None:
    assert log_excerpt(log) == excerpt


@pytest.mark.parametrize(
    ("tail", "wait", "message"),
    [
        ("", INF, "the process exited with code 3"),
        ("boom\n", 0.0, "the process exited with code 3; last log lines: boom; restarting now"),
        (
            "a\nb\n",
            19.6,
            "the process exited with code 3; last log lines: a | b; restarting in 20 s",
        ),
    ],
)
def test_error_message(tail: str, wait: float, message: str) -> None:
    assert error_message("the process exited with code 3", tail, wait) == message


def test_error_message_is_bounded() -> None:
    message = error_message("exited", "\n".join("y" * 400 for _ in range(5)), 10.0)
    assert len(message) <= 1000 and "\n" not in message


def worker(name: str, state: WorkerState, last_seen: float) -> Worker:
    return Worker(name=name, destination=name, state=state, last_seen=last_seen)


@pytest.mark.parametrize(
    ("workers", "now", "lost"),
    [
        # away 301 s while another is ready: moved
        (
            [worker("a", WorkerState.UNREACHABLE, 1000), worker("b", WorkerState.READY, 1300)],
            1301,
            {"a"},
        ),
        # away exactly 300 s: not yet
        (
            [worker("a", WorkerState.UNREACHABLE, 1000), worker("b", WorkerState.READY, 1300)],
            1300,
            set(),
        ),
        # nobody else is ready: left to be re-adopted
        (
            [worker("a", WorkerState.UNREACHABLE, 1000), worker("b", WorkerState.CONNECTING, 0)],
            5000,
            set(),
        ),
        # ready workers are never lost, whatever last_seen says
        ([worker("a", WorkerState.READY, 1000), worker("b", WorkerState.READY, 1000)], 5000, set()),
        # never seen: nothing to measure from
        ([worker("a", WorkerState.UNREACHABLE, 0), worker("b", WorkerState.READY, 1)], 5000, set()),
    ],
)
def test_workers_to_evacuate(workers: list[Worker], now: float, lost: set[str]) -> None:
    assert workers_to_evacuate(workers, now, POLICY) == lost
