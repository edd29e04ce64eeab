"""The inference routes: the OpenAI-compatible endpoint and the generic proxy."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.forwarder import Body, Forwarder
from gpustack_tui.server.proxy.headers import presented_key
from gpustack_tui.server.proxy.model_name import MODEL_HEADER, model_from_json, model_of
from gpustack_tui.server.proxy.picker import RoundRobinPicker
from gpustack_tui.server.proxy.routing import ModelRoute, RouteTable
from gpustack_tui.server.proxy.usage import tokens_from_body

OPENAI_PATHS = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/rerank",
    "/v1/audio/transcriptions",
    "/v1/audio/translations",
    "/v1/audio/speech",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/responses",
)
"""POST routes that go to the same path upstream, routed by the request's model."""

ALIASES = {"/rerank": "/v1/rerank"}
"""Paths some clients use, served as their /v1 twin."""

PROXY_PREFIX = "/model/proxy"
"""The generic proxy's prefix, stripped before forwarding."""

PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
OWNED_BY = "gpustack-tui"
MAX_TRIES = 2
"""An instance that refuses the connection is skipped once; then the error is the client's."""


Endpoint = Callable[[Request], Awaitable[Response]]


class Grant(Protocol):
    """What a key allows (see `gpustack_tui.server.access.keys.Grant`)."""

    name: str

    def allows(self, deployment: str) -> bool:
        """Whether the key may reach `deployment`."""
        ...


class Authenticator(Protocol):
    """Checks the key a request presents (see `gpustack_tui.server.access.keys.KeyRing`)."""

    def authenticate(self, key: str | None) -> Grant:
        """The key's grant; raises ProxyError 401 when it is missing or not valid."""
        ...

    def authenticate_headers(self, authorization: bytes | None, api_key: bytes | None) -> Grant:
        """`authenticate` of the key in the raw Authorization / X-API-Key header values."""
        ...


class UsageRecorder(Protocol):
    """Counts finished requests (see `gpustack_tui.server.proxy.usage.UsageBook`)."""

    def record(
        self, deployment: str, key: str | None, *, status: int, seconds: float, tokens: Any = None
    ) -> None:
        """Count one request."""
        ...


def build_inference_router(
    table: RouteTable,
    forwarder: Forwarder | None = None,
    *,
    keys: Authenticator | None,
    picker: RoundRobinPicker | None = None,
    usage: UsageRecorder | None = None,
) -> APIRouter:
    """The inference routes, reading deployments from `table` on every request.

    Serves `GET /v1/models` (and `GET /v1/models/{model}`), the POST routes of `OPENAI_PATHS`,
    and `/model/proxy/{path}` (any method). Errors are JSON in the OpenAI shape
    `{"error": {"message", "type", "code"}}`.

    `keys` checks the API key of every request (`Authorization: Bearer` or `X-API-Key`); it must
    be given, and None (no keys at all) is for tests of the routing alone. `usage`, when given,
    counts every request that names a deployment.

    Lifecycle: with `forwarder=None` the router creates its own `Forwarder` and starts/closes it
    in the router's lifespan, which `app.include_router` merges into the app's lifespan. With a
    `forwarder` given, the caller owns it. `picker` defaults to a new `RoundRobinPicker`.
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
    fast_paths: dict[str, Endpoint] = {}

    def authenticate(request: Request) -> Grant | None:
        if keys is None:
            return None
        headers = request.headers
        return keys.authenticate(
            presented_key(headers.get("authorization"), headers.get("x-api-key"))
        )

    def lookup(model: str, grant: Grant | None) -> ModelRoute:
        route = table.lookup(model)
        if route is None or (grant is not None and not grant.allows(route.name)):
            raise errors.model_not_found(model)  # outside the key's scope reads as absent
        return route

    async def forward(
        request: Request, route: ModelRoute, grant: Grant | None, path: str, body: Body, t0: float
    ) -> Response:
        if not route.upstreams:
            raise errors.no_running_instance(route.name)
        upstreams = rr.order(route.name, route.upstreams)[:MAX_TRIES]
        key = grant.name if grant is not None else None
        on_done = None
        if usage is not None:

            def on_done(status: int, captured: bytes, streamed: bool) -> None:
                tokens = tokens_from_body(captured, streamed=streamed) if captured else None
                usage.record(
                    route.name, key, status=status, seconds=time.perf_counter() - t0, tokens=tokens
                )

        return await fwd.forward(
            request,
            deployment=route.name,
            upstreams=upstreams,
            path=path,
            body=body,
            on_done=on_done,
        )

    def failed(
        exc: errors.ProxyError, route: ModelRoute | None, grant: Grant | None, t0: float
    ) -> Response:
        if usage is not None and route is not None:
            key = grant.name if grant is not None else None
            usage.record(route.name, key, status=exc.status_code, seconds=time.perf_counter() - t0)
        return exc.to_response()

    @router.get("/v1/models")
    async def list_models(request: Request) -> Response:
        """Deployments with at least one running instance that the key may use."""
        try:
            grant = authenticate(request)
        except errors.ProxyError as exc:
            return exc.to_response()
        data = [
            _model_object(r)
            for r in table.routes()
            if r.upstreams and (grant is None or grant.allows(r.name))
        ]
        return JSONResponse({"object": "list", "data": data})

    @router.get("/v1/models/{model}")
    async def get_model(model: str, request: Request) -> Response:
        """One deployment, if it has a running instance and the key may use it."""
        try:
            route = lookup(model, authenticate(request))
        except errors.ProxyError as exc:
            return exc.to_response()
        if not route.upstreams:
            return errors.model_not_found(model).to_response()
        return JSONResponse(_model_object(route))

    def openai_route(path: str, upstream_path: str) -> None:
        async def endpoint(request: Request) -> Response:
            t0 = time.perf_counter()
            route = grant = None
            try:
                grant = authenticate(request)
                model, body = await model_of(request)
                route = lookup(model, grant)
                return await forward(request, route, grant, upstream_path, body, t0)
            except errors.ProxyError as exc:
                return failed(exc, route, grant, t0)

        endpoint.__name__ = "openai_" + path.removeprefix("/").replace("/", "_")
        endpoint.__doc__ = f"OpenAI `{upstream_path}`: routed by the model to the next instance."
        router.add_api_route(
            path, endpoint, methods=["POST"], include_in_schema=path == upstream_path
        )
        fast_paths[path] = endpoint

    for path in OPENAI_PATHS:
        openai_route(path, path)
    for alias, path in ALIASES.items():
        openai_route(alias, path)

    async def generic_proxy(request: Request) -> Response:
        """Any method: the deployment from X-GPUStack-Model or the body's model, prefix stripped."""
        t0 = time.perf_counter()
        route = grant = None
        try:
            grant = authenticate(request)
            body: Body
            header = request.headers.get(MODEL_HEADER, "").strip()
            if header:
                model = header
                body = request.stream() if _has_body(request) else b""
            else:
                body = await request.body()
                model = model_from_json(body, generic=True)
            route = lookup(model, grant)
            if not route.generic_proxy:
                raise errors.generic_proxy_disabled(route.name)
            return await forward(request, route, grant, _proxied_path(request), body, t0)
        except errors.ProxyError as exc:
            return failed(exc, route, grant, t0)

    router.fast_paths = fast_paths  # type: ignore[attr-defined]
    router.generic_proxy = generic_proxy  # type: ignore[attr-defined]
    router.forwarder = fwd  # type: ignore[attr-defined]
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
    return {
        "id": route.name,
        "object": "model",
        "created": route.created,
        "owned_by": OWNED_BY,
        "category": route.category,
    }


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
