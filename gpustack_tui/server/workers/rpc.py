"""JSON-lines RPC with a worker's agent (see agent/PROTOCOL.md), usable from threads and asyncio.

One reader thread reads the agent's stdout and hands each answer to the request with the same
id; another keeps the last lines of its stderr for error messages. Any number of threads (and
coroutines, through `acall`) may call at once: writes are serialized, answers matched by id.

When the stream ends or breaks, every pending and later call raises `AgentUnreachable` (with the
agent's exit status and last stderr lines when it died) and the transport is closed; `alive`
turns False, and the owner makes a new connection to recover. A call that times out raises
`AgentUnreachable` too, but leaves the connection open (a late answer is dropped).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import threading
import time
from collections import deque
from typing import Any

from gpustack_tui.server.workers.errors import AgentError, AgentUnreachable
from gpustack_tui.server.workers.transport import AgentTransport, ReadableStream, WritableStream

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
STDERR_LINES_KEPT = 50
STDERR_LINES_SHOWN = 12


class AgentConnection:
    """An open conversation with one agent; opens `transport` if it is not open yet."""

    def __init__(self, transport: AgentTransport) -> None:
        self.transport = transport
        self.label = transport.label
        streams = transport.open()
        self._stdin = streams.stdin
        self._lock = threading.Lock()  # ids, pending, death
        self._write_lock = threading.Lock()
        self._next_id = 1
        self._pending: dict[int, concurrent.futures.Future[Any]] = {}
        self._dead_reason: str | None = None
        self._dead_message = ""
        self._dead_event = threading.Event()
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_LINES_KEPT)
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, args=(streams.stderr,), daemon=True,
            name=f"agent-stderr[{self.label}]",
        )  # fmt: skip
        self._stdout_thread = threading.Thread(
            target=self._read_stdout, args=(streams.stdout,), daemon=True,
            name=f"agent-stdout[{self.label}]",
        )  # fmt: skip
        self._stderr_thread.start()
        self._stdout_thread.start()

    @property
    def alive(self) -> bool:
        """False once the stream ended, broke, or `close()` was called."""
        return self._dead_reason is None

    @property
    def stderr_tail(self) -> list[str]:
        """The last lines the agent wrote to stderr."""
        return list(self._stderr_tail)

    def call(self, method: str, timeout: float = DEFAULT_TIMEOUT, **params: Any) -> Any:
        """Call `method` with keyword `params`; its result, or `AgentError` / `AgentUnreachable`."""
        return self.request(method, params, timeout)

    def request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Any:
        """Like `call`, with the params as a dict (for names that are not identifiers)."""
        request_id, future = self._submit(method, params or {})
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise self._timed_out(request_id, method, timeout) from None

    async def acall(self, method: str, timeout: float = DEFAULT_TIMEOUT, **params: Any) -> Any:
        """`call` for asyncio: awaits the answer without holding a thread."""
        request_id, future = self._submit(method, params)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except asyncio.TimeoutError:
            raise self._timed_out(request_id, method, timeout) from None
        except asyncio.CancelledError:
            self._forget(request_id)  # its answer, if any, will be dropped
            raise

    def close(self) -> None:
        """Fail pending calls, stop the agent and release the transport (idempotent)."""
        self._die("the connection was closed", closed_by_us=True)
        for thread in (self._stdout_thread, self._stderr_thread):
            if thread is not threading.current_thread():
                thread.join(timeout=2)

    def __enter__(self) -> AgentConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _submit(
        self, method: str, params: dict[str, Any]
    ) -> tuple[int, concurrent.futures.Future[Any]]:
        """Register a request and write it; its id and the future its answer settles."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            dead = self._dead_reason is not None
            if not dead:
                request_id = self._next_id
                self._next_id += 1
                line = json.dumps({"id": request_id, "method": method, "params": params})
                self._pending[request_id] = future
        if dead:
            raise AgentUnreachable(self._wait_dead_message())
        try:
            with self._write_lock:
                self._stdin.write(line.encode("utf-8") + b"\n")
                self._stdin.flush()
        except Exception as exc:  # OSError, paramiko's SSHException, ValueError on closed file
            self._die(f"writing to the agent failed: {exc}")
            raise AgentUnreachable(self._wait_dead_message()) from exc
        return request_id, future

    def _forget(self, request_id: int) -> None:
        with self._lock:
            self._pending.pop(request_id, None)

    def _timed_out(self, request_id: int, method: str, timeout: float) -> AgentUnreachable:
        self._forget(request_id)
        if self._dead_reason is not None:
            return AgentUnreachable(self._wait_dead_message())
        return AgentUnreachable(
            f"the agent on {self.label} did not answer {method!r} within {timeout:g} s"
        )

    def _read_stdout(self, stream: ReadableStream) -> None:
        reason = "the agent's output ended"
        try:
            while True:
                line = stream.readline()
                if not line:
                    break
                self._dispatch(line)
        except Exception as exc:  # the stream broke (socket error, closed file...)
            reason = f"reading from the agent failed: {exc}"
        self._die(reason)
        _close_quietly(stream)

    def _read_stderr(self, stream: ReadableStream) -> None:
        try:
            while True:
                line = stream.readline()
                if not line:
                    break
                text = line.decode("utf-8", "replace").rstrip()
                self._stderr_tail.append(text)
                log.debug("agent %s: %s", self.label, text)
        except Exception:  # the stream broke; stdout's reader reports it
            pass
        finally:
            _close_quietly(stream)

    def _dispatch(self, line: bytes) -> None:
        """Settle the future of the request this answer is for."""
        try:
            message = json.loads(line)
            request_id = message["id"]
        except (ValueError, TypeError, KeyError):
            log.warning("agent %s wrote a non-protocol line: %r", self.label, line[:200])
            return
        with self._lock:
            future = self._pending.pop(request_id, None)
        if future is None:
            log.debug("agent %s: answer to unknown or timed-out request %r", self.label, request_id)
            return
        error = message.get("error")
        if error is not None:
            if not isinstance(error, dict):
                error = {"code": "internal", "message": str(error)}
            code = str(error.get("code") or "internal")
            text = str(error.get("message") or code)
            _settle(future, exception=AgentError(code, text))
        else:
            _settle(future, result=message.get("result"))

    def _die(self, reason: str, closed_by_us: bool = False) -> None:
        """Mark the connection dead (once), fail pending calls, release the transport."""
        with self._lock:
            if self._dead_reason is not None:
                return
            self._dead_reason = reason
            pending = list(self._pending.values())
            self._pending.clear()
        try:
            if closed_by_us:
                self._dead_message = f"the connection to the agent on {self.label} was closed"
            else:
                self._dead_message = self._describe_death(reason)
                log.warning("%s", self._dead_message)
        finally:
            self._dead_event.set()
        for future in pending:
            _settle(future, exception=AgentUnreachable(self._dead_message))
        # Closed here, not left to the garbage collector: paramiko's file objects complain
        # (noisily, on stderr) when finalized after their channel is gone.
        _close_quietly(self._stdin)
        try:
            self.transport.close()
        except Exception:  # best effort: the connection is already gone
            log.debug("closing the transport of %s failed", self.label, exc_info=True)

    def _describe_death(self, reason: str) -> str:
        """What happened, with the exit status and the agent's last stderr lines."""
        if self._stderr_thread is not threading.current_thread():
            self._stderr_thread.join(timeout=1.0)  # let it read the agent's last words
        status = self.transport.exit_status()
        deadline = time.monotonic() + 0.5
        while status is None and time.monotonic() < deadline:
            time.sleep(0.02)
            status = self.transport.exit_status()
        text = f"lost the agent on {self.label}: {self.transport.failure() or reason}"
        if status is not None:
            text += f" (exit status {status})"
        tail = list(self._stderr_tail)[-STDERR_LINES_SHOWN:]
        if tail:
            text += "; its last stderr lines:\n" + "\n".join(tail)
        return text

    def _wait_dead_message(self) -> str:
        self._dead_event.wait(timeout=5)
        return self._dead_message or f"the agent on {self.label} is gone ({self._dead_reason})"


def _settle(
    future: concurrent.futures.Future[Any],
    result: Any = None,
    exception: BaseException | None = None,
) -> None:
    """Set a future's outcome unless it was cancelled meanwhile (an asyncio caller timed out)."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass


def _close_quietly(stream: ReadableStream | WritableStream) -> None:
    """Close a stream this module finished reading, ignoring errors."""
    with contextlib.suppress(Exception):  # already closed, or the connection is gone
        stream.close()
