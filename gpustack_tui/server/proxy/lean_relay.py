"""One lean request's trip to an instance and back, driven by callbacks (no task per request).

`Attempt` sends the request on an idle pooled connection at once, or opens one in a small task;
an instance that refuses the connection is skipped for the next (one retry), a pooled
connection that the instance had closed is replaced once. `Attempt` is also the answer's sink:
what one read from the instance brings (head, body pieces, the end) leaves for the client in one
write; usage is counted before the last write so the client never sees an answer before it is
counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.forwarder import CAPTURE_JSON_LIMIT, CAPTURE_SSE_TAIL
from gpustack_tui.server.proxy.headers import RESPONSE_DROPPED, downstream_response_headers
from gpustack_tui.server.proxy.lean_asgi import status_line, stock_headers
from gpustack_tui.server.proxy.lean_state import CLOSED
from gpustack_tui.server.proxy.lean_upstream import RawHeaders, UpstreamConnection, UpstreamPool
from gpustack_tui.server.proxy.usage import tokens_from_body

if TYPE_CHECKING:
    from gpustack_tui.server.proxy.lean_request import Incoming
    from gpustack_tui.server.proxy.lean_server import ClientConnection
    from gpustack_tui.server.proxy.rules import Admission

logger = logging.getLogger(__name__)

Address = tuple[str, int, bytes, bytes]
"""host, port, b"host:port" (for Host and messages), path prefix of the instance's base URL."""
_NOTED = RESPONSE_DROPPED | {b"content-length", b"content-type"}
Failed = Callable[["ClientConnection", "Incoming", errors.ProxyError], None]
"""Writes the error when no instance answered."""


class Attempt:
    """Forwards one request to the first of its instances that takes it, and relays the answer.

    `message` is (method + " ", target + " HTTP/1.1\\r\\nhost: ", header lines ending in a blank
    line, body): the instance's host:port and path prefix go in between.
    """

    def __init__(
        self,
        conn: ClientConnection,
        request: Incoming,
        admission: Admission,
        *,
        addresses: list[Address],
        message: tuple[bytes, bytes, bytes, bytes],
        pool: UpstreamPool,
        failed: Failed,
    ) -> None:
        self.conn = conn
        self.request = request
        self.admission = admission
        self.deployment = admission.deployment
        self._addresses = addresses
        self._message = message
        self._pool = pool
        self._failed = failed
        self.capture = admission.usage is not None
        self._out: list[bytes] = []

    # What most requests never change, as class defaults: fewer writes per request.
    _index = 0
    _refused: tuple[str, ...] = ()
    _timeouts = 0
    _fresh = False
    _upstream: UpstreamConnection | None = None
    _headed = False
    _counted = False
    _chunked = False
    _first: bytes | None = None
    _captured: bytearray | None = None
    status = 0
    sse = False

    # -- sending -----------------------------------------------------------------------------

    def start(self) -> None:
        """Send to the current instance: on an idle connection now, else once one is open."""
        if self.conn.state is CLOSED:
            self.conn.finish(self.request)
            return
        if self._index >= len(self._addresses):
            self._give_up()
            return
        host, port, _, _ = self._addresses[self._index]
        idle = None if self._fresh else self._pool.idle(host, port)
        if idle is not None:
            self._send(idle)
        else:
            self.conn.service.track(asyncio.ensure_future(self._open(host, port)))

    async def _open(self, host: str, port: int) -> None:
        try:
            upstream = await self._pool.open(host, port)
        except (OSError, asyncio.TimeoutError) as exc:
            where = self._where()
            logger.warning("deployment %r: cannot connect to %s", self.deployment, where)
            self._refused = (*self._refused, where)
            self._timeouts += isinstance(exc, asyncio.TimeoutError)
            self._index += 1
            self._fresh = False
            self.start()
            return
        self._send(upstream)

    def _send(self, upstream: UpstreamConnection) -> None:
        if self.conn.state is CLOSED:
            self._pool.release(upstream)
            self.conn.finish(self.request)
            return
        self._upstream = upstream
        self.conn.upstream = upstream
        if self.conn.paused:
            upstream.pause()
        method, target, headers, body = self._message
        _, _, where, prefix = self._addresses[self._index]
        head = method + prefix + target + where + b"\r\n" + headers
        upstream.send([head, body] if body else [head], self)

    def _where(self) -> str:
        return self._addresses[self._index][2].decode()

    def _give_up(self) -> None:
        refused = ", ".join(self._refused)
        if self._timeouts == len(self._refused):
            self._fail(errors.upstream_timeout(self.deployment, refused))
            return
        count = len(self._refused)
        noun = "its instance" if count == 1 else f"any of its {count} instances"
        self._fail(errors.upstream_error(self.deployment, refused, f"cannot connect to {noun}"))

    # -- the answer (lean_upstream.Sink) -----------------------------------------------------

    def head(self, status: int, headers: RawHeaders, framed: bool) -> None:
        """The instance's status and headers: the client's, less hop-by-hop."""
        self._headed = True
        self.status = status
        head = self._head_lines(headers)
        if head is None:  # rare: a Connection header, which may name more hop-by-hop headers
            head = self._head_lines(downstream_response_headers(headers, lowered=True))
            assert head is not None  # that list holds no Connection header any more
        self._end_head(*head)

    def _head_lines(self, headers: RawHeaders) -> tuple[list[bytes], bool] | None:
        """The head's lines and whether it has a length; None at a Connection header."""
        lines = [status_line(self.status), stock_headers()]
        length = False
        for name, value in headers:
            if name in _NOTED:
                if name in RESPONSE_DROPPED:
                    if name == b"connection":
                        return None
                    continue
                if name == b"content-length":
                    length = True
                else:  # content-type
                    self.sse = value.startswith(b"text/event-stream")
                    self.capture = self.capture and (
                        self.sse or value.startswith(b"application/json")
                    )
            lines.append(name + b": " + value + b"\r\n")
        return lines, length

    def _end_head(self, lines: list[bytes], length: bool) -> None:
        if not length and self.status not in (204, 304):
            self._chunked = True
            lines.append(b"transfer-encoding: chunked\r\n")
        if not self.request.keep_alive:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        self._out.append(b"".join(lines))

    def body(self, data: bytes) -> None:
        """A piece of the body, passed on (chunk-framed when the answer has no length)."""
        if self.capture:
            captured = self._captured
            if captured is None and self._first is None:
                self._first = data  # most answers come in one piece: keep it without a copy
            else:
                if captured is None:
                    captured = self._captured = bytearray(self._first or b"")
                    self._first = None
                captured += data
                if self.sse and len(captured) > 2 * CAPTURE_SSE_TAIL:
                    del captured[:-CAPTURE_SSE_TAIL]
                elif not self.sse and len(captured) > CAPTURE_JSON_LIMIT:
                    self.capture = False
                    captured.clear()
        if self._chunked:
            self._out += (b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self._out.append(data)

    def end(self) -> None:
        """The answer is whole: count it, send the rest, free the connection."""
        self._count(self.status)
        if self._chunked:
            self._out.append(b"0\r\n\r\n")
        self.flush()
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            self._pool.release(upstream)
        self.conn.finish(self.request)

    def broke(self, reason: str, before_any_byte: bool) -> None:
        """The connection failed, timed out, or was abandoned before the answer was whole."""
        upstream, self._upstream = self._upstream, None
        self.conn.upstream = None
        if upstream is not None:
            upstream.abandon()
        if self._headed:  # half an answer: the client must see it broke off
            logger.warning("deployment %r: the answer from %s broke off", self.deployment, reason)
            self._count(self.status)
            self.flush()
            self.conn.finish(self.request, close=True)
            return
        if reason == "abandoned" or self.conn.state is CLOSED:
            self.conn.finish(self.request)
        elif (
            reason == "lost" and upstream is not None and upstream.exchanges > 1 and not self._fresh
        ):
            self._fresh = True  # the instance closed an idle connection as we reused it
            self.start()
        elif reason == "timeout":
            self._fail(errors.upstream_timeout(self.deployment, self._where()))
        elif reason == "invalid":
            what = "its instance answered with invalid HTTP"
            self._fail(errors.upstream_error(self.deployment, self._where(), what))
        else:
            what = "the connection to its instance failed"
            self._fail(errors.upstream_error(self.deployment, self._where(), what))

    def _count(self, status: int) -> None:
        if self._counted or self.admission.usage is None:
            return
        self._counted = True
        captured = b""
        if self.capture:
            captured = self._first or bytes(self._captured or b"")
        tokens = tokens_from_body(captured, streamed=self.sse) if captured else None
        self.admission.record(status, tokens)

    def _fail(self, exc: errors.ProxyError) -> None:
        self._count(exc.status_code)
        self._failed(self.conn, self.request, exc)

    def flush(self) -> None:
        """Write what the last read from the instance brought, in one piece."""
        out = self._out
        if not out:
            return
        self._out = []
        transport = self.conn.transport
        if self.conn.state is not CLOSED and transport is not None:
            transport.write(out[0] if len(out) == 1 else b"".join(out))
