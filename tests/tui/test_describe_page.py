"""The describe page's phases and failures (tui/describe_page.py), shown by the TUI's `d` and
`gpustack-tui describe`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gpustack_tui.domain.instance import Failure, Instance, InstanceState, Phase
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.describe_page import describe_text, failure_text, phases_block
from tests.tui.samples import spec

T0 = 1_795_185_000.0  # 2026-11-20 14:30:00 UTC


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def loading(**fields: object) -> Instance:
    phases = [
        Phase(name="scheduled", started_at=T0, ended_at=T0 + 1),
        Phase(name="starting", started_at=T0 + 1, ended_at=T0 + 3),
        Phase(name="loading", started_at=T0 + 3),
    ]
    return Instance(
        name="m-a",
        deployment="m",
        state=InstanceState.STARTING,
        phase="loading",
        phase_since=T0 + 3,
        phases=phases,
        **fields,  # type: ignore[arg-type]
    )


def test_phases_show_start_times_and_durations_the_current_one_so_far() -> None:
    lines = phases_block(loading(), now=T0 + 137).plain.splitlines()
    assert lines[1].split() == [
        "phases:",
        "the",
        "current",
        "run,",
        "as",
        "of",
        "2026-11-20",
        "14:32:17",
    ]
    assert lines[2].split() == ["scheduled", "2026-11-20", "14:30:00", "1s"]
    assert lines[3].split() == ["starting", "2026-11-20", "14:30:01", "2s"]
    assert lines[4].split() == ["loading", "2026-11-20", "14:30:03", "2m14s", "so", "far"]


def test_phases_say_how_many_earlier_ones_were_not_kept() -> None:
    assert "(3 earlier phases not kept)" in phases_block(loading(earlier_phases=3), T0).plain


def test_a_row_without_phases_shows_none() -> None:
    assert phases_block(Instance(name="m-a", deployment="m"), T0).plain == ""


@pytest.mark.parametrize(
    ("failure", "first", "lines"),
    [
        (
            Failure(
                failed_at=T0,
                reason="the process exited with code 3",
                exit_code=3,
                log_lines=["starting up", "\x1b[31mERROR\x1b[0m boom\x07"],
                restarted_at=T0 + 60,
            ),
            "2026-11-20 14:30:00  the process exited with code 3; restarted 2026-11-20 14:31:00",
            ["│ starting up", "│ ERROR boom"],
        ),
        (
            Failure(failed_at=T0, reason="its rank 1 on w2 is gone", exit_code=None),
            "2026-11-20 14:30:00  its rank 1 on w2 is gone; not restarted",
            ["│ (no log lines were read)"],
        ),
        (
            Failure(failed_at=T0, reason="its rank 1 on w2 exited", exit_code=137),
            "2026-11-20 14:30:00  its rank 1 on w2 exited (exit code 137); not restarted",
            ["│ (no log lines were read)"],
        ),
    ],
)
def test_a_failure_shows_when_why_its_restart_and_safe_log_lines(
    failure: Failure, first: str, lines: list[str]
) -> None:
    text = failure_text(failure).plain
    assert "\x1b" not in text and "\x07" not in text
    shown = [line.strip() for line in text.splitlines() if line.strip()]
    assert shown == [first, *lines]


def test_the_page_lists_failures_newest_first_after_the_phases() -> None:
    failures = [
        Failure(failed_at=T0 - 600, reason="crash one", restarted_at=T0 - 590),
        Failure(failed_at=T0 - 300, reason="crash two", restarted_at=T0),
    ]
    view = DeploymentView(spec=spec("m"), instances=[loading(failures=failures)])
    page = describe_text(view, now=T0 + 137).plain
    assert "m-a  ◐ loading 2m14s" in page
    assert page.index("phases:") < page.index("failures:") < page.index("crash two")
    assert page.index("crash two") < page.index("crash one")
    assert "the last 2, newest first" in page
