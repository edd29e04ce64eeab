"""The proxy's view of the store: which deployments exist and where they run.

Lookups are dict reads on an in-memory snapshot. The snapshot is rebuilt when the store's change
count moved since it was taken, which every committed write does, so a deleted deployment or a
stopped instance is never routed to once its change is committed, and a quiet store costs one
integer comparison per request.
"""

from __future__ import annotations

import threading

from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.server.proxy.routing import ModelRoute
from gpustack_tui.server.state.store import Store


class StoreRouteTable:
    """Answers the inference router from a snapshot of the state database, kept fresh."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._seen = -1
        self._routes: dict[str, ModelRoute] = {}

    def _build(self) -> dict[str, ModelRoute]:
        addresses = {w.name: w.address for w in self.store.list_workers()}
        routes: dict[str, ModelRoute] = {}
        for view in self.store.list_deployment_views():
            upstreams = tuple(
                f"http://{addresses[i.worker]}:{i.port}"
                for i in view.instances
                if i.state is InstanceState.RUNNING and i.worker in addresses and i.port
            )
            category = view.spec.advanced.category
            routes[view.spec.name] = ModelRoute(
                name=view.spec.name,
                generic_proxy=view.spec.advanced.generic_proxy,
                upstreams=upstreams,
                category="llm" if category == "auto" else category,
                created=int(view.created_at),
            )
        return routes

    def _snapshot(self) -> dict[str, ModelRoute]:
        version = self.store.change_count()
        if version == self._seen:
            return self._routes
        with self._lock:
            if version != self._seen:
                # Read the count before the rows: a write in between leaves the snapshot stale
                # by one count, so the next request rebuilds it again.
                self._routes, self._seen = self._build(), version
        return self._routes

    def lookup(self, model: str) -> ModelRoute | None:
        """The route of deployment `model`, or None if there is no such deployment."""
        return self._snapshot().get(model)

    def routes(self) -> list[ModelRoute]:
        """Every deployment's route, by name."""
        return list(self._snapshot().values())
