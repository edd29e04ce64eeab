"""The lean listener: HTTP/1.1 parsed by httptools on a plain asyncio Protocol.

It serves the main port (as uvicorn's protocol, `lean_uvicorn.py`) and the port of
`--inference-port` (on its own, `serve_lean`). The common requests (a POST to an OpenAI route
with a JSON body of known length, the generic proxy with a body of known length) are answered
by `LeanInference` without any framework: the request is parsed once, checked, and forwarded;
the answer's bytes go straight back. Everything else (GET /v1/models, /healthz, multipart
forms, chunked request bodies, `Expect: 100-continue`, HTTP/1.0, HEAD, large bodies) and the
whole management API go to the ASGI app through `AsgiExchange`, whose FastAPI routes answer
the rare inference requests too: one implementation of each rule.

Each connection answers its requests in order, one at a time; where it stands is one state
(lean_state.py: the states and the moves between them). Requests pipelined behind an answer
wait parsed, and reading from the client pauses while they do (at most one read is buffered).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import deque
from typing import Any, Protocol

import httptools
from starlette.types import ASGIApp

from gpustack_tui.server.proxy.lean_asgi import AsgiExchange, status_line, stock_headers
from gpustack_tui.server.proxy.lean_request import Incoming, is_lean
from gpustack_tui.server.proxy.lean_state import (
    ANSWERING,
    BUSY,
    CLOSED,
    CLOSING,
    IDLE,
    MOVES,
    RECEIVING,
    ConnectionState,
    check_move,
)
from gpustack_tui.server.proxy.lean_upstream import UpstreamConnection

logger = logging.getLogger(__name__)

IDLE_SECONDS = 75.0
"""A connection that sends nothing for this long while no answer is being sent is closed (idle
keep-alive connections, and clients that stall in the middle of a request), as nginx does."""
SWEEP_SECONDS = 5.0
_SILENT = frozenset({IDLE, RECEIVING})
"""States in which a silent client is closed after the idle time (no answer is being sent)."""


class Handler(Protocol):
    """Answers a lean request (see `lean_exchange.LeanInference`)."""

    def handle(self, conn: ClientConnection, request: Incoming) -> None:
        """Answer `request` on `conn`; must call `conn.finish(request)` once, now or later."""
        ...


class ClientConnection(asyncio.Protocol):
    """One client connection; answers its requests in order, one at a time.

    Where it stands is `state` alone (see lean_state.py for the states and the moves between
    them); `line` holds the requests begun and not yet answered.
    """

    def __init__(self, service: LeanService) -> None:
        self.service = service
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.peer: str | None = None
        self.server_addr: tuple[str, int] | None = None
        self.state = IDLE
        self.line: deque[Incoming] = deque()
        """Requests begun and not yet answered, in order: the first is the one being received
        or answered, the rest wait (parsed) for their turn."""
        self.active_at = time.monotonic()
        """When the client last sent something or its last answer was done."""
        self.paused = False
        """Whether the transport asked us to stop writing (the client reads slowly)."""
        self.upstream: UpstreamConnection | None = None
        """The instance connection now relaying to this client (paused with it)."""
        self._drained: asyncio.Future[None] | None = None
        self._reading_held = False
        """Whether reading from the client is paused (see `steer_reading`)."""
        self._parsing = Incoming()
        """The request the parser is reading (the last of `line`, unless the state is CLOSED)."""

    @property
    def closed(self) -> bool:
        """Whether the connection is closed (by either side): nothing more is written."""
        return self.state is CLOSED

    def _move(self, to: ConnectionState) -> None:
        if to not in MOVES[self.state]:
            check_move(self.state, to)  # raises IllegalMove, saying which move
        self.state = to

    # -- writing -----------------------------------------------------------------------------

    def pause_writing(self) -> None:
        self.paused = True
        if self.upstream is not None:
            self.upstream.pause()

    def resume_writing(self) -> None:
        self.paused = False
        if self.upstream is not None:
            self.upstream.resume()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    async def drain(self) -> None:
        """Wait until the client has taken enough of what was written (ASGI back-pressure)."""
        if self.paused and self.state is not CLOSED:
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    def respond(self, request: Incoming, status: int, headers: list[bytes], body: bytes) -> None:
        """Write a whole response; `headers` are complete `name: value\\r\\n` lines."""
        if self.state is CLOSED or self.transport is None:
            return
        keep = request.keep_alive
        head = [
            status_line(status),
            stock_headers(),
            *headers,
            b"content-length: %d\r\n" % len(body),
            b"\r\n" if keep else b"connection: close\r\n\r\n",
        ]
        self.transport.writelines([b"".join(head), body])

    # -- the line of requests ----------------------------------------------------------------

    def finish(self, request: Incoming, *, close: bool = False) -> None:
        """The response to `request` is complete: go on with the next request, or close."""
        self.upstream = None
        self.active_at = time.monotonic()
        if self.state is CLOSED:
            return
        line = self.line
        if line and line[0] is request:
            line.popleft()
        if close or self.state is CLOSING or not request.keep_alive:
            self.close()
            return
        if self._reading_held:
            self.steer_reading()
        if not line:
            self._move(IDLE)
        elif line[0].ready:
            # On the next turn: answers given at once (errors) would otherwise nest a call each.
            asyncio.get_running_loop().call_soon(self._answer_next)
        else:
            self._move(RECEIVING)

    def _answer_next(self) -> None:
        if self.state is CLOSING:
            self.close()
        elif self.state is ANSWERING and self.line:
            self._answer(self.line[0])

    def _answer(self, request: Incoming) -> None:
        if self.state is RECEIVING:
            self._move(ANSWERING)
        if request.asgi is not None:
            request.asgi.start()
        else:
            self.service.handler.handle(self, request)

    def steer_reading(self) -> None:
        """Pause reading while requests wait in line behind the one being answered (at most
        what one read brought is buffered), while the app has not taken the body it was given,
        or when this answer is the last one and its request is whole; read again otherwise."""
        line, parsing = self.line, self._parsing
        hold = (
            len(line) > 1
            or (self.state is CLOSING and bool(line) and line[0].complete)
            or (parsing.asgi is not None and parsing.asgi.backlogged)
        )
        if hold != self._reading_held and self.transport is not None and self.state is not CLOSED:
            self._reading_held = hold
            if hold:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def shutdown(self) -> None:
        """The server is stopping: close now when no answer is being sent, else once it is."""
        if self.state is ANSWERING:
            self._move(CLOSING)
            self.steer_reading()
        elif self.state is not CLOSING:
            self.close()

    def close(self) -> None:
        """Close the connection now (what is written still goes out)."""
        if self.state is CLOSED:
            return
        self._move(CLOSED)
        if self.transport is not None:
            self.transport.close()

    # -- asyncio -----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if isinstance(peer, tuple) else None
        sock = transport.get_extra_info("sockname")
        self.server_addr = (sock[0], sock[1]) if isinstance(sock, tuple) else None
        self.service.connections.add(self)
        self.service.watch_idle()

    def data_received(self, data: bytes) -> None:
        self.active_at = time.monotonic()
        if self.state is CLOSED:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._bad("protocol upgrades are not served here")
        except httptools.HttpParserError as exc:
            if isinstance(exc, httptools.HttpParserCallbackError):
                logger.error("reading a request failed", exc_info=exc.__context__)
            self._bad(f"invalid HTTP request ({type(exc).__name__})")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state is not CLOSED:
            self._move(CLOSED)
        self.service.connections.discard(self)
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.abandon()  # the instance stops generating for nobody
        for request in self.line:
            if request.asgi is not None:
                request.asgi.disconnected()
        self.line.clear()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _bad(self, message: str) -> None:
        if self.state is CLOSED or self.transport is None:
            return
        if self.state in BUSY and self.line and self._parsing is not self.line[0]:
            # The unreadable request waits behind the one being answered: answer that one,
            # then close (a 400 now would cut into its answer).
            if self.state is ANSWERING:
                self._move(CLOSING)
            self.steer_reading()
            return
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.close()

    # -- httptools ---------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        request = self._parsing = Incoming()
        if self.state is CLOSED:
            return  # the rest of a read that ended the connection: never answered
        self.line.append(request)
        if self.state is IDLE:
            self._move(RECEIVING)
        else:
            self.steer_reading()  # it waits behind the one being answered: read no further

    def on_url(self, url: bytes) -> None:
        self._parsing.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsing.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        request = self._parsing
        parser = self.parser
        request.method = parser.get_method()
        request.http_version = parser.get_http_version()
        request.keep_alive = request.http_version == "1.1" and parser.should_keep_alive()
        url = request.url
        at = url.find(b"?")
        request.path, request.query = (url, b"") if at < 0 else (url[:at], url[at + 1 :])
        request.lean = is_lean(request)
        if not request.lean and self.state is not CLOSED:
            request.asgi = AsgiExchange(self, request, self.service.app)
            if self.state is RECEIVING and self.line[0] is request:
                self._answer(request)

    def on_body(self, body: bytes) -> None:
        request = self._parsing
        if request.asgi is not None:
            request.asgi.feed(body)
        else:
            request.body.append(body)

    def on_message_complete(self) -> None:
        request = self._parsing
        request.complete = True
        if request.asgi is not None:
            request.asgi.complete()
        elif self.state is RECEIVING and self.line[0] is request:
            self._answer(request)


class LeanService:
    """What the connections share: the lean handler, the ASGI app for the rest, open work."""

    def __init__(
        self, handler: Handler, app: ASGIApp, *, tls: bool = False, idle: float = IDLE_SECONDS
    ) -> None:
        self.handler = handler
        self.app = app
        self.scheme = "https" if tls else "http"
        self.scheme_bytes = self.scheme.encode()
        self.idle = idle
        self.connections: set[Any] = set()
        self._tasks: set[Any] = set()
        self._sweep: asyncio.TimerHandle | None = None

    def watch_idle(self) -> None:
        """Look for idle connections every few seconds while there are any (one timer for
        all of them: nothing per request)."""
        if self._sweep is None:
            every = min(SWEEP_SECONDS, self.idle / 3)
            self._sweep = asyncio.get_running_loop().call_later(every, self._close_idle)

    def _close_idle(self) -> None:
        self._sweep = None
        now = time.monotonic()
        for conn in list(self.connections):
            if conn.state in _SILENT and now - conn.active_at > self.idle:
                conn.close()
        if self.connections:
            self.watch_idle()

    def share_state(self, connections: set[Any], tasks: set[Any]) -> None:
        """Count connections and request tasks in these sets (uvicorn's server state)."""
        if self.connections is not connections:
            connections.update(self.connections)
            tasks.update(self._tasks)
            self.connections, self._tasks = connections, tasks

    def track(self, task: asyncio.Future[Any]) -> None:
        """Keep a request's task alive until it ends; log what it did not handle."""
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("lean request failed", exc_info=task.exception())

    async def close(self, grace: float = 5.0) -> None:
        """Close connections as their requests end, for up to `grace` s; then abort the rest."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while True:
            for conn in list(self.connections):
                conn.shutdown()
            if not self.connections or loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None


async def serve_lean(
    service: LeanService, host: str, port: int, ssl_context: ssl.SSLContext | None = None
) -> asyncio.Server:
    """Listen on host:port; each connection is a `ClientConnection` of `service`."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: ClientConnection(service), host, port, ssl=ssl_context, backlog=2048
    )


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """A server-side TLS context from PEM files."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context
