"""The server's ASGI app: management API, inference routes, and the background reconciler."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Depends, FastAPI

from gpustack_tui import __version__
from gpustack_tui.server.api import deployments, instances, workers
from gpustack_tui.server.api.errors import install_error_handlers
from gpustack_tui.server.auth import TokenGuard
from gpustack_tui.server.context import ServerContext
from gpustack_tui.server.proxy.forwarder import Forwarder
from gpustack_tui.server.proxy.router import build_inference_router
from gpustack_tui.server.route_table import StoreRouteTable


def create_app(context: ServerContext, on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """Build the app; its lifespan runs the reconciler and closes connections at the end,
    then calls `on_shutdown` (uvicorn re-raises SIGTERM after the lifespan ends, so code after
    `Server.run()` never runs on a signal)."""
    forwarder = Forwarder()

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
            if on_shutdown is not None:
                on_shutdown()

    app = FastAPI(title="gpustack-tui", version=__version__, lifespan=lifespan)
    app.state.context = context
    install_error_handlers(app)

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, str]:
        """Liveness, for the launcher and monitors (no token needed)."""
        return {"status": "ok", "service": "gpustack-tui", "version": __version__}

    management = APIRouter(prefix="/api/v1", dependencies=[Depends(TokenGuard(context.token))])
    for module in (workers, deployments, instances):
        management.include_router(module.router)
    app.include_router(management)
    app.include_router(build_inference_router(StoreRouteTable(context.store), forwarder))
    return app
