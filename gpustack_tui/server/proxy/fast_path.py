"""The inference routes' hot path, served before the application's routing and middleware.

FastAPI matches every route of the app in turn and wraps each endpoint in dependency solving;
for the management API that is worth it, for a proxy answering in well under a millisecond it is
not (measured: benchmarks/bench_proxy.py, "proxy CPU per request"). `FastPath` hands the POST
routes of the OpenAI endpoint and the generic proxy straight to their endpoints, which already
answer every error themselves in the OpenAI shape; everything else goes to the app unchanged.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.router import PROXY_METHODS, PROXY_PREFIX, Endpoint

logger = logging.getLogger(__name__)


class FastPath:
    """ASGI wrapper: inference requests to `router`'s endpoints, the rest to `app`."""

    def __init__(self, app: ASGIApp, router: object) -> None:
        self.app = app
        self._exact: dict[str, Endpoint] = dict(router.fast_paths)  # type: ignore[attr-defined]
        self._generic: Endpoint = router.generic_proxy  # type: ignore[attr-defined]
        self._methods = frozenset(PROXY_METHODS)

    def _endpoint(self, scope: Scope) -> Endpoint | None:
        path, method = scope["path"], scope["method"]
        if method == "POST" and path in self._exact:
            return self._exact[path]
        if method in self._methods and (
            path == PROXY_PREFIX or path.startswith(PROXY_PREFIX + "/")
        ):
            return self._generic
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._endpoint(scope) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await endpoint(Request(scope, receive))
        except Exception:
            logger.exception("inference request %s %s failed", scope["method"], scope["path"])
            response = errors.ProxyError(
                500, "internal_error", "the server failed on this request; see its log"
            ).to_response()
        await response(scope, receive, send)
