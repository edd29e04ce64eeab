"""A worker away longer than the grace period: its instance is replaced on another worker, and
the old workload is stopped when the worker returns. Real parts: a server process, a real sshd
worker (its sshd stopped and its session killed), the local worker as the other target."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.server.control.lifecycle import RESCHEDULE_ENV
from gpustack_tui.server.workers.keepalive import KEEPALIVE_ENV
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.processes import agent_pids, backend_pids, parent_pid
from tests.fixtures.server import start_server, stop_server
from tests.fixtures.sshd import SshdServer
from tests.fixtures.waiting import wait_until


def test_instances_of_a_lost_worker_move_and_the_old_ones_stop_when_it_returns(
    sshd_server: SshdServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RESCHEDULE_ENV, "4")
    monkeypatch.setenv(KEEPALIVE_ENV, "1")
    server = start_server(tmp_path / "install")
    try:
        client = server.client()
        client.add_worker(
            sshd_server.destination,
            "w1",
            str(sshd_server.identity_file),
            sshd_server.host_key_fingerprint,
        )
        command = BACKEND_TEMPLATE
        spec = {
            "name": "moving",
            "source": {"local_path": str(tmp_path)},
            "advanced": {"command": command, "vram_claim_gib": 1, "allow_cpu_offloading": True},
        }
        client.create_deployment(DeploymentSpec.model_validate(spec))

        def running_on(worker: str):
            instances = client.get_deployment("moving").instances
            if len(instances) == 1 and instances[0].state is InstanceState.RUNNING:
                return instances[0] if instances[0].worker == worker else None
            return None

        old = wait_until("the instance running on w1", lambda: running_on("w1"), timeout=40)
        server.client().add_worker("local")  # the other target, added after placement
        old_pids = backend_pids("moving")
        assert old_pids == [old.pid]
        workload_dir = sshd_server.agent_home / "workloads" / f"gpustack-{old.name}"
        assert workload_dir.is_dir()

        (agent,) = wait_until("w1's agent", lambda: agent_pids(sshd_server.agent_home), timeout=40)
        session = parent_pid(agent)  # the sshd process serving the agent's channel
        sshd_server.stop()  # no new connection until it is started again
        os.kill(session, signal.SIGKILL)
        wait_until(
            "w1 unreachable",
            lambda: client.get_worker("w1").state is WorkerState.UNREACHABLE,
            timeout=40,
        )

        new = wait_until("a replacement running on local", lambda: running_on("local"), timeout=60)
        assert new.name != old.name
        assert [i.name for i in client.list_instances()] == [new.name]
        log = server.log()
        assert f"instance {old.name}: running -> unreachable" in log
        assert f"instance {old.name}: worker w1 away for more than 4 s" in log
        # The old process still runs on w1 (nothing reached it while it was away).
        assert old.pid in backend_pids("moving")

        sshd_server.start()  # same port, same host key
        wait_until(
            "w1 back", lambda: client.get_worker("w1").state is WorkerState.READY, timeout=40
        )
        wait_until(
            "the old process stopped", lambda: old.pid not in backend_pids("moving"), timeout=40
        )
        wait_until("the old workload removed", lambda: not workload_dir.exists(), timeout=40)
        assert backend_pids("moving") == [new.pid]
        assert running_on("local") is not None
        assert [i.name for i in client.list_instances()] == [new.name]
    finally:
        stop_server(server)
