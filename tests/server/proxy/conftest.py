"""Fixtures for the inference-route tests."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gpustack_tui.server.access.keys import KeyRing
from gpustack_tui.server.proxy import Forwarder, InferenceRoutes, ModelRoute
from gpustack_tui.server.proxy.fast_path import FastPath
from gpustack_tui.server.proxy.lean_exchange import LeanInference
from gpustack_tui.server.proxy.lean_upstream import UpstreamPool
from gpustack_tui.server.proxy.usage import UsageBook
from gpustack_tui.server.state.store import Store
from tests.fixtures.backend import BackendProcess, start_backend
from tests.server.proxy.support import LeanServed, Served, StaticRouteTable, serve, serve_lean


@dataclass
class Proxy:
    """The inference router on a FastAPI app, served over TCP."""

    url: str
    table: StaticRouteTable
    client: httpx.Client


@pytest.fixture(scope="session")
def _stopping() -> Iterator[list[Served | LeanServed]]:
    """Servers told to exit; joined once at the end so that no test waits on a shutdown."""
    stopping: list[Served | LeanServed] = []
    yield stopping
    for served in stopping:
        served.stop()


@pytest.fixture(scope="session")
def shared_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[BackendProcess]]:
    """Two test backends (chunk delay 0) for tests that need no backend of their own.

    The backend answers any model name, so any route may point at them.
    """
    log_dir = tmp_path_factory.mktemp("shared-backends")
    backends = [start_backend(log_dir, "shared", chunk_delay=0.0) for _ in range(2)]
    yield backends
    for backend in backends:
        backend.stop()


@pytest.fixture(params=["asgi", "lean"])
def start_proxy(
    request: pytest.FixtureRequest, _stopping: list[Served | LeanServed]
) -> Iterator[Callable[..., Proxy]]:
    """Factory: `start_proxy(*routes, forwarder=None, keys=None, usage=None) -> Proxy`, stopped at
    teardown. Without `keys` the routes ask for no API key (routing tests).

    Every test that uses it runs twice: through the FastAPI routes on uvicorn's own protocol
    (what the lean listener hands its rare requests to) and through the lean listener (what the
    main port and --inference-port serve), which hands what it leaves alone to that same app."""
    lean = request.param == "lean"
    running: list[tuple[Served | LeanServed, httpx.Client]] = []

    def start(
        *routes: ModelRoute,
        forwarder: Forwarder | None = None,
        keys: KeyRing | None = None,
        usage: UsageBook | None = None,
    ) -> Proxy:
        table = StaticRouteTable(*routes)
        if forwarder is None:
            app = FastAPI()
            routes = InferenceRoutes(table, keys=keys, usage=usage)
            app.include_router(routes.router)
        else:
            own = forwarder

            @asynccontextmanager
            async def lifespan(_app: Any) -> AsyncIterator[None]:
                await own.start()
                yield
                await own.aclose()

            app = FastAPI(lifespan=lifespan)
            routes = InferenceRoutes(table, own, keys=keys, usage=usage)
            app.include_router(routes.router)
        served: Served | LeanServed
        if lean:
            pool = UpstreamPool(read_timeout=routes.forwarder.read_timeout)
            handler = LeanInference(table, keys=keys, usage=usage, pool=pool)
            served = serve_lean(handler, FastPath(app, routes), forwarder=routes.forwarder)
        else:
            served = serve(FastPath(app, routes))  # as the server serves it
        client = httpx.Client(base_url=served.url, trust_env=False, timeout=10)
        running.append((served, client))
        return Proxy(served.url, table, client)

    yield start
    for served, client in running:
        client.close()
        served.stop(wait=False)
        _stopping.append(served)


@pytest.fixture
def lean() -> Iterator[Callable[..., LeanServed]]:
    """Factory: the lean listener over `routes` (no keys), stopped at teardown."""
    running: list[LeanServed] = []

    def start(
        *routes: ModelRoute, tls: ssl.SSLContext | None = None, idle: float | None = None
    ) -> LeanServed:
        table = StaticRouteTable(*routes)
        app = FastAPI()
        inference = InferenceRoutes(table, keys=None)
        app.include_router(inference.router)
        handler = LeanInference(table, keys=None, pool=UpstreamPool())
        served = serve_lean(
            handler, FastPath(app, inference), forwarder=inference.forwarder, tls=tls, idle=idle
        )
        running.append(served)
        return served

    yield start
    for served in running:
        served.stop()


@pytest.fixture
def silent_upstream() -> Iterator[str]:
    """An upstream that accepts connections (kernel backlog) but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def garbage_upstream() -> Iterator[str]:
    """An upstream that answers every connection with bytes that are not HTTP, then hangs up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(65536)
                    conn.sendall(b"this is not http\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    sock.close()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    """A real state database in a temp dir."""
    db = Store(tmp_path / "state.db")
    yield db
    db.close()


@pytest.fixture
def keyring(store: Store) -> KeyRing:
    """API keys over the real `store`."""
    return KeyRing(store)
