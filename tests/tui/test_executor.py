"""Thread workers run on daemon threads, so a blocked one never holds up quitting."""

from __future__ import annotations

import threading
import time

import pytest

from gpustack_tui.tui.executor import DaemonThreadExecutor


def test_calls_run_on_daemon_threads_and_shutdown_does_not_wait():
    executor = DaemonThreadExecutor()
    release = threading.Event()
    blocked = executor.submit(release.wait)
    assert executor.submit(lambda: threading.current_thread().daemon).result(timeout=5) is True
    started = time.monotonic()
    executor.shutdown(wait=True)
    assert time.monotonic() - started < 1
    assert not blocked.done()
    release.set()
    assert blocked.result(timeout=5) is True


def test_exceptions_reach_the_future():
    executor = DaemonThreadExecutor()
    future = executor.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result(timeout=5)
