"""The inference routes: the OpenAI-compatible endpoint and the generic proxy."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.forwarder import Body, Forwarder
from gpustack_tui.server.proxy.picker import RoundRobinPicker
from gpustack_tui.server.proxy.routing import ModelRoute, RouteTable

OPENAI_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
"""POST routes that read "model" from the JSON body and go to the same path upstream."""

PROXY_PREFIX = "/model/proxy"
"""The generic proxy's prefix, stripped before forwarding."""

MODEL_HEADER = "X-GPUStack-Model"
"""Names the deployment for the generic proxy (before the JSON body's "model")."""

PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
OWNED_BY = "gpustack-tui"


def build_inference_router(
    table: RouteTable,
    forwarder: Forwarder | None = None,
    *,
    picker: RoundRobinPicker | None = None,
) -> APIRouter:
    """The inference routes, reading deployments from `table` on every request.

    Serves `GET /v1/models` (and `GET /v1/models/{model}`), `POST /v1/chat/completions`,
    `/v1/completions` and `/v1/embeddings`, and `/model/proxy/{path}` (any method). Errors are
    JSON in the OpenAI shape `{"error": {"message", "type", "code"}}`.

    Lifecycle: with `forwarder=None` the router creates its own `Forwarder` and starts/closes it
    in the router's lifespan, which `app.include_router` merges into the app's lifespan (so it
    runs under uvicorn, or `with TestClient(app)`). With a `forwarder` given, the caller owns it:
    `await forwarder.start()` at startup and `await forwarder.aclose()` at shutdown.
    `picker` defaults to a new `RoundRobinPicker`.
    """
    owned = forwarder is None
    fwd = Forwarder() if forwarder is None else forwarder
    rr = picker or RoundRobinPicker()

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        if owned:
            await fwd.start()
        try:
            yield
        finally:
            if owned:
                await fwd.aclose()

    router = APIRouter(tags=["inference"], lifespan=lifespan)

    async def forward(request: Request, route: ModelRoute, path: str, body: Body) -> Response:
        if not route.upstreams:
            raise errors.no_running_instance(route.name)
        upstreams = rr.order(route.name, route.upstreams)
        return await fwd.forward(
            request, deployment=route.name, upstreams=upstreams, path=path, body=body
        )

    @router.get("/v1/models")
    async def list_models() -> JSONResponse:
        """Deployments with at least one running instance, in the OpenAI list shape."""
        data = [_model_object(r) for r in table.routes() if r.upstreams]
        return JSONResponse({"object": "list", "data": data})

    @router.get("/v1/models/{model}")
    async def get_model(model: str) -> JSONResponse:
        """One deployment, if it has a running instance."""
        route = table.lookup(model)
        if route is None or not route.upstreams:
            return errors.model_not_found(model).to_response()
        return JSONResponse(_model_object(route))

    def openai_route(path: str) -> None:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            try:
                model = _model_from_body(body)
                route = _lookup(table, model)
                return await forward(request, route, path, body)
            except errors.ProxyError as exc:
                return exc.to_response()

        endpoint.__name__ = "openai_" + path.rsplit("/", 1)[-1]
        endpoint.__doc__ = f"OpenAI `{path}`: routed by the body's model to the next instance."
        router.add_api_route(path, endpoint, methods=["POST"])

    for path in OPENAI_PATHS:
        openai_route(path)

    async def generic_proxy(request: Request) -> Response:
        """Any method: the deployment from X-GPUStack-Model or the body's model, prefix stripped."""
        try:
            body: Body
            header = request.headers.get(MODEL_HEADER, "").strip()
            if header:
                model = header
                body = request.stream() if _has_body(request) else b""
            else:
                body = await request.body()
                model = _model_from_body(body, generic=True)
            route = _lookup(table, model)
            if not route.generic_proxy:
                raise errors.generic_proxy_disabled(route.name)
            return await forward(request, route, _proxied_path(request), body)
        except errors.ProxyError as exc:
            return exc.to_response()

    # One route per method: a multi-method route gives every method the same OpenAPI operation id.
    for method in PROXY_METHODS:
        name = f"generic_proxy_{method.lower()}"
        router.add_api_route(
            PROXY_PREFIX + "/{path:path}", generic_proxy, methods=[method], name=name
        )
        router.add_api_route(
            PROXY_PREFIX,
            generic_proxy,
            methods=[method],
            name=name + "_root",
            include_in_schema=False,
        )
    return router


def _model_object(route: ModelRoute) -> dict[str, Any]:
    return {"id": route.name, "object": "model", "created": route.created, "owned_by": OWNED_BY}


def _lookup(table: RouteTable, model: str) -> ModelRoute:
    route = table.lookup(model)
    if route is None:
        raise errors.model_not_found(model)
    return route


def _model_from_body(body: bytes, *, generic: bool = False) -> str:
    """The JSON body's "model", or a 400 saying what is wrong."""
    where = f'the {MODEL_HEADER} header or the JSON body\'s "model"' if generic else '"model"'
    try:
        parsed = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        if generic:
            raise errors.bad_request(
                "model_required", f"name the deployment in {where} (the body is not JSON)"
            ) from None
        raise errors.bad_request("invalid_json", "the request body is not valid JSON") from None
    model = parsed.get("model") if isinstance(parsed, dict) else None
    if not isinstance(model, str) or not model.strip():
        raise errors.bad_request(
            "model_required", f"name the deployment in {where}: a non-empty string"
        )
    return model.strip()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


def _proxied_path(request: Request) -> str:
    """The request's path after /model/proxy, still percent-encoded as the client sent it."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(request.url.path)
    at = path.find(PROXY_PREFIX)
    rest = path[at + len(PROXY_PREFIX) :] if at >= 0 else "/" + request.path_params.get("path", "")
    return rest if rest.startswith("/") else "/" + rest
