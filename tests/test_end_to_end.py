"""The walking skeleton end to end, with real parts only.

A real server process, a real sshd on loopback as the worker (simulated GPUs, the real agent
uploaded over SFTP), the real OpenAI-compatible test backend as the custom backend, and the CLI
as a user types it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from gpustack_tui.domain.instance import InstanceState
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.models import write_chat_model
from tests.fixtures.processes import backend_pids
from tests.fixtures.server import RunningServer, cli
from tests.fixtures.sshd import SshdServer
from tests.fixtures.waiting import wait_until

GIB = 1024**3


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small local model folder."""
    return write_chat_model(tmp_path / "models" / "tiny model")


def test_deploy_watch_query_and_delete_over_ssh(
    server: RunningServer, sshd_server: SshdServer, model_dir: Path
) -> None:
    known_hosts = server.paths.known_hosts

    # An unknown host key is shown with its fingerprint and nothing is stored.
    refused = cli(
        server,
        "workers",
        "add",
        sshd_server.destination,
        "--name",
        "w1",
        "--identity",
        str(sshd_server.identity_file),
        check=False,
    )
    assert refused.returncode == 1
    assert sshd_server.host_key_fingerprint in refused.stdout + refused.stderr
    assert server.client().list_workers() == []
    assert (
        not known_hosts.exists() or sshd_server.host_key_fingerprint not in known_hosts.read_text()
    )

    cli(
        server,
        "workers",
        "add",
        sshd_server.destination,
        "--name",
        "w1",
        "--identity",
        str(sshd_server.identity_file),
        "--accept-host-key",
        sshd_server.host_key_fingerprint,
    )
    workers = json.loads(cli(server, "workers", "ls", "--json").stdout)
    assert [w["name"] for w in workers] == ["w1"]
    assert workers[0]["state"] == "ready"
    assert len(workers[0]["gpus"]) == 2 and all(g["simulated"] for g in workers[0]["gpus"])

    command = (
        'sh -c \'echo greeting=$GREETING; exec "$0" "$@"\' '
        f"{BACKEND_TEMPLATE} "
        "--model-path {model_path} --chunk-delay 0.01"
    )
    cli(
        server,
        "deploy",
        "e2e",
        "--local-path",
        str(model_dir),
        "--command",
        command,
        "--replicas",
        "2",
        "--env",
        "GREETING=hello-from-env",
        "--generic-proxy",
        "--vram-gib",
        "10",
    )
    client = server.client()

    def running_instances() -> list:
        view = client.get_deployment("e2e")
        running = [i for i in view.instances if i.state is InstanceState.RUNNING]
        return running if len(running) == 2 else []

    first = wait_until("two running instances", running_instances, timeout=30)
    assert {i.worker for i in first} == {"w1"}
    # Spread (the default): the second replica avoids the GPU the first one took.
    assert sorted(i.gpu_indexes[0] for i in first) == [0, 1]
    assert all(i.vram_claim == 10 * GIB for i in first)

    key = json.loads(cli(server, "keys", "create", "e2e-app", "--json").stdout)["key"]
    with httpx.Client(
        base_url=server.url, timeout=10, headers={"Authorization": f"Bearer {key}"}
    ) as http:
        models = http.get("/v1/models").json()
        assert [m["id"] for m in models["data"]] == ["e2e"]
        body = {"model": "e2e", "messages": [{"role": "user", "content": "ping over ssh"}]}
        reply = http.post("/v1/chat/completions", json=body)
        assert reply.status_code == 200
        assert reply.json()["choices"][0]["message"]["content"] == "ping over ssh"

        with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as stream:
            chunks = [line for line in stream.iter_lines() if line.startswith("data: ")]
        assert chunks[-1] == "data: [DONE]"
        words = [json.loads(c[6:])["choices"][0]["delta"].get("content", "") for c in chunks[:-1]]
        assert "".join(words) == "ping over ssh"

        proxied = http.post(
            "/model/proxy/custom/echo?x=1", headers={"X-GPUStack-Model": "e2e"}, content=b"raw"
        )
        assert proxied.status_code == 200
        echoed = proxied.json()
        assert echoed["path"] == "/custom/echo" and echoed["query"] == "x=1"
        assert echoed["body"] == "raw"

        missing = http.post("/v1/chat/completions", json={**body, "model": "nope"})
        assert missing.status_code == 404 and "error" in missing.json()

    victim = first[0]
    log = cli(server, "logs", victim.name).stdout
    assert "greeting=hello-from-env" in log
    assert "GET /v1/models" in log
    tail = cli(server, "logs", victim.name, "--tail", "1").stdout
    assert len(tail.strip().splitlines()) == 1

    cli(server, "instances", "rm", victim.name)

    def replaced() -> list:
        names = {i.name for i in running_instances()}
        return list(names) if names and victim.name not in names else []

    wait_until("a new instance in place of the deleted one", replaced, timeout=30)
    assert len(backend_pids("e2e")) == 2

    cli(server, "scale", "e2e", "1")
    wait_until("scale-down to one process", lambda: len(backend_pids("e2e")) == 1, timeout=30)
    assert len(client.get_deployment("e2e").instances) == 1

    cli(server, "rm", "e2e", "--yes")
    wait_until("the deployment's processes to be gone", lambda: not backend_pids("e2e"), timeout=30)
    assert client.list_deployments() == []
    wait_until(
        "the worker to forget the workloads",
        lambda: os.listdir(sshd_server.agent_home / "workloads") == [],
        timeout=30,
    )
