"""What the API handlers share: the installation, the store, the sessions and the reconciler."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from gpustack_tui.config import Paths
from gpustack_tui.server.control.reconciler import Reconciler
from gpustack_tui.server.state.store import Store
from gpustack_tui.server.workers.sessions import SessionManager


@dataclass
class ServerContext:
    """The server's long-lived parts."""

    paths: Paths
    store: Store
    sessions: SessionManager
    reconciler: Reconciler
    token: str


def get_context(request: Request) -> ServerContext:
    """FastAPI dependency: the context of the app serving this request."""
    return request.app.state.context
