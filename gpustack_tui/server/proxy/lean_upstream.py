"""Keep-alive connections to instances for the lean listener: HTTP/1.1 written by hand, answers
parsed by httptools, bodies handed on as they arrive.

Why not aiohttp here: the whole lean path must cost well under 100 us of CPU per request
(benchmarks/bench_proxy.py), and aiohttp's client alone cost more than that. A connection is a
plain asyncio Protocol; its answer goes to a `Sink` callback by callback, with no task, queue or
copy in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

import httptools

logger = logging.getLogger(__name__)

RawHeaders = list[tuple[bytes, bytes]]
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})
MAX_IDLE_PER_UPSTREAM = 256
"""Idle connections kept per instance; more are closed when released."""


class Sink(Protocol):
    """Receives one answer from an instance, piece by piece."""

    def head(self, status: int, headers: RawHeaders, framed: bool) -> None:
        """Status and headers; `framed`: the instance gave a Content-Length or chunks."""
        ...

    def body(self, data: bytes) -> None:
        """A piece of the body, as it arrived."""
        ...

    def end(self) -> None:
        """The answer is complete."""
        ...

    def flush(self) -> None:
        """The pieces of one read were all handed over: pass them on."""
        ...

    def broke(self, reason: str, before_any_byte: bool) -> None:
        """The connection failed or timed out before the answer was complete."""
        ...


class UpstreamConnection(asyncio.Protocol):
    """One connection to an instance; carries one exchange at a time."""

    def __init__(self, pool: UpstreamPool, key: tuple[str, int]) -> None:
        self._pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._sink: Sink | None = None
        self._headers: RawHeaders = []
        self._framed = False
        self._got_bytes = False
        self._complete = False
        self._timer: asyncio.TimerHandle | None = None
        self.lost = False
        self.exchanges = 0

    # -- the exchange ------------------------------------------------------------------------

    def send(self, request: list[bytes], sink: Sink) -> None:
        """Write a request (head and body pieces) and hand its answer to `sink`."""
        self._sink = sink
        self._headers = []
        self._framed = self._got_bytes = self._complete = self._headers_done = False
        self.exchanges += 1
        assert self.transport is not None
        self.transport.write(request[0] if len(request) == 1 else b"".join(request))
        if self._pool.read_timeout is not None:
            self._arm()

    @property
    def reusable(self) -> bool:
        """Whether the last answer ended cleanly on a connection the instance keeps open."""
        return self._complete and not self.lost and self._parser.should_keep_alive()

    def abandon(self) -> None:
        """Stop the exchange now (the client left): close, so the instance stops generating."""
        sink, self._sink = self._sink, None
        self._disarm()
        if self.transport is not None:
            self.transport.close()
        if sink is not None:
            sink.broke("abandoned", not self._got_bytes)

    def pause(self) -> None:
        """Stop reading from the instance (the client is not keeping up)."""
        if self.transport is not None and not self.lost:
            self.transport.pause_reading()

    def resume(self) -> None:
        """Read from the instance again."""
        if self.transport is not None and not self.lost:
            self.transport.resume_reading()

    def _arm(self) -> None:
        timeout = self._pool.read_timeout
        if timeout is not None:
            self._timer = asyncio.get_running_loop().call_later(timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        sink, self._sink = self._sink, None
        if self.transport is not None:
            self.transport.close()
        if sink is not None:
            sink.broke("timeout", not self._got_bytes)

    # -- asyncio -----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        if self._timer is not None:
            self._disarm()
            self._arm()
        sink = self._sink
        try:
            self._parser.feed_data(data)
            if sink is not None:
                sink.flush()  # what this read brought leaves in one write
        except httptools.HttpParserError as exc:
            if isinstance(exc, httptools.HttpParserCallbackError):
                logger.error("relaying an answer failed", exc_info=exc.__context__)
            sink, self._sink = self._sink, None
            self._disarm()
            if self.transport is not None:
                self.transport.close()
            if sink is not None:
                sink.broke("invalid", False)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._disarm()
        self._pool.forget(self)
        sink, self._sink = self._sink, None
        if sink is None or self._complete:
            return
        if self._headers_done and not self._framed and exc is None:
            sink.end()  # a body delimited by the connection's end
        else:
            sink.broke("lost", not self._got_bytes)

    # -- httptools ---------------------------------------------------------------------------

    _headers_done = False
    _status = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in _FRAMING:
            self._framed = True
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._status = status = self._parser.get_status_code()
        if status < 200:
            self._framed = False
            return  # 100 Continue and friends: the real answer follows
        self._framed = self._framed or status in (204, 304)
        if self._sink is not None:
            self._sink.head(status, self._headers, self._framed)

    def on_body(self, body: bytes) -> None:
        if self._sink is not None:
            self._sink.body(body)

    def on_message_complete(self) -> None:
        if not self._headers_done or self._status < 200:
            self._headers = []  # 100 Continue and friends: the real answer follows
            self._headers_done = False
            return
        self._complete = True
        self._disarm()
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.end()


class UpstreamPool:
    """Idle keep-alive connections per instance (host, port), opened on demand.

    `connect_timeout` bounds opening a connection; `read_timeout` (None: no limit) bounds the
    wait for the answer and then each pause in it.
    """

    def __init__(self, *, connect_timeout: float = 5.0, read_timeout: float | None = None) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: dict[tuple[str, int], list[UpstreamConnection]] = {}
        self._closed = False

    def idle(self, host: str, port: int) -> UpstreamConnection | None:
        """An idle connection to host:port, or None."""
        idle = self._idle.get((host, port))
        while idle:
            conn = idle.pop()
            if not conn.lost:
                return conn
        return None

    async def open(self, host: str, port: int) -> UpstreamConnection:
        """A new connection to host:port. Raises OSError or TimeoutError when the instance
        cannot be reached."""
        key = (host, port)
        loop = asyncio.get_running_loop()
        factory: Callable[[], UpstreamConnection] = lambda: UpstreamConnection(self, key)  # noqa: E731
        _transport, conn = await asyncio.wait_for(
            loop.create_connection(factory, host, port), self.connect_timeout
        )
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        """Return a connection whose answer was read to its end; others are closed."""
        idle = self._idle.setdefault(conn.key, [])
        if conn.reusable and not self._closed and len(idle) < MAX_IDLE_PER_UPSTREAM:
            idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()

    def forget(self, conn: UpstreamConnection) -> None:
        """Drop a connection the instance closed."""
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    def close(self) -> None:
        """Close every idle connection; released ones are closed from now on."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                if conn.transport is not None:
                    with contextlib.suppress(Exception):
                        conn.transport.close()
        self._idle.clear()
