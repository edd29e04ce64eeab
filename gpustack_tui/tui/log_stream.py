"""Reading an instance's log stream in a thread, and the messages the log screen gets.

`follow_stream` runs in a thread worker: it feeds the chunks through a LineAssembler into
PendingLines and says how the stream is doing with StreamState messages. A lost server is
retried every few seconds from where the lines stopped; an instance not placed yet is waited
for; any other refusal ends the stream with the server's words.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import Worker, get_current_worker

from gpustack_tui.client import ApiError, Client, ServerUnavailable
from gpustack_tui.tui.log_buffer import LineAssembler, PendingLines
from gpustack_tui.tui.messages import as_api_error

if TYPE_CHECKING:
    from gpustack_tui.tui.screens.base import ClientScreen

INITIAL_TAIL = 1000
"""Lines of the log shown when the stream opens (the whole log: `s` saves it)."""
RECONNECT_SECONDS = 2.0
WAIT_CODES = ("not_placed",)
"""Errors that pass by themselves (a pending instance gets a worker): keep trying."""
RECONNECT_NOTE = "── reconnecting: lines written meanwhile may be missing ──"


class StreamState(Message):
    """The log stream connected, ended, or failed (`retrying` when it will reconnect)."""

    def __init__(self, event: str, error: ApiError | None = None, retrying: bool = False) -> None:
        super().__init__()
        self.event = event
        self.error = error
        self.retrying = retrying


class PreviousLoaded(Message):
    """The previous run's log arrived (`lines`), or could not be read (`error`)."""

    def __init__(self, lines: list[str], error: ApiError | None = None) -> None:
        super().__init__()
        self.lines = lines
        self.error = error


class LogSaved(Message):
    """A save finished: the file's path, or what went wrong."""

    def __init__(self, path: Path | None, error: str = "") -> None:
        super().__init__()
        self.path = path
        self.error = error


def follow_stream(
    client: Client,
    instance: str,
    pending: PendingLines,
    post: Callable[[Message], object],
    worker: Worker[Any],
    on_open: Callable[[Callable[[], None]], object] | None = None,
) -> None:
    """Follow the instance's log into `pending` until the worker is cancelled or the stream
    ends for good (runs in a thread). `on_open` gets, for each connection, a function that
    ends it from any thread: cancelling alone waits for the log's next line."""
    tail: int | None = INITIAL_TAIL
    while not _cancelled(worker):
        assembler = LineAssembler()
        try:
            post(StreamState("connected"))
            for chunk in client.follow_logs(instance, tail=tail, on_open=on_open):
                if _cancelled(worker):
                    return
                pending.put(assembler.feed(chunk))
            pending.put(assembler.flush())
            post(StreamState("ended"))
            return
        except ServerUnavailable as exc:
            if _cancelled(worker):
                return  # ended on purpose (the screen left or reconnects)
            pending.put(assembler.flush())
            post(StreamState("lost", exc, retrying=True))
        except ApiError as exc:
            if exc.code not in WAIT_CODES:
                post(StreamState("failed", exc))
                return
            post(StreamState("waiting", exc, retrying=True))
            tail = INITIAL_TAIL
            _sleep(worker, RECONNECT_SECONDS)
            continue
        except Exception as exc:
            post(StreamState("failed", as_api_error(exc)))
            return
        tail = 0
        _sleep(worker, RECONNECT_SECONDS)
        if _cancelled(worker):
            return
        pending.put([RECONNECT_NOTE])


class LiveStream:
    """The live log of `instance` read into `pending` by a thread worker of `node` (a screen
    with a `client`), started and stopped by the screen."""

    def __init__(self, node: ClientScreen, instance: str, pending: PendingLines) -> None:
        self._node = node
        self._instance = instance
        self._pending = pending
        self._abort: Callable[[], None] | None = None
        self.threads: set[int] = set()
        """The threads reading the stream now (once stopped, none may linger)."""

    def start(self) -> None:
        """Read the stream (a stream already read is stopped first)."""
        self._node.run_worker(
            self._run, thread=True, exclusive=True, exit_on_error=False, group="logs"
        )

    def stop(self) -> None:
        """End the stream now, even when its log is quiet (its thread then ends too)."""
        self._node.workers.cancel_group(self._node, "logs")
        abort, self._abort = self._abort, None
        if abort is not None:
            abort()

    def _run(self) -> None:
        thread = threading.get_ident()
        self.threads.add(thread)
        try:
            follow_stream(
                self._node.client,
                self._instance,
                self._pending,
                self._node.post_message,
                get_current_worker(),
                on_open=self._opened,
            )
        finally:
            self.threads.discard(thread)

    def _opened(self, abort: Callable[[], None]) -> None:
        self._abort = abort


def _cancelled(worker: Worker[Any]) -> bool:
    """Whether `worker` was cancelled. A call, not the attribute, so that the type checker does
    not take an earlier check of it as still true: the event loop cancels it meanwhile."""
    return worker.is_cancelled


def _sleep(worker: Worker[Any], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not _cancelled(worker):
        time.sleep(0.1)
