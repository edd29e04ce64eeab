"""The proxy's view of the store: which deployments exist and where they run."""

from __future__ import annotations

from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.server.proxy.routing import ModelRoute
from gpustack_tui.server.store import NotFound, Store


class StoreRouteTable:
    """Answers the inference router from the state database, so a change is seen at once."""

    def __init__(self, store: Store):
        self.store = store

    def _route(self, name: str) -> ModelRoute:
        view = self.store.deployment_view(name)
        addresses = {w.name: w.address for w in self.store.list_workers()}
        upstreams = tuple(
            f"http://{addresses[i.worker]}:{i.port}"
            for i in view.instances
            if i.state is InstanceState.RUNNING and i.worker in addresses and i.port
        )
        category = view.spec.advanced.category
        return ModelRoute(
            name=name,
            generic_proxy=view.spec.advanced.generic_proxy,
            upstreams=upstreams,
            category="llm" if category == "auto" else category,
            created=int(view.created_at),
        )

    def lookup(self, model: str) -> ModelRoute | None:
        """The route of deployment `model`, or None if there is no such deployment."""
        try:
            return self._route(model)
        except NotFound:
            return None

    def routes(self) -> list[ModelRoute]:
        """Every deployment's route."""
        return [self._route(spec.name) for spec in self.store.list_specs()]
