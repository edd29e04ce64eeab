"""Auto-restart on error, end to end: a real server, the local worker with the real agent, and
a backend that crashes. The backoff base is shortened through its environment variable so
that a few restarts take seconds; the schedule itself is tested in
tests/server/control/test_lifecycle_rules.py.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from gpustack_tui.domain.instance import Instance, InstanceState
from tests.fixtures.backend import BACKEND_SCRIPT
from tests.fixtures.server import RunningServer, cli
from tests.fixtures.waiting import wait_until
from tests.server.control.conftest import CRASH, CRASH_LINE, deploy, only_instance


def test_a_crashing_backend_is_restarted_with_backoff(
    fast_server: RunningServer, tmp_path: Path
) -> None:
    deploy(fast_server, "crashy", CRASH, tmp_path)
    first_seen: dict[int, float] = {}
    failed: list[Instance] = []
    deadline = time.monotonic() + 60
    while len(first_seen) < 5 and time.monotonic() < deadline:
        instance = only_instance(fast_server, "crashy")
        if instance is not None:
            first_seen.setdefault(instance.restart_count, time.monotonic())
            if instance.state is InstanceState.ERROR and instance.restart_count >= 2:
                failed.append(instance)
        time.sleep(0.05)
    assert sorted(first_seen)[:5] == [0, 1, 2, 3, 4], first_seen
    # Restart n+1 comes 2^(n-1) s after restart n (base 1 s): never sooner.
    assert first_seen[3] - first_seen[2] > 1.5
    assert first_seen[4] - first_seen[3] > 3.0

    assert failed, "never saw the instance in error between restarts"
    message = failed[-1].state_message
    assert "exited with code 3" in message
    assert CRASH_LINE in message and "starting up" in message
    assert "restarting" in message
    assert failed[-1].worker == "local"

    # `ls` shows why, while the instance waits for its next restart (now 8 s).
    listing = wait_until(
        "`ls` showing the error",
        lambda: (out := cli(fast_server, "ls").stdout) and "exited with code 3" in out and out,
        timeout=30,
    )
    assert CRASH_LINE in listing
    # The same workload ran again: the previous run's log is kept beside the new one.
    previous = cli(fast_server, "logs", failed[-1].name, "--previous").stdout
    assert CRASH_LINE in previous


def test_no_restart_when_restart_on_error_is_off(
    fast_server: RunningServer, tmp_path: Path
) -> None:
    deploy(fast_server, "once", CRASH, tmp_path, restart_on_error=False)
    failed = wait_until(
        "the instance in error",
        lambda: (i := only_instance(fast_server, "once")) and i.state is InstanceState.ERROR and i,
        timeout=30,
    )
    assert "exited with code 3" in failed.state_message and CRASH_LINE in failed.state_message
    assert "restarting" not in failed.state_message
    assert f"instances rm {failed.name}" in failed.state_message
    time.sleep(3)  # three passes; a restart would have come after 0 s
    after = only_instance(fast_server, "once")
    assert after is not None and after.state is InstanceState.ERROR
    assert after.restart_count == 0


def test_the_backoff_resets_once_the_instance_runs(
    fast_server: RunningServer, tmp_path: Path
) -> None:
    """Fails twice, then serves: two restarts counted, the backoff back to 0."""
    counter = tmp_path / "attempts"
    script = (
        f"n=$(cat {shlex.quote(str(counter))} 2>/dev/null || echo 0); "
        f"echo $((n+1)) > {shlex.quote(str(counter))}; "
        'if [ "$n" -lt 2 ]; then echo "attempt $n failed"; exit 3; fi; exec "$0" "$@"'
    )
    command = (
        f"sh -c {shlex.quote(script)} {sys.executable} {BACKEND_SCRIPT} "
        "--port {port} --model-name {model_name}"
    )
    deploy(fast_server, "flaky", command, tmp_path)
    running = wait_until(
        "the instance running",
        lambda: (
            (i := only_instance(fast_server, "flaky")) and i.state is InstanceState.RUNNING and i
        ),
        timeout=60,
    )
    assert running.restart_count == 2
    assert running.restart_backoff == 0
    assert counter.read_text().strip() == "3"
