"""The server's ASGI app: management API, inference routes, and the background reconciler."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, Depends, FastAPI
from starlette.responses import Response
from starlette.types import ASGIApp

from gpustack_tui import __version__
from gpustack_tui.server.access.auth import TokenGuard
from gpustack_tui.server.access.keys import KeyRing
from gpustack_tui.server.api import backends as backends_api
from gpustack_tui.server.api import deployments, instances, keys, plan, usage, workers
from gpustack_tui.server.api import estimate as estimate_api
from gpustack_tui.server.api import files as files_api
from gpustack_tui.server.api import image_mirrors as image_mirrors_api
from gpustack_tui.server.api import model_search as model_search_api
from gpustack_tui.server.api import worker_stats as worker_stats_api
from gpustack_tui.server.api.errors import install_error_handlers
from gpustack_tui.server.context import ServerContext
from gpustack_tui.server.proxy.fast_path import FastPath
from gpustack_tui.server.proxy.forwarder import Forwarder
from gpustack_tui.server.proxy.route_table import StoreRouteTable
from gpustack_tui.server.proxy.router import InferenceRoutes
from gpustack_tui.server.proxy.usage import METRICS_CONTENT_TYPE, UsageBook


@dataclass
class InferenceParts:
    """What the inference routes share between the listeners: table, forwarder, keys, usage."""

    table: StoreRouteTable
    keys: KeyRing
    forwarder: Forwarder = field(default_factory=Forwarder)
    usage: UsageBook = field(default_factory=UsageBook)

    @classmethod
    def for_context(cls, context: ServerContext, upstream_timeout: float | None) -> InferenceParts:
        """Parts over the context's store; `upstream_timeout` bounds the wait for an answer."""
        return cls(
            StoreRouteTable(context.store),
            KeyRing(context.store),
            Forwarder(read_timeout=upstream_timeout),
        )

    _routes: InferenceRoutes | None = None

    def routes(self) -> InferenceRoutes:
        """The inference routes over these parts (built once, shared by the listeners)."""
        if self._routes is None:
            self._routes = InferenceRoutes(
                self.table, self.forwarder, keys=self.keys, usage=self.usage
            )
        return self._routes

    def router(self) -> APIRouter:
        """The inference routes' `APIRouter`, for `app.include_router`."""
        return self.routes().router

    def fast(self, app: ASGIApp) -> ASGIApp:
        """`app` with the inference hot path served before its routing (see FastPath)."""
        return FastPath(app, self.routes())


def create_inference_app(parts: InferenceParts) -> FastAPI:
    """The app of a separate inference listener: the inference routes and /healthz only, so the
    management API is never reachable on the network address."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await parts.forwarder.start()  # idempotent: whichever listener starts first opens it
        yield

    app = FastAPI(title="gpustack-tui inference", version=__version__, lifespan=lifespan)

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, str]:
        """Liveness (no key needed)."""
        return {"status": "ok", "service": "gpustack-tui", "version": __version__}

    app.include_router(parts.router())
    return app


def create_app(
    context: ServerContext,
    on_shutdown: Callable[[], None] | None = None,
    *,
    inference: InferenceParts | None = None,
    serve_inference: bool = True,
) -> FastAPI:
    """Build the app; its lifespan runs the reconciler and closes connections at the end,
    then calls `on_shutdown`. The inference routes use `inference` (new parts when None) and are
    served here unless `serve_inference` is False (they have a listener of their own)."""
    parts = inference or InferenceParts.for_context(context, None)
    forwarder = parts.forwarder

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await forwarder.start()
        task = asyncio.create_task(context.reconciler.run(), name="reconciler")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await context.reconciler.aclose()
            await context.sessions.close()
            await forwarder.aclose()
            parts.keys.flush()
            if on_shutdown is not None:
                on_shutdown()

    app = FastAPI(title="gpustack-tui", version=__version__, lifespan=lifespan)
    app.state.context = context
    app.state.inference = parts
    app.dependency_overrides[keys.get_keys] = lambda: parts.keys
    app.dependency_overrides[usage.get_usage] = lambda: parts.usage
    install_error_handlers(app)

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, str]:
        """Liveness, for the launcher and monitors (no token needed)."""
        return {"status": "ok", "service": "gpustack-tui", "version": __version__}

    guard = TokenGuard(context.token)
    management = APIRouter(prefix="/api/v1", dependencies=[Depends(guard)])
    for module in (workers, deployments, instances, keys, usage, plan):
        management.include_router(module.router)
    management.include_router(estimate_api.router)
    management.include_router(model_search_api.router)
    management.include_router(backends_api.router)
    management.include_router(files_api.router)
    management.include_router(worker_stats_api.router)
    management.include_router(image_mirrors_api.router)
    app.include_router(management)

    @app.get("/metrics", tags=["server"], dependencies=[Depends(guard)])
    def metrics() -> Response:
        """Inference usage in the Prometheus text format (management token required)."""
        return Response(parts.usage.metrics(), media_type=METRICS_CONTENT_TYPE)

    if serve_inference:
        app.include_router(parts.router())
    return app
