"""Instances survive faults, with real parts only: a real server process, a real sshd worker with
the real agent, and the OpenAI test backend deployed on it.

(a) the SSH connection is killed; (b) the agent is SIGKILLed; (c) an instance exits while no
agent watches; (d) the server restarts. Each time the instance keeps serving on its port, and
is re-adopted afterwards: the same pid, never a second process.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gpustack_tui.client import Client
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.server.workers.keepalive import KEEPALIVE_ENV
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.processes import agent_pids, backend_pids, parent_pid
from tests.fixtures.server import RunningServer, start_server, stop_server
from tests.fixtures.sshd import SshdServer
from tests.fixtures.waiting import wait_until


def serves(instance: Instance) -> bool:
    """Whether the instance answers on its own port, bypassing the server."""
    try:
        reply = httpx.get(f"http://127.0.0.1:{instance.port}/v1/models", timeout=2)
    except httpx.HTTPError:
        return False
    return reply.status_code == 200


@dataclass
class Scene:
    """A server with worker `w1` (the sshd) running one instance of deployment `model`."""

    sshd: SshdServer
    data_dir: Path
    model: str
    servers: list[RunningServer] = field(default_factory=list)

    @property
    def server(self) -> RunningServer:
        return self.servers[-1]

    def client(self) -> Client:
        return self.server.client()

    def instance(self) -> Instance:
        (found,) = self.client().list_instances()
        return found

    def worker_state(self) -> WorkerState:
        return self.client().get_worker("w1").state

    def running(self) -> Instance | None:
        instances = self.client().list_instances()  # none until the reconciler makes it
        if len(instances) == 1 and instances[0].state is InstanceState.RUNNING:
            return instances[0]
        return None

    def agent(self) -> int:
        (pid,) = wait_until(
            "one agent", lambda: agent_pids(self.sshd.agent_home) or None, timeout=40
        )
        return pid

    def restart_server(self) -> None:
        stop_server(self.server)
        self.servers.append(start_server(self.data_dir))


@pytest.fixture
def scene(
    request: pytest.FixtureRequest,
    sshd_server: SshdServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Scene]:
    monkeypatch.setenv(KEEPALIVE_ENV, "1")  # the server's SSH keepalive period
    model = f"surv-{request.node.name.split('_')[-1]}"
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    scene = Scene(sshd_server, tmp_path / "install", model)
    scene.servers.append(start_server(scene.data_dir))
    try:
        client = scene.client()
        client.add_worker(
            sshd_server.destination,
            "w1",
            str(sshd_server.identity_file),
            sshd_server.host_key_fingerprint,
        )
        command = f"{BACKEND_TEMPLATE} --chunk-delay 0.01"
        spec = {
            "name": model,
            "source": {"local_path": str(model_dir)},
            "backend": "custom",
            "advanced": {"command": command, "vram_claim_gib": 1, "restart_on_error": False},
        }
        client.create_deployment(DeploymentSpec.model_validate(spec))
        wait_until("the instance to run", scene.running, timeout=40)
        yield scene
    finally:
        stop_server(scene.server)


def test_killed_ssh_connection(scene: Scene) -> None:
    before = scene.running()
    assert before is not None and backend_pids(scene.model) == [before.pid]
    session = parent_pid(scene.agent())  # the sshd process serving the agent's channel
    scene.sshd.stop()  # no new connection until the listener is back
    os.kill(session, signal.SIGKILL)

    wait_until(
        "w1 unreachable", lambda: scene.worker_state() is WorkerState.UNREACHABLE, timeout=40
    )
    lost = wait_until(
        "the instance unreachable",
        lambda: (i := scene.instance()).state is InstanceState.UNREACHABLE and i,
        timeout=40,
    )
    assert "unreachable" in lost.state_message
    assert serves(before) and backend_pids(scene.model) == [before.pid]

    scene.sshd.start()  # same port, same host key
    after = wait_until("the instance running again", scene.running, timeout=40)
    assert scene.worker_state() is WorkerState.READY
    assert (after.name, after.pid, after.port) == (before.name, before.pid, before.port)
    assert backend_pids(scene.model) == [before.pid]
    assert serves(after)


def test_sigkilled_agent(scene: Scene) -> None:
    before = scene.running()
    assert before is not None
    old_agent = scene.agent()
    os.kill(old_agent, signal.SIGKILL)
    wait_until(
        "a new agent",
        lambda: (p := agent_pids(scene.sshd.agent_home)) and p != [old_agent],
        timeout=40,
    )
    after = wait_until("the instance running", scene.running, timeout=40)
    assert "worker w1: unreachable" in scene.server.log()
    assert (after.pid, after.port) == (before.pid, before.port)
    assert backend_pids(scene.model) == [before.pid]
    assert serves(after)


def test_exit_while_no_agent_watches(scene: Scene) -> None:
    before = scene.running()
    assert before is not None and before.pid is not None
    scene.sshd.stop()
    os.kill(scene.agent(), signal.SIGKILL)
    wait_until(
        "w1 unreachable", lambda: scene.worker_state() is WorkerState.UNREACHABLE, timeout=40
    )
    wait_until("no agent", lambda: not agent_pids(scene.sshd.agent_home), timeout=40)
    os.kill(before.pid, signal.SIGKILL)
    wait_until("the backend gone", lambda: not backend_pids(scene.model), timeout=40)

    scene.sshd.start()
    failed = wait_until(
        "the instance in error",
        lambda: (i := scene.instance()).state is InstanceState.ERROR and i,
        timeout=40,
    )
    assert "exited with code -9" in failed.state_message
    assert scene.worker_state() is WorkerState.READY


def test_server_restart(scene: Scene) -> None:
    before = scene.running()
    assert before is not None
    scene.restart_server()
    after = wait_until("the instance re-adopted", scene.running, timeout=40)
    assert (after.name, after.pid, after.port) == (before.name, before.pid, before.port)
    assert backend_pids(scene.model) == [before.pid]
    assert serves(after)
