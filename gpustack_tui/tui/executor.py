"""A default executor whose threads never hold up quitting.

Textual runs `@work(thread=True)` workers on the event loop's default executor. The standard
`ThreadPoolExecutor` joins its threads when the loop closes and again at interpreter exit, so a
worker blocked on a quiet log stream (or a server that accepts but never answers) would make `q`
hang. Quitting must just exit: the server and the instances keep running on their own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class DaemonThreadExecutor(ThreadPoolExecutor):
    """Runs each submitted call on its own daemon thread; `shutdown` never waits."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Start `fn(*args, **kwargs)` on a fresh daemon thread and return its future."""
        future: Future = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to whoever awaits the future
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="gpustack-tui-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Do not wait: daemon threads end with the process."""


def install_daemon_executor(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Make `loop` (default: the running loop) run thread workers on daemon threads."""
    (loop or asyncio.get_running_loop()).set_default_executor(DaemonThreadExecutor())
