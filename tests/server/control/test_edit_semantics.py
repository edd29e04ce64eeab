"""Editing a deployment: the new configuration applies to new instances only, replicas at once.
A real server process with the local worker running the OpenAI test backend."""

from __future__ import annotations

from pathlib import Path

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.processes import backend_pids, environ
from tests.fixtures.server import RunningServer
from tests.fixtures.waiting import wait_until


def running_names(server: RunningServer, name: str) -> list[str]:
    view = server.client().get_deployment(name)
    return sorted(i.name for i in view.instances if i.state is InstanceState.RUNNING)


def test_an_edit_leaves_running_instances_alone_and_applies_replicas_at_once(
    server: RunningServer, tmp_path: Path
) -> None:
    server.client().add_worker("local")
    spec = DeploymentSpec.model_validate(
        {
            "name": "edited",
            "source": {"local_path": str(tmp_path)},
            "replicas": 1,
            "advanced": {
                "command": BACKEND_TEMPLATE,
                "allow_cpu_offloading": True,
                "env": {"V": "old"},
            },
        }
    )
    client = server.client()
    client.create_deployment(spec)
    [first] = wait_until("one running", lambda: running_names(server, "edited"), timeout=30)
    [old_pid] = backend_pids("edited")
    assert environ(old_pid)["V"] == "old"

    changed = spec.model_copy(deep=True)
    changed.advanced.env = {"V": "new"}
    changed.replicas = 2
    view = client.apply_deployment(changed)
    assert view.spec == changed
    assert [i.name for i in view.instances] == [first]  # not restarted, not replaced
    wait_until(
        "a second instance at once",
        lambda: len(client.get_deployment("edited").instances) == 2,
        timeout=30,
    )
    both = wait_until(
        "two running", lambda: len(running_names(server, "edited")) == 2 or None, timeout=30
    )
    assert both
    assert first in running_names(server, "edited")
    pids = backend_pids("edited")
    assert old_pid in pids and len(pids) == 2
    assert environ(old_pid)["V"] == "old"  # the running one keeps the old configuration
    [new_pid] = [p for p in pids if p != old_pid]
    assert environ(new_pid)["V"] == "new"  # the new one has the new configuration

    fewer = changed.model_copy(update={"replicas": 1})
    client.apply_deployment(fewer)
    wait_until(
        "back to one", lambda: len(client.get_deployment("edited").instances) == 1, timeout=30
    )
    wait_until("one process", lambda: len(backend_pids("edited")) == 1, timeout=30)
