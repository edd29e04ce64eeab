"""The lean listener: HTTP/1.1 parsed by httptools on a plain asyncio Protocol.

It serves the main port (as uvicorn's protocol, `lean_uvicorn.py`) and the port of
`--inference-port` (on its own, `serve_lean`). The common requests (a POST to an OpenAI route
with a JSON body of known length, the generic proxy with a body of known length) are answered
by `LeanInference` without any framework: the request is parsed once, checked, and forwarded;
the answer's bytes go straight back. Everything else (GET /v1/models, /healthz, multipart
forms, chunked request bodies, `Expect: 100-continue`, HTTP/1.0, HEAD, large bodies) and the
whole management API go to the ASGI app through `AsgiExchange`, whose FastAPI routes answer
the rare inference requests too: one implementation of each rule.
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
from gpustack_tui.server.proxy.lean_request import Incoming
from gpustack_tui.server.proxy.lean_upstream import UpstreamConnection
from gpustack_tui.server.proxy.paths import ALIASES, OPENAI_PATHS, PROXY_PREFIX

logger = logging.getLogger(__name__)

IDLE_SECONDS = 75.0
"""A connection that sends nothing for this long while no answer is being sent is closed (idle
keep-alive connections, and clients that stall in the middle of a request), as nginx does."""
SWEEP_SECONDS = 5.0
LEAN_BODY_LIMIT = 16 * 1024 * 1024
"""A body up to this size is read whole on the lean path; a larger one streams through ASGI."""
LEAN_METHODS = frozenset({b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"})
"""Generic-proxy methods on the lean path (HEAD's answer has no body: ASGI handles it)."""
OPENAI_POST = frozenset(p.encode() for p in (*OPENAI_PATHS, *ALIASES))
_PREFIX = PROXY_PREFIX.encode()
_FORMS = (b"multipart/form-data", b"application/x-www-form-urlencoded")
_NOTED = frozenset(
    {
        b"authorization",
        b"x-api-key",
        b"content-length",
        b"content-type",
        b"transfer-encoding",
        b"expect",
    }
)
"""Headers `_is_lean` looks at."""


class Handler(Protocol):
    """Answers a lean request (see `lean_exchange.LeanInference`)."""

    def handle(self, conn: ClientConnection, request: Incoming) -> None:
        """Answer `request` on `conn`; must call `conn.finish(request)` once, now or later."""
        ...


class ClientConnection(asyncio.Protocol):
    """One client connection; answers its requests in order, one at a time."""

    def __init__(self, service: LeanService) -> None:
        self.service = service
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.peer: str | None = None
        self.server_addr: tuple[str, int] | None = None
        self.lost = False
        self.paused = False
        self.upstream: UpstreamConnection | None = None
        """The instance connection now relaying to this client (paused with it)."""
        self._drained: asyncio.Future[None] | None = None
        self.busy = False
        """Whether a request is being answered (close() waits for it)."""
        self.closing = False
        """The server is stopping: close once the request being answered is done."""
        self.active_at = time.monotonic()
        """When the client last sent something or its last answer was done."""
        self._current: Incoming | None = None
        self._pending: deque[Incoming] = deque()

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
        if self.paused and not self.lost:
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    def respond(self, request: Incoming, status: int, headers: list[bytes], body: bytes) -> None:
        """Write a whole response; `headers` are complete `name: value\\r\\n` lines."""
        if self.lost or self.transport is None:
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

    def finish(self, request: Incoming, *, close: bool = False) -> None:
        """The response to `request` is complete: go on with the next request, or close."""
        self.upstream = None
        self.busy = False
        self._current = None
        self.active_at = time.monotonic()
        if close or self.closing or not request.keep_alive or self.lost:
            if self.transport is not None:
                self.transport.close()
            return
        if self._pending:
            self._start(self._pending.popleft())

    def shutdown(self) -> None:
        """The server is stopping: close now when idle, else once the current answer is sent."""
        self.closing = True
        if not self.busy and self.transport is not None:
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
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._bad("protocol upgrades are not served here")
        except httptools.HttpParserError as exc:
            if isinstance(exc, httptools.HttpParserCallbackError):
                logger.error("reading a request failed", exc_info=exc.__context__)
            self._bad(f"invalid HTTP request ({type(exc).__name__})")

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.service.connections.discard(self)
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.abandon()  # the instance stops generating for nobody
        for request in (self._current, *self._pending):
            if request is not None and request.asgi is not None:
                request.asgi.disconnected()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _bad(self, message: str) -> None:
        if self.transport is None or self.lost:
            return
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()

    # -- httptools ---------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        request = Incoming()
        if self._current is None:
            self._current = request
        else:
            self._pending.append(request)
        self._parsing = request

    _parsing: Incoming

    def on_url(self, url: bytes) -> None:
        self._parsing.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsing.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        request = self._parsing
        parser = self.parser
        request.method = method = parser.get_method()
        request.http_version = parser.get_http_version()
        request.keep_alive = request.http_version == "1.1" and parser.should_keep_alive()
        url = request.url
        at = url.find(b"?")
        request.path, request.query = (url, b"") if at < 0 else (url[:at], url[at + 1 :])
        request.lean = self._is_lean(request, method)
        if not request.lean:
            request.asgi = AsgiExchange(self, request, self.service.app)
            if request is self._current and not self.busy:
                self._start(request)

    def _is_lean(self, request: Incoming, method: bytes) -> bool:
        if request.http_version != "1.1":
            return False
        path = request.path
        if method == b"POST" and path in OPENAI_POST:
            request.openai = True
        elif not (
            method in LEAN_METHODS
            and path.startswith(_PREFIX)
            and (len(path) == len(_PREFIX) or path[len(_PREFIX)] == 0x2F)
        ):
            return False
        length = None
        for name, value in request.headers:
            if name not in _NOTED:
                continue
            if name == b"authorization":
                if request.authorization is None:
                    request.authorization = value
            elif name == b"x-api-key":
                if request.api_key is None:
                    request.api_key = value
            elif name == b"content-length":
                length = value
            elif name != b"content-type" or (request.openai and value.lower().startswith(_FORMS)):
                return False  # transfer-encoding, expect, or a form
        if length is not None:
            try:
                if int(length) > LEAN_BODY_LIMIT:
                    return False
            except ValueError:
                return False
        return True

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
        elif request is self._current and not self.busy:
            self._start(request)

    def _start(self, request: Incoming) -> None:
        self._current = request
        if request.asgi is not None:
            self.busy = True
            request.asgi.start()
        elif request.complete:
            self.busy = True
            self.service.handler.handle(self, request)
        else:
            self.busy = False  # a lean request starts once its body is whole


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
            idle = not conn.busy and now - conn.active_at > self.idle
            if idle and conn.transport is not None and not conn.lost:
                conn.transport.close()
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
