"""Send one request to a deployment's instance over aiohttp and relay the answer as it arrives.

aiohttp rather than httpx on this path because it was measured faster on it (see
benchmarks/bench_proxy.py and the figures in DESIGN.md's performance notes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence

import aiohttp
from multidict import CIMultiDict
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from yarl import URL

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.headers import downstream_response_headers, upstream_request_headers

logger = logging.getLogger(__name__)

Body = bytes | AsyncIterable[bytes]
Done = Callable[[int, bytes, bool], None]
"""Called once when an answer ends: (status, captured body, whether it was an event stream)."""

CAPTURE_JSON_LIMIT = 4 * 1024 * 1024
"""A JSON answer up to this size is kept whole for its `usage`; a larger one is not read."""
CAPTURE_SSE_TAIL = 16 * 1024
"""An event stream's last bytes, kept for the final chunk's `usage`."""
_READ_SIZE = 64 * 1024
WHOLE_BODY_LIMIT = 256 * 1024
"""An answer that announces a Content-Length up to this and is no event stream is read whole and
sent in one piece: the instance has finished it already, and one write costs less than a relay."""


class UpstreamResponse(StreamingResponse):
    """The instance's answer, relayed chunk by chunk as it arrives (never buffered).

    Status and headers are the instance's (see `downstream_response_headers`); the body is its
    raw bytes (no decompression). When the stream ends, fails, or the client goes away, the
    upstream connection is closed (not returned to the pool unless the answer was read to its
    end), so that the instance stops generating. A failure mid-stream is logged and re-raised so
    that the server aborts the client connection instead of ending the body as if complete.
    Each chunk is written before the next is read: a slow client slows the upstream read
    (back-pressure through the kernel buffers), memory stays bounded.
    """

    def __init__(
        self, upstream: aiohttp.ClientResponse, deployment: str, on_done: Done | None = None
    ) -> None:
        self._upstream = upstream
        self._deployment = deployment
        self._on_done = on_done
        kind = upstream.headers.get("content-type", "")
        self._sse = kind.startswith("text/event-stream")
        self._keep = on_done is not None and (self._sse or kind.startswith("application/json"))
        self._captured = bytearray()
        super().__init__(self._relay(), status_code=upstream.status)
        self.raw_headers = downstream_response_headers(upstream.raw_headers)

    async def _relay(self) -> AsyncIterator[bytes]:
        sse, captured = self._sse, self._captured
        try:
            while True:
                chunk = await self._upstream.content.readany()
                if not chunk:
                    break
                if self._keep:
                    captured += chunk
                    if sse and len(captured) > 2 * CAPTURE_SSE_TAIL:
                        del captured[:-CAPTURE_SSE_TAIL]
                    elif not sse and len(captured) > CAPTURE_JSON_LIMIT:
                        self._keep = False
                        captured.clear()
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.warning(
                "deployment %r: stream from %s broke off: %s",
                self._deployment,
                _where(str(self._upstream.url)),
                type(exc).__name__,
            )
            raise
        finally:
            self._close_upstream()
            self._finish()

    def _finish(self) -> None:
        if self._on_done is not None:
            done, self._on_done = self._on_done, None
            done(self.status_code, bytes(self._captured) if self._keep else b"", self._sse)

    def _close_upstream(self) -> None:
        if self._upstream.content.at_eof():
            self._upstream.release()  # read to the end: the connection may be reused
        else:
            self._upstream.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._close_upstream()
            self._finish()


class Forwarder:
    """Forwards requests to instances over ONE shared `aiohttp.ClientSession`.

    Lifecycle: `await start()` at application startup creates the session; `await aclose()` at
    shutdown closes it. Both are idempotent, and the pair may be repeated. `forward` before
    `start` raises RuntimeError.

    Timeouts: `connect_timeout` is short (connecting to a live instance is quick; failing fast
    lets the next instance take over). `read_timeout` (None by default) bounds the wait for the
    answer's headers (504 after it) and then each pause between chunks: a non-streamed
    completion may think for minutes before its first byte, so there is no limit unless asked.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float | None = None,
        max_connections: int = 1000,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """Seconds to wait for an answer, then between its chunks; None: no limit."""
        return self._timeout.sock_read

    @property
    def started(self) -> bool:
        """Whether the shared session is open."""
        return self._session is not None

    async def start(self) -> None:
        """Create the shared session (no-op when already started)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, keepalive_timeout=30
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                auto_decompress=False,
                trust_env=False,  # never route worker traffic through the environment's proxy
                skip_auto_headers=("User-Agent", "Content-Type"),
                read_bufsize=_READ_SIZE,
            )

    async def aclose(self) -> None:
        """Close the shared session and its connections (no-op when not started)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def forward(
        self,
        request: Request,
        *,
        deployment: str,
        upstreams: Sequence[str],
        path: str,
        body: Body,
        on_done: Done | None = None,
    ) -> Response:
        """Send `request` to the first of `upstreams` that accepts a connection.

        `upstreams` are base URLs in the order to try; `path` is the upstream path, already
        percent-encoded, starting with "/". Method, query string and headers (filtered by
        `upstream_request_headers`) come from `request`. A bytes `body` may be sent again, so a
        refused connection fails over to the next upstream; a streamed body goes to the first
        one only. `on_done` is called once when the answer has been relayed (or abandoned).

        Raises `ProxyError`: 502 `upstream_error` when no instance could be reached or one broke
        the protocol, 504 `upstream_timeout` when one timed out. Messages name the deployment and
        the instance's host:port, nothing more.
        """
        if self._session is None:
            raise RuntimeError("Forwarder is not started: await forwarder.start() at startup")
        session = self._session
        streamed = not isinstance(body, bytes)
        raw = upstream_request_headers(
            request.headers.raw,
            client_host=request.client.host if request.client else None,
            scheme=request.scope.get("scheme", "http"),
            keep_content_length=streamed,
        )
        headers = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
        query = request.scope.get("query_string", b"").decode("latin-1")
        candidates = list(upstreams[:1] if streamed else upstreams)
        if not candidates:
            raise errors.no_running_instance(deployment)
        refused: list[str] = []
        timeouts = 0
        for base in candidates:
            where = _where(base)
            try:
                url = URL(base.rstrip("/") + path + (f"?{query}" if query else ""), encoded=True)
                if not url.is_absolute() or url.scheme not in ("http", "https"):
                    raise ValueError(url)
                upstream = await session.request(
                    request.method,
                    url,
                    headers=headers,
                    data=body if body or streamed else None,
                    allow_redirects=False,
                    compress=False,
                )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                logger.warning(
                    "deployment %r: cannot connect to %s: %s", deployment, where, type(exc).__name__
                )
                refused.append(where)
                timeouts += isinstance(exc, aiohttp.ConnectionTimeoutError)
                continue
            except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
                logger.warning("deployment %r: %s timed out: %r", deployment, where, exc)
                raise errors.upstream_timeout(deployment, where) from exc
            except (aiohttp.ClientError, ValueError) as exc:
                logger.warning("deployment %r: %s failed: %r", deployment, where, exc)
                raise errors.upstream_error(deployment, where, _what_failed(exc)) from exc
            if _small_and_whole(upstream):
                return await _whole(upstream, deployment, where, on_done)
            return UpstreamResponse(upstream, deployment, on_done)
        if timeouts == len(refused):
            raise errors.upstream_timeout(deployment, ", ".join(refused))
        noun = "its instance" if len(refused) == 1 else f"any of its {len(refused)} instances"
        raise errors.upstream_error(deployment, ", ".join(refused), f"cannot connect to {noun}")


def _small_and_whole(upstream: aiohttp.ClientResponse) -> bool:
    length = upstream.content_length
    kind = upstream.headers.get("content-type", "")
    return length is not None and length <= WHOLE_BODY_LIMIT and "event-stream" not in kind


async def _whole(
    upstream: aiohttp.ClientResponse, deployment: str, where: str, on_done: Done | None
) -> Response:
    """The answer read whole, as one response (see WHOLE_BODY_LIMIT)."""
    try:
        body = await upstream.read()
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        upstream.close()
        logger.warning("deployment %r: %s broke off: %s", deployment, where, type(exc).__name__)
        if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
            raise errors.upstream_timeout(deployment, where) from exc
        raise errors.upstream_error(deployment, where, _what_failed(exc)) from exc
    upstream.release()
    response = Response(body, status_code=upstream.status)
    response.raw_headers = downstream_response_headers(upstream.raw_headers)
    if on_done is not None:
        kind = upstream.headers.get("content-type", "")
        on_done(upstream.status, body if kind.startswith("application/json") else b"", False)
    return response


def _what_failed(exc: Exception) -> str:
    """A short, internals-free account of a failed exchange with an instance."""
    if isinstance(exc, (aiohttp.ClientResponseError, aiohttp.ServerDisconnectedError)):
        return "its instance answered with invalid HTTP"
    if isinstance(exc, (aiohttp.InvalidURL, ValueError)):
        return "its instance's address is not a valid http(s) URL"
    return "the connection to its instance failed"


def _where(url: str) -> str:
    """host:port of a URL, all that error messages reveal about an instance."""
    try:
        parsed = URL(url)
        host = parsed.host
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except (ValueError, TypeError):
        return "an invalid address"
    if not host:
        return "an invalid address"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}"
