"""The hot path in front of the app: inference requests skip FastAPI, the rest reach it."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from gpustack_tui.server.proxy import InferenceRoutes
from gpustack_tui.server.proxy.fast_path import FastPath
from tests.server.proxy.support import StaticRouteTable, assert_openai_error, route, serve


class BrokenTable(StaticRouteTable):
    """A table that fails on lookups, as a bug would."""

    def lookup(self, model: str):
        raise RuntimeError("boom: internal detail")


def test_other_paths_reach_the_app_and_a_bug_is_a_clean_500(shared_backends) -> None:
    app = FastAPI()
    routes = InferenceRoutes(BrokenTable(route("m", shared_backends[0].url)), keys=None)
    app.include_router(routes.router)

    @app.post("/v1/chat/completions/extra")
    def extra() -> dict[str, str]:
        return {"served_by": "the app"}

    served = serve(FastPath(app, routes))
    try:
        with httpx.Client(base_url=served.url, trust_env=False, timeout=10) as client:
            error = assert_openai_error(
                client.post("/v1/chat/completions", json={"model": "m"}), 500, "internal_error"
            )
            assert "boom" not in error["message"]
            assert client.post("/v1/chat/completions/extra").json() == {"served_by": "the app"}
            assert client.get("/v1/models").json()["data"][0]["id"] == "m"
            assert client.get("/model/proxyless").status_code == 404  # not the proxy prefix
            # The server still answers after the failure.
            assert client.get("/v1/models").status_code == 200
    finally:
        served.stop()
