"""The inference routes: one OpenAI-compatible endpoint and a generic proxy to running instances.

Mount with::

    routes = InferenceRoutes(table, keys=key_ring, usage=usage_book)
    app.include_router(routes.router)
    served = FastPath(app, routes)  # the hot path, ahead of FastAPI's routing

`table` is anything that satisfies `RouteTable`; `keys` checks API keys (None only in tests of
the routing alone). Left without a `Forwarder`, the routes own one and start/close it in their
router's lifespan, which FastAPI merges into the app's on `include_router`. Pass a `Forwarder`
to manage it yourself (`await forwarder.start()` at startup, `await forwarder.aclose()` at
shutdown).

The inference listener (`gpustack-tui server --inference-port`) and the main port serve the same
routes on the lean path instead (a third of the CPU per request, see benchmarks/bench_proxy.py)::

    handler = LeanInference(table, keys=key_ring, usage=usage_book, pool=UpstreamPool())
    service = LeanService(handler, FastPath(app, routes))  # the app answers the rare requests
    server = await serve_lean(service, host, port, tls_context(cert, key))

Both paths apply one set of rules (rules.py: the key, the deployment and its scope, the
switches, the instances to try, the usage count); model_name.py reads which deployment a
request names, paths.py which paths are served and where each goes upstream.
router.py is the FastAPI path (forwarder.py sends over aiohttp). On the lean path,
lean_server.py parses requests (httptools) into lean_request.Incoming and keeps each
connection's one state (lean_state.py: the states and their moves), lean_exchange.py applies
the rules, lean_relay.py carries a request to an instance and its answer back, lean_upstream.py
keeps the keep-alive connections, lean_asgi.py hands what the lean path leaves alone to the app.
"""

from gpustack_tui.server.proxy.errors import ProxyError
from gpustack_tui.server.proxy.forwarder import Forwarder
from gpustack_tui.server.proxy.picker import RoundRobinPicker
from gpustack_tui.server.proxy.router import InferenceRoutes
from gpustack_tui.server.proxy.routing import ModelRoute, RouteTable
from gpustack_tui.server.proxy.rules import Grant, RequestRules

__all__ = [
    "Forwarder",
    "Grant",
    "InferenceRoutes",
    "ModelRoute",
    "ProxyError",
    "RequestRules",
    "RoundRobinPicker",
    "RouteTable",
]
