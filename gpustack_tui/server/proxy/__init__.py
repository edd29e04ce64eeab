"""The inference routes: one OpenAI-compatible endpoint and a generic proxy to running instances.

Mount with::

    router = build_inference_router(table, keys=key_ring, usage=usage_book)
    app.include_router(router)
    served = FastPath(app, router)  # the hot path, ahead of FastAPI's routing

`table` is anything that satisfies `RouteTable`; `keys` checks API keys (None only in tests of
the routing alone). Left without a `Forwarder`, the router owns one and
starts/closes it in its own lifespan, which FastAPI merges into the app's on `include_router`.
Pass a `Forwarder` to manage it yourself (`await forwarder.start()` at startup,
`await forwarder.aclose()` at shutdown).

The inference listener (`gpustack-tui server --inference-port`) serves the same routes on the
lean path instead (a third of the CPU per request, see benchmarks/bench_proxy.py)::

    handler = LeanInference(table, keys=key_ring, usage=usage_book, pool=UpstreamPool())
    service = LeanService(handler, FastPath(app, router))  # the app answers the rare requests
    server = await serve_lean(service, host, port, tls_context(cert, key))

lean_server.py parses requests (httptools), lean_exchange.py applies the routes' rules,
lean_relay.py carries a request to an instance and its answer back, lean_upstream.py keeps
the keep-alive connections, lean_asgi.py hands what the lean path leaves alone to the app.
"""

from gpustack_tui.server.proxy.errors import ProxyError
from gpustack_tui.server.proxy.forwarder import Forwarder
from gpustack_tui.server.proxy.picker import RoundRobinPicker
from gpustack_tui.server.proxy.router import build_inference_router
from gpustack_tui.server.proxy.routing import ModelRoute, RouteTable

__all__ = [
    "Forwarder",
    "ModelRoute",
    "ProxyError",
    "RoundRobinPicker",
    "RouteTable",
    "build_inference_router",
]
