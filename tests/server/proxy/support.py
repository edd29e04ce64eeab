"""Helpers for the inference-route tests: an in-test route table, a real uvicorn in a thread."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import httpx
import uvicorn
import uvloop
from starlette.types import ASGIApp

from gpustack_tui.server.proxy import Forwarder, ModelRoute
from gpustack_tui.server.proxy.lean_exchange import LeanInference
from gpustack_tui.server.proxy.lean_server import LeanService
from gpustack_tui.server.proxy.lean_server import serve_lean as serve_lean_listener


class StaticRouteTable:
    """A RouteTable over a dict the test changes at will."""

    def __init__(self, *routes: ModelRoute) -> None:
        self._routes = {route.name: route for route in routes}

    def set(self, *routes: ModelRoute) -> None:
        """Add or replace deployments."""
        for route in routes:
            self._routes[route.name] = route

    def lookup(self, model: str) -> ModelRoute | None:
        return self._routes.get(model)

    def routes(self) -> list[ModelRoute]:
        return list(self._routes.values())


@dataclass
class Served:
    """An app served by uvicorn on 127.0.0.1, in a background thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, *, wait: bool = True) -> None:
        """Ask uvicorn to exit; `wait` for it (its shutdown takes about 0.2 s)."""
        self.server.should_exit = True
        if wait:
            self.thread.join(timeout=10)


def serve(app: ASGIApp) -> Served:
    """Serve `app` with real uvicorn (lifespan on) on a free port; returns once it is up."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return Served(f"http://127.0.0.1:{port}", server, thread)


def route(name: str, *upstreams: str, generic_proxy: bool = False, created: int = 0) -> ModelRoute:
    """A ModelRoute, short."""
    return ModelRoute(name, generic_proxy, tuple(upstreams), created=created)


def read_request_head(conn: socket.socket) -> bytes:
    """Read from `conn` until a request's head is whole, or the peer closes; what was read."""
    received = b""
    while b"\r\n\r\n" not in received:
        piece = conn.recv(65536)
        if not piece:
            break
        received += piece
    return received


def closed_port() -> int:
    """A port with nothing listening (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_openai_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    """The response is `status` with an OpenAI-shaped error of `code`; returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "code"}
    assert all(isinstance(value, str) and value for value in error.values())
    assert error["code"] == code
    return error


@dataclass
class LeanServed:
    """The lean inference listener on 127.0.0.1, on a uvloop event loop in a background thread."""

    url: str
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    stopped: threading.Event

    def stop(self, *, wait: bool = True) -> None:
        """Close the listener and its connections; `wait` for the thread to end."""
        self.loop.call_soon_threadsafe(self.stopped.set)
        if wait:
            self.thread.join(timeout=10)


def serve_lean(
    handler: LeanInference,
    app: ASGIApp,
    *,
    forwarder: Forwarder | None = None,
    tls: ssl.SSLContext | None = None,
    idle: float | None = None,
) -> LeanServed:
    """Serve `handler` (and `app` for the rest) as the server's inference listener does;
    `idle` replaces the seconds after which a silent connection is closed."""
    loop = uvloop.new_event_loop()
    ready: list[str] = []
    stopped = threading.Event()

    async def main() -> None:
        if forwarder is not None:
            await forwarder.start()
        service = LeanService(handler, app, tls=tls is not None)
        if idle is not None:
            service.idle = idle
        server = await serve_lean_listener(service, "127.0.0.1", 0, tls)
        port = server.sockets[0].getsockname()[1]
        ready.append(f"{'https' if tls else 'http'}://127.0.0.1:{port}")
        while not stopped.is_set():
            await asyncio.sleep(0.05)
        server.close()
        await service.close(grace=1.0)
        handler.pool.close()
        if forwarder is not None:
            await forwarder.aclose()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not ready:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the lean listener did not start")
        time.sleep(0.01)
    return LeanServed(ready[0], loop, thread, stopped)
