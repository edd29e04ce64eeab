"""The inference routes on FastAPI: the OpenAI-compatible endpoint and the generic proxy.

`InferenceRoutes` owns what the routes share (the rules over the route table, the keys and the
usage book; the forwarder) and builds the `APIRouter` that serves them. The lean listener
(`lean_exchange.py`) applies the same `rules.RequestRules` without a framework.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.forwarder import Body, Forwarder
from gpustack_tui.server.proxy.model_name import MODEL_HEADER, model_of, requested_model
from gpustack_tui.server.proxy.paths import (
    ALIASES,
    OPENAI_PATHS,
    PROXY_METHODS,
    PROXY_PREFIX,
    proxied_path,
)
from gpustack_tui.server.proxy.picker import RoundRobinPicker
from gpustack_tui.server.proxy.routing import ModelRoute, RouteTable
from gpustack_tui.server.proxy.rules import (
    Admission,
    Authenticator,
    RequestRules,
    UsageRecorder,
    credentials,
)
from gpustack_tui.server.proxy.usage import tokens_from_body

OWNED_BY = "gpustack-tui"

Endpoint = Callable[[Request], Awaitable[Response]]
_GENERIC_METHODS = frozenset(PROXY_METHODS)


class InferenceRoutes:
    """The inference routes, reading deployments from `table` on every request.

    `router` serves `GET /v1/models` (and `GET /v1/models/{model}`), the POST routes of
    `paths.OPENAI_PATHS` (and their aliases), and `/model/proxy/{path}` (any method of
    `paths.PROXY_METHODS`). Errors are JSON in the OpenAI shape
    `{"error": {"message", "type", "code"}}`.

    `keys` checks the API key of every request (`Authorization: Bearer` or `X-API-Key`); it must
    be given, and None (no keys at all) is for tests of the routing alone. `usage`, when given,
    counts every request that names a deployment. `picker` defaults to a new `RoundRobinPicker`.

    Lifecycle: with `forwarder=None` the routes create their own `Forwarder` and start/close it
    in the router's lifespan, which `app.include_router` merges into the app's lifespan. With a
    `forwarder` given, the caller owns it.
    """

    def __init__(
        self,
        table: RouteTable,
        forwarder: Forwarder | None = None,
        *,
        keys: Authenticator | None,
        picker: RoundRobinPicker | None = None,
        usage: UsageRecorder | None = None,
    ) -> None:
        self.rules = RequestRules(table, keys=keys, usage=usage, picker=picker)
        self.forwarder = forwarder if forwarder is not None else Forwarder()
        self._owns_forwarder = forwarder is None
        self._openai: dict[str, Endpoint] = {}
        self.router = APIRouter(tags=["inference"], lifespan=self._lifespan)
        """The routes, for `app.include_router`."""
        self._add_routes()

    @property
    def table(self) -> RouteTable:
        """Where deployments are looked up."""
        return self.rules.table

    @property
    def keys(self) -> Authenticator | None:
        """The API key check (None: no keys are checked)."""
        return self.rules.keys

    @property
    def usage(self) -> UsageRecorder | None:
        """Where finished requests are counted, if anywhere."""
        return self.rules.usage

    def endpoint_for(self, method: str, path: str) -> Endpoint | None:
        """The endpoint that answers `method path` (an OpenAI POST route, or the generic proxy
        at its unmounted prefix), for `FastPath`; None for every other request."""
        if method == "POST":
            endpoint = self._openai.get(path)
            if endpoint is not None:
                return endpoint
        if method in _GENERIC_METHODS and (
            path == PROXY_PREFIX or path.startswith(PROXY_PREFIX + "/")
        ):
            return self.generic_proxy
        return None

    # -- building ------------------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self, _app: Any) -> AsyncIterator[None]:
        if self._owns_forwarder:
            await self.forwarder.start()
        try:
            yield
        finally:
            if self._owns_forwarder:
                await self.forwarder.aclose()

    def _add_routes(self) -> None:
        router = self.router
        router.add_api_route("/v1/models", self.list_models, methods=["GET"])
        router.add_api_route("/v1/models/{model}", self.get_model, methods=["GET"])
        for path in OPENAI_PATHS:
            self._add_openai(path, path)
        for alias, path in ALIASES.items():
            self._add_openai(alias, path)
        # One route per method: a multi-method route gives every method the same OpenAPI
        # operation id.
        for method in PROXY_METHODS:
            name = f"generic_proxy_{method.lower()}"
            router.add_api_route(
                PROXY_PREFIX + "/{path:path}", self.generic_proxy, methods=[method], name=name
            )
            router.add_api_route(
                PROXY_PREFIX,
                self.generic_proxy,
                methods=[method],
                name=name + "_root",
                include_in_schema=False,
            )

    def _add_openai(self, path: str, upstream_path: str) -> None:
        endpoint = _OpenAIEndpoint(self, upstream_path).serve
        self.router.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            name="openai_" + path.removeprefix("/").replace("/", "_"),
            description=f"OpenAI `{upstream_path}`: routed by the model to the next instance.",
            include_in_schema=path == upstream_path,
        )
        self._openai[path] = endpoint

    # -- the endpoints -------------------------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        """Deployments with at least one running instance that the key may use."""
        try:
            grant = self.rules.authenticate(*credentials(request.headers.raw))
        except errors.ProxyError as exc:
            return exc.to_response()
        data = [_model_object(route) for route in self.rules.visible(grant)]
        return JSONResponse({"object": "list", "data": data})

    async def get_model(self, model: str, request: Request) -> Response:
        """One deployment, if it has a running instance and the key may use it."""
        try:
            grant = self.rules.authenticate(*credentials(request.headers.raw))
            route = self.rules.route(model, grant)
        except errors.ProxyError as exc:
            return exc.to_response()
        if not route.upstreams:
            return errors.model_not_found(model).to_response()
        return JSONResponse(_model_object(route))

    async def openai(self, request: Request, upstream_path: str) -> Response:
        """A POST to an OpenAI route: routed by the model to the next instance's
        `upstream_path`."""
        started = time.perf_counter()
        admission: Admission | None = None
        try:
            grant = self.rules.authenticate(*credentials(request.headers.raw))
            model, body = await model_of(request)
            admission = self.rules.admit(model, grant, generic=False, started=started)
            return await self._forward(request, admission, upstream_path, body)
        except errors.ProxyError as exc:
            if admission is not None:
                admission.record(exc.status_code)
            return exc.to_response()

    async def generic_proxy(self, request: Request) -> Response:
        """Any method: the deployment from X-GPUStack-Model or the body's model, prefix stripped."""
        started = time.perf_counter()
        admission: Admission | None = None
        try:
            raw = request.headers.raw
            grant = self.rules.authenticate(*credentials(raw))
            header = request.headers.get(MODEL_HEADER, "").strip()
            body: Body
            if header:  # the body is not needed to name the model: it streams through
                body = request.stream() if _has_body(request) else b""
                model = header
            else:
                body = await request.body()
                model = requested_model(body, generic=True)
            admission = self.rules.admit(model, grant, generic=True, started=started)
            return await self._forward(request, admission, _proxied_path(request), body)
        except errors.ProxyError as exc:
            if admission is not None:
                admission.record(exc.status_code)
            return exc.to_response()

    async def _forward(
        self, request: Request, admission: Admission, path: str, body: Body
    ) -> Response:
        on_done = None
        if admission.usage is not None:

            def on_done(status: int, captured: bytes, streamed: bool) -> None:
                tokens = tokens_from_body(captured, streamed=streamed) if captured else None
                admission.record(status, tokens)

        return await self.forwarder.forward(
            request,
            deployment=admission.deployment,
            upstreams=admission.upstreams,
            path=path,
            body=body,
            on_done=on_done,
        )


class _OpenAIEndpoint:
    """The endpoint of one OpenAI path: the routes' `openai`, bound to the instance's path."""

    def __init__(self, routes: InferenceRoutes, upstream_path: str) -> None:
        self.routes = routes
        self.upstream_path = upstream_path

    async def serve(self, request: Request) -> Response:
        """Answer a POST to this path."""
        return await self.routes.openai(request, self.upstream_path)


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
    raw = request.scope.get("raw_path") or quote(request.url.path).encode()
    rest = proxied_path(raw)
    if rest is None:
        return "/" + str(request.path_params.get("path", ""))
    return rest.decode("latin-1")
