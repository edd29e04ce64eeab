"""The route table: an in-memory snapshot of a real store that follows every committed write."""

from __future__ import annotations

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.proxy.route_table import StoreRouteTable
from gpustack_tui.server.state.store import Store


def _spec(name: str, **advanced: object) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {
            "name": name,
            "source": {"local_path": "/models/x"},
            "advanced": {"command": "serve {port}", **advanced},
        }
    )


def test_lookups_follow_every_change_without_routing_to_the_deleted(store: Store) -> None:
    table = StoreRouteTable(store)
    assert table.lookup("m") is None and table.routes() == []
    store.add_worker(Worker(name="w", destination="w", address="10.0.0.7"))
    store.create_deployment(_spec("m", generic_proxy=True, category="embedding"))
    route = table.lookup("m")
    assert route is not None and route.upstreams == () and route.generic_proxy
    assert route.category == "embedding"

    store.add_instance(Instance(name="m-a", deployment="m", worker="w", port=4001))
    assert table.lookup("m").upstreams == ()  # not running yet
    store.set_instance_state("m-a", InstanceState.RUNNING)
    assert table.lookup("m").upstreams == ("http://10.0.0.7:4001",)

    store.set_instance_state("m-a", InstanceState.ERROR, "crashed")
    assert table.lookup("m").upstreams == ()
    store.set_instance_state("m-a", InstanceState.RUNNING)
    store.delete_deployment("m")
    assert table.lookup("m") is None
    assert table.routes() == []


def test_a_quiet_store_is_read_once(store: Store) -> None:
    store.create_deployment(_spec("m"))
    table = StoreRouteTable(store)
    first = table.lookup("m")
    assert table.lookup("m") is first  # the same object: no rebuild, no SQL
    store.update_deployment(_spec("m", generic_proxy=True))
    assert table.lookup("m") is not first and table.lookup("m").generic_proxy


def test_instance_on_a_removed_worker_is_not_routed(store: Store) -> None:
    store.add_worker(Worker(name="w", destination="w"))
    store.create_deployment(_spec("m"))
    store.add_instance(
        Instance(name="m-a", deployment="m", worker="w", port=4001, state=InstanceState.RUNNING)
    )
    table = StoreRouteTable(store)
    assert table.lookup("m").upstreams == ("http://127.0.0.1:4001",)
    store.remove_worker("w")
    assert table.lookup("m").upstreams == ()
