"""The inference routes on the lean listener: `rules.py`'s rules, without a framework.

The key, the model (JSON body, query or X-GPUStack-Model) and the admission are checked in the
parser's callback, by the same `RequestRules` that FastAPI's routes use; `lean_relay.Attempt`
carries the request on and relays the answer as it arrives. Errors are answered here in the
OpenAI shape, as `errors.ProxyError` renders them.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.headers import upstream_request_block
from gpustack_tui.server.proxy.lean_relay import Address, Attempt
from gpustack_tui.server.proxy.lean_upstream import UpstreamPool
from gpustack_tui.server.proxy.model_name import requested_model
from gpustack_tui.server.proxy.paths import OPENAI_UPSTREAM, proxied_path
from gpustack_tui.server.proxy.picker import RoundRobinPicker
from gpustack_tui.server.proxy.routing import RouteTable
from gpustack_tui.server.proxy.rules import Admission, Authenticator, RequestRules, UsageRecorder

if TYPE_CHECKING:
    from gpustack_tui.server.proxy.lean_request import Incoming
    from gpustack_tui.server.proxy.lean_server import ClientConnection

logger = logging.getLogger(__name__)

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
        self.rules = RequestRules(table, keys=keys, usage=usage, picker=picker)
        self.pool = pool or UpstreamPool()
        self._addresses: dict[str, Address | None] = {}

    def handle(self, conn: ClientConnection, request: Incoming) -> None:
        """Answer `request`: forward it to an instance, or an error in the OpenAI shape."""
        started = time.perf_counter()
        admission: Admission | None = None
        try:
            grant = self.rules.authenticate(request.authorization, request.api_key)
            body = request.body[0] if len(request.body) == 1 else b"".join(request.body)
            generic = not request.openai
            model = requested_model(
                body,
                query=request.query,
                header=request.header(b"x-gpustack-model") if generic else None,
                generic=generic,
            )
            admission = self.rules.admit(model, grant, generic=generic, started=started)
            self._forward(conn, request, admission, body)
        except errors.ProxyError as exc:
            if admission is not None:
                admission.record(exc.status_code)
            self._error(conn, request, exc)
        except Exception:
            logger.exception("inference request %s failed", request.path.decode("latin-1"))
            self._error(conn, request, errors.internal_error())

    def _error(self, conn: ClientConnection, request: Incoming, exc: errors.ProxyError) -> None:
        extra = [f"{k}: {v}\r\n".encode("latin-1") for k, v in exc.headers.items()]
        conn.respond(request, exc.status_code, _JSON + extra, exc.body())
        conn.finish(request)

    def _target(self, request: Incoming) -> bytes:
        """The path and query the instance gets (after its base URL's own path)."""
        if request.openai:
            target = OPENAI_UPSTREAM.get(request.path, request.path)
        else:
            target = proxied_path(request.path) or request.path  # lean: it starts with the prefix
        return target + b"?" + request.query if request.query else target

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
        self, conn: ClientConnection, request: Incoming, admission: Admission, body: bytes
    ) -> None:
        addresses: list[Address] = []
        for base in admission.upstreams:
            address = self._addresses.get(base) or self._address(base)
            if address is None:
                raise errors.upstream_error(
                    admission.deployment,
                    "an invalid address",
                    "its instance's address is not a valid URL",
                )
            addresses.append(address)
        headers = upstream_request_block(
            request.headers, client_host=conn.peer, scheme=conn.service.scheme_bytes
        )
        if body or request.method not in _BODYLESS:
            headers += b"content-length: %d\r\n\r\n" % len(body)
        else:
            headers += b"\r\n"
        target = self._target(request)
        Attempt(
            conn,
            request,
            admission,
            addresses=addresses,
            message=(request.method + b" ", target + b" HTTP/1.1\r\nhost: ", headers, body),
            pool=self.pool,
            failed=self._error,
        ).start()
