"""Phases and failures recorded by a real server: the local worker with the real agent, the
OpenAI test backend as a custom command (held back a few seconds, so that it loads), and a
backend that crashes and is restarted. The bookkeeping's rules are in tests/domain/test_phases.py.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from gpustack_tui.domain.instance import InstanceState
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.server import RunningServer, cli
from tests.fixtures.waiting import wait_until
from tests.server.control.conftest import CRASH, CRASH_LINE, deploy, only_instance


def test_a_start_records_its_phases_with_loading_before_running(
    fast_server: RunningServer, tmp_path: Path
) -> None:
    # The workload runs (sh sleeps) for 3 s before the backend answers its health check.
    command = f"sh -c {shlex.quote('sleep 3; exec ' + BACKEND_TEMPLATE)}"
    deploy(fast_server, "slow", command, tmp_path)
    running = wait_until(
        "the instance running",
        lambda: (
            (i := only_instance(fast_server, "slow")) and i.state is InstanceState.RUNNING and i
        ),
        timeout=60,
    )
    names = [p.name for p in running.phases]
    assert names[0] == "pending" and names[-3:] == ["starting", "loading", "running"], names
    assert "scheduled" in names
    assert (running.phase, running.phase_since) == ("running", running.phases[-1].started_at)
    for before, after in zip(running.phases, running.phases[1:], strict=False):
        assert before.ended_at == after.started_at
    loading = running.phases[-2]
    assert loading.ended_at is not None and loading.ended_at - loading.started_at > 1.5
    assert running.phases[-1].ended_at is None
    assert running.failures == []
    # `ls` shows the phase with its time; `describe` the run's phases.
    listing = cli(fast_server, "ls").stdout
    assert any(line.split()[1:2] == ["running"] for line in listing.splitlines()), listing
    page = cli(fast_server, "describe", "slow").stdout
    assert "phases:" in page and "failures:" not in page
    described = [line.split()[0] for line in page.splitlines() if line.startswith("    ")]
    assert described[-3:] == ["starting", "loading", "running"], page


def test_a_crash_and_restart_keep_each_failure_with_its_exit_code_and_lines(
    fast_server: RunningServer, tmp_path: Path
) -> None:
    deploy(fast_server, "crashy", CRASH, tmp_path)
    restarted = wait_until(
        "two failures, the first restarted",
        lambda: (
            (i := only_instance(fast_server, "crashy"))
            and len(i.failures) >= 2
            and i.failures[0].restarted_at is not None
            and i
        ),
        timeout=60,
    )
    for failure in restarted.failures:
        assert failure.exit_code == 3
        assert failure.reason == "the process exited with code 3"
        assert failure.log_lines[-2:] == ["starting up", CRASH_LINE]
    first, second = restarted.failures[:2]
    assert first.restarted_at is not None and first.failed_at <= first.restarted_at
    assert first.restarted_at <= second.failed_at
    # The current run began at the last restart: its first phase is `scheduled`.
    assert restarted.phases[0].name == "scheduled"
    assert restarted.restart_count >= 1
    # `describe` shows each kept failure with its exit and last lines, the newest first.
    page = cli(fast_server, "describe", "crashy").stdout
    failures = page[page.index("failures:") :]
    assert failures.count("the process exited with code 3") >= 2
    assert failures.count(f"│ {CRASH_LINE}") >= 2 and "restarted 20" in failures
