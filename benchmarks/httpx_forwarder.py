"""The httpx forwarder the proxy used before aiohttp, kept beside bench_proxy.py to compare.

The server uses `forwarder.Forwarder` (aiohttp): on our machines httpx added about twice the
latency per request and a fraction of the throughput (figures in the benchmark's output).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

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


class UpstreamResponse(StreamingResponse):
    """The instance's answer, relayed chunk by chunk as it arrives (never buffered).

    Status and headers are the instance's (see `downstream_response_headers`); the body is its
    raw bytes (`aiter_raw`: no decompression). The upstream response is closed when the stream
    ends, fails, or the client goes away, which drops the connection to the instance so that it
    stops generating. A failure mid-stream is logged and re-raised so that the server aborts the
    client connection instead of ending the body as if it were complete.
    """

    def __init__(
        self, upstream: httpx.Response, deployment: str, on_done: Done | None = None
    ) -> None:
        self._upstream = upstream
        self._deployment = deployment
        self._on_done = on_done
        kind = upstream.headers.get("content-type", "")
        self._sse = kind.startswith("text/event-stream")
        self._keep = on_done is not None and (self._sse or kind.startswith("application/json"))
        self._captured = bytearray()
        super().__init__(self._relay(), status_code=upstream.status_code)
        self.raw_headers = downstream_response_headers(upstream.headers.raw)

    async def _relay(self) -> AsyncIterator[bytes]:
        sse, captured = self._sse, self._captured
        try:
            async for chunk in self._upstream.aiter_raw():
                if self._keep:
                    captured += chunk
                    if sse and len(captured) > 2 * CAPTURE_SSE_TAIL:
                        del captured[:-CAPTURE_SSE_TAIL]
                    elif not sse and len(captured) > CAPTURE_JSON_LIMIT:
                        self._keep = False
                        captured.clear()
                yield chunk
        except httpx.HTTPError as exc:
            logger.warning(
                "deployment %r: stream from %s broke off: %s",
                self._deployment,
                _where(str(self._upstream.url)),
                type(exc).__name__,
            )
            raise
        finally:
            await self._close_upstream()
            self._finish()

    def _finish(self) -> None:
        if self._on_done is not None:
            done, self._on_done = self._on_done, None
            done(self.status_code, bytes(self._captured) if self._keep else b"", self._sse)

    async def _close_upstream(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._upstream.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._close_upstream()
            self._finish()


class Forwarder:
    """Forwards requests to instances over ONE shared `httpx.AsyncClient`.

    Lifecycle: `await start()` at application startup creates the client; `await aclose()` at
    shutdown closes it. Both are idempotent, and the pair may be repeated. `forward` before
    `start` raises RuntimeError. `InferenceRoutes(table)` without a forwarder creates one
    and runs this lifecycle in the router's lifespan.

    Timeouts: `connect_timeout` is short (connecting to a live instance is quick; failing fast
    lets the next instance take over). `read_timeout` is None by default: a non-streamed
    completion may think for minutes before its first byte, and a stream may pause between tokens.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float | None = None,
        write_timeout: float | None = 60.0,
        pool_timeout: float | None = 30.0,
        max_connections: int = 1000,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout
        )
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=min(100, max_connections)
        )
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def started(self) -> bool:
        """Whether the shared client is open."""
        return self._client is not None

    async def start(self) -> None:
        """Create the shared client (no-op when already started)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                limits=self._limits,
                transport=self._transport,
                follow_redirects=False,
                trust_env=False,  # never route worker traffic through the environment's proxy
            )

    async def aclose(self) -> None:
        """Close the shared client and its connections (no-op when not started)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def forward(
        self,
        request: Request,
        *,
        deployment: str,
        upstreams: Sequence[str],
        path: str,
        body: Body,
        on_done: Done | None = None,
    ) -> UpstreamResponse:
        """Send `request` to the first of `upstreams` that accepts a connection.

        `upstreams` are base URLs in the order to try (`RoundRobinPicker.order`); `path` is the
        upstream path, already percent-encoded, starting with "/". Method, query string and
        headers (filtered by `upstream_request_headers`) come from `request`. A bytes `body` may
        be sent again, so a refused connection fails over to the next upstream; a streamed body
        goes to the first one only.

        Raises `ProxyError`: 502 `upstream_error` when no instance could be reached or one broke
        the protocol, 504 `upstream_timeout` when one timed out. Messages name the deployment and
        the instance's host:port, nothing more.
        """
        if self._client is None:
            raise RuntimeError("Forwarder is not started: await forwarder.start() at startup")
        client = self._client
        streamed = not isinstance(body, bytes)
        headers = upstream_request_headers(
            request.headers.raw,
            client_host=request.client.host if request.client else None,
            scheme=request.url.scheme,
            keep_content_length=streamed,
        )
        query = request.scope.get("query_string", b"").decode("latin-1")
        candidates = list(upstreams[:1] if streamed else upstreams)
        if not candidates:
            raise errors.no_running_instance(deployment)
        refused: list[str] = []
        timeouts = 0
        for base in candidates:
            where = _where(base)
            url = base.rstrip("/") + path + (f"?{query}" if query else "")
            try:
                upstream_request = client.build_request(
                    request.method, url, headers=headers, content=body
                )
                upstream = await client.send(upstream_request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                logger.warning(
                    "deployment %r: cannot connect to %s: %s", deployment, where, type(exc).__name__
                )
                refused.append(where)
                timeouts += isinstance(exc, httpx.ConnectTimeout)
                continue
            except httpx.TimeoutException as exc:
                logger.warning("deployment %r: %s timed out: %r", deployment, where, exc)
                raise errors.upstream_timeout(deployment, where) from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                logger.warning("deployment %r: %s failed: %r", deployment, where, exc)
                raise errors.upstream_error(deployment, where, _what_failed(exc)) from exc
            return UpstreamResponse(upstream, deployment, on_done)
        if timeouts == len(refused):
            raise errors.upstream_timeout(deployment, ", ".join(refused))
        noun = "its instance" if len(refused) == 1 else f"any of its {len(refused)} instances"
        raise errors.upstream_error(deployment, ", ".join(refused), f"cannot connect to {noun}")


def _what_failed(exc: Exception) -> str:
    """A short, internals-free account of a failed exchange with an instance."""
    if isinstance(exc, httpx.ProtocolError):
        return "its instance answered with invalid HTTP"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return "its instance's address is not a valid http(s) URL"
    return "the connection to its instance failed"


def _where(url: str) -> str:
    """host:port of a URL, all that error messages reveal about an instance."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid address"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not parsed.host:
        return "an invalid address"
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{host}:{port}"
