"""Who starts and closes the forwarder's shared client."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

from gpustack_tui.server.proxy import Forwarder, InferenceRoutes
from tests.server.proxy.support import StaticRouteTable, route, serve


def test_owned_forwarder_runs_in_the_router_lifespan(shared_backends) -> None:
    backend = shared_backends[0]
    table = StaticRouteTable(route("m", backend.url))
    app = FastAPI()
    app.include_router(InferenceRoutes(table, keys=None).router, prefix="/api")
    served = serve(app)
    try:
        response = httpx.post(
            served.url + "/api/v1/completions",
            json={"model": "m", "prompt": "mounted"},
            trust_env=False,
        )
        assert response.json()["choices"][0]["text"] == "mounted"
        echo = httpx.get(
            served.url + "/api/model/proxy/p", headers={"X-GPUStack-Model": "m"}, trust_env=False
        )
        assert echo.status_code == 404  # generic proxy off for "m"
    finally:
        served.stop()


async def test_start_and_aclose_are_idempotent() -> None:
    forwarder = Forwarder()
    assert not forwarder.started
    await forwarder.start()
    await forwarder.start()
    assert forwarder.started
    await forwarder.aclose()
    await forwarder.aclose()
    assert not forwarder.started


async def test_forward_before_start_raises() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    with pytest.raises(RuntimeError, match="not started"):
        await Forwarder().forward(
            request, deployment="m", upstreams=["http://127.0.0.1:1"], path="/", body=b""
        )


def test_caller_owned_forwarder_follows_the_app_lifespan(shared_backends, start_proxy) -> None:
    backend = shared_backends[0]
    forwarder = Forwarder()
    proxy = start_proxy(route("m", backend.url, generic_proxy=True), forwarder=forwarder)
    assert forwarder.started
    response = proxy.client.get("/model/proxy/p/q", headers={"X-GPUStack-Model": "m"})
    assert response.json()["path"] == "/p/q"


def test_generic_proxy_path_under_a_mount_prefix(shared_backends) -> None:
    backend = shared_backends[0]
    table = StaticRouteTable(route("m", backend.url, generic_proxy=True))
    app = FastAPI()
    app.include_router(InferenceRoutes(table, keys=None).router, prefix="/api")
    served = serve(app)
    try:
        echo = httpx.get(
            served.url + "/api/model/proxy/p?x=1",
            headers={"X-GPUStack-Model": "m"},
            trust_env=False,
        )
        assert echo.json()["path"] == "/p"
        assert echo.json()["query"] == "x=1"
    finally:
        served.stop()
