"""The lean listener as uvicorn's HTTP protocol: the management port's one front door.

uvicorn keeps what it does well (the app's lifespan, signals, the listening socket, a graceful
stop), and every connection is a lean `ClientConnection`: the inference routes are answered
without a framework, everything else (the management API, /healthz, /metrics, the rare
inference requests) goes to the app through `AsgiExchange`, as on the inference listener.

    config = uvicorn.Config(app, http=LeanProtocol(service), ...)
"""

from __future__ import annotations

import asyncio
from typing import Any

from gpustack_tui.server.proxy.lean_server import ClientConnection, LeanService


class LeanProtocol:
    """A protocol factory for `uvicorn.Config(http=...)` making `service`'s connections.

    The connections and request tasks are counted in uvicorn's own server state, so that its
    graceful stop waits for the answers being sent (and cancels them after
    `timeout_graceful_shutdown`) and calls each connection's `shutdown()`.
    """

    alpn_protocols = None
    """No HTTP/2: uvicorn asks the protocol class which ALPN names it speaks."""

    def __init__(self, service: LeanService) -> None:
        self.service = service

    def __call__(
        self,
        config: Any = None,
        server_state: Any = None,
        app_state: dict[str, Any] | None = None,
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> ClientConnection:
        """A connection, as uvicorn asks for one per accepted socket."""
        if server_state is not None:
            self.service.share_state(server_state.connections, server_state.tasks)
        return ClientConnection(self.service)
