"""A deployment's worker selector is honoured: no matching label, no placement."""

from __future__ import annotations

import time

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.server import RunningServer, cli


def test_selector_waits_for_a_matching_worker(server: RunningServer, tmp_path) -> None:
    server.client().add_worker("local")
    command = BACKEND_TEMPLATE
    spec = DeploymentSpec.model_validate(
        {
            "name": "picky",
            "source": {"local_path": str(tmp_path)},
            "scheduling": {"worker_selector": {"gpu": "a100"}},
            "advanced": {"command": command, "allow_cpu_offloading": True},
        }
    )
    client = server.client()
    client.create_deployment(spec)

    def only_instance():
        instances = client.get_deployment("picky").instances
        pending = instances and instances[0].state is InstanceState.PENDING
        return instances[0] if pending and instances[0].state_message else None

    deadline = time.monotonic() + 20
    while (instance := only_instance()) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert instance is not None
    assert instance.state is InstanceState.PENDING
    assert "local: labels do not match the worker selector {gpu=a100}" in instance.state_message

    cli(server, "workers", "label", "local", "gpu=a100")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        instance = client.get_deployment("picky").instances[0]
        if instance.state is InstanceState.RUNNING:
            break
        time.sleep(0.2)
    assert instance.state is InstanceState.RUNNING and instance.worker == "local"
