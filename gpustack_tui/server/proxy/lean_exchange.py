"""The inference routes on the lean listener: the same rules as `router.py`, without a framework.

Key check, model from the JSON body / query / X-GPUStack-Model, scope, round robin, one retry
on a refused connection, 503/504/502 in the OpenAI error shape, hop-by-hop and credential
headers removed, usage counted. Checks run in the parser's callback; `lean_relay.Attempt`
carries the request on and relays the answer as it arrives.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.headers import upstream_request_block
from gpustack_tui.server.proxy.lean_relay import Address, Attempt
from gpustack_tui.server.proxy.lean_upstream import UpstreamPool
from gpustack_tui.server.proxy.model_name import model_from_json
from gpustack_tui.server.proxy.picker import RoundRobinPicker
from gpustack_tui.server.proxy.router import (
    ALIASES,
    MAX_TRIES,
    PROXY_PREFIX,
    Authenticator,
    Grant,
    UsageRecorder,
)
from gpustack_tui.server.proxy.routing import ModelRoute, RouteTable

if TYPE_CHECKING:
    from gpustack_tui.server.proxy.lean_request import Incoming
    from gpustack_tui.server.proxy.lean_server import ClientConnection

logger = logging.getLogger(__name__)

_PREFIX = PROXY_PREFIX.encode()
_ALIASES = {k.encode(): v.encode() for k, v in ALIASES.items()}
_BODYLESS = frozenset({b"GET", b"HEAD", b"DELETE", b"OPTIONS"})
_JSON = [b"content-type: application/json\r\n"]


class LeanInference:
    """Answers the OpenAI routes and the generic proxy on a lean connection."""

    def __init__(
        self,
        table: RouteTable,
        *,
        keys: Authenticator | None,
        usage: UsageRecorder | None = None,
        picker: RoundRobinPicker | None = None,
        pool: UpstreamPool | None = None,
    ) -> None:
        self.table = table
        self.keys = keys
        self.usage = usage
        self.picker = picker or RoundRobinPicker()
        self.pool = pool or UpstreamPool()
        self._addresses: dict[str, Address | None] = {}

    def handle(self, conn: ClientConnection, request: Incoming) -> None:
        """Answer `request`: forward it to an instance, or an error in the OpenAI shape."""
        t0 = time.perf_counter()
        route: ModelRoute | None = None
        grant: Grant | None = None
        try:
            if self.keys is not None:
                grant = self.keys.authenticate_headers(request.authorization, request.api_key)
            body = request.body[0] if len(request.body) == 1 else b"".join(request.body)
            route, target = self._route(request, body, grant)
            if not request.openai and not route.generic_proxy:
                raise errors.generic_proxy_disabled(route.name)
            if not route.upstreams:
                raise errors.no_running_instance(route.name)
            self._forward(conn, request, route, grant, target, body, t0)
        except errors.ProxyError as exc:
            if self.usage is not None and route is not None:
                key = grant.name if grant is not None else None
                seconds = time.perf_counter() - t0
                self.usage.record(route.name, key, status=exc.status_code, seconds=seconds)
            self._error(conn, request, exc)
        except Exception:
            logger.exception("inference request %s failed", request.path.decode("latin-1"))
            failure = errors.ProxyError(
                500, "internal_error", "the server failed on this request; see its log"
            )
            self._error(conn, request, failure)

    def _error(self, conn: ClientConnection, request: Incoming, exc: errors.ProxyError) -> None:
        body = json.dumps(errors.error_body(exc.message, exc.type, exc.code)).encode()
        extra = [f"{k}: {v}\r\n".encode("latin-1") for k, v in exc.headers.items()]
        conn.respond(request, exc.status_code, _JSON + extra, body)
        conn.finish(request)

    def _route(
        self, request: Incoming, body: bytes, grant: Grant | None
    ) -> tuple[ModelRoute, bytes]:
        """The deployment and the upstream target (path and query) of a request."""
        if request.openai:
            query_model = None
            if request.query:
                values = [v for k, v in parse_qsl(request.query.decode("latin-1")) if k == "model"]
                query_model = values[-1].strip() if values and values[-1].strip() else None
            model = model_from_json(body, query_model)
            target = _ALIASES.get(request.path, request.path)
        else:
            header = request.header(b"x-gpustack-model")
            named = header.decode("latin-1").strip() if header is not None else ""
            model = named or model_from_json(body, generic=True)
            rest = request.path[len(_PREFIX) :]
            target = rest if rest.startswith(b"/") else b"/" + rest
        if request.query:
            target += b"?" + request.query
        route = self.table.lookup(model)
        if route is None or (grant is not None and not grant.allows(route.name)):
            raise errors.model_not_found(model)
        return route, target

    def _address(self, base: str) -> Address | None:
        """(host, port, "host:port", path prefix) of an instance's base URL; None if invalid."""
        if base not in self._addresses:
            address = None
            try:
                parts = urlsplit(base)
                host, port = parts.hostname, parts.port or 80
            except ValueError:
                host = None
            if host and parts.scheme == "http":
                shown = f"[{host}]" if ":" in host else host
                prefix = parts.path.rstrip("/").encode()
                address = (host, port, f"{shown}:{port}".encode(), prefix)
            self._addresses[base] = address
        return self._addresses[base]

    def _forward(
        self,
        conn: ClientConnection,
        request: Incoming,
        route: ModelRoute,
        grant: Grant | None,
        target: bytes,
        body: bytes,
        t0: float,
    ) -> None:
        upstreams = route.upstreams
        if len(upstreams) > 1:
            upstreams = self.picker.order(route.name, upstreams)[:MAX_TRIES]
        addresses: list[Address] = []
        for base in upstreams:
            address = self._addresses.get(base) or self._address(base)
            if address is None:
                raise errors.upstream_error(
                    route.name, "an invalid address", "its instance's address is not a valid URL"
                )
            addresses.append(address)
        headers = upstream_request_block(
            request.headers, client_host=conn.peer, scheme=conn.service.scheme_bytes
        )
        if body or request.method not in _BODYLESS:
            headers += b"content-length: %d\r\n\r\n" % len(body)
        else:
            headers += b"\r\n"
        Attempt(
            conn,
            request,
            deployment=route.name,
            addresses=addresses,
            message=(request.method + b" ", target + b" HTTP/1.1\r\nhost: ", headers, body),
            pool=self.pool,
            usage=self.usage,
            key=grant.name if grant is not None else None,
            t0=t0,
            failed=self._error,
        ).start()
