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
from gpustack_tui.server.proxy.router import InferenceRoutes

logger = logging.getLogger(__name__)


class FastPath:
    """ASGI wrapper: inference requests to the endpoints of `routes`, the rest to `app`."""

    def __init__(self, app: ASGIApp, routes: InferenceRoutes) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = None
        if scope["type"] == "http":
            endpoint = self.routes.endpoint_for(scope["method"], scope["path"])
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await endpoint(Request(scope, receive))
        except Exception:
            logger.exception("inference request %s %s failed", scope["method"], scope["path"])
            response = errors.internal_error().to_response()
        await response(scope, receive, send)
