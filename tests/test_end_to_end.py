"""The walking skeleton end to end, with real parts only.

A real server process, a real sshd on loopback as the worker (simulated GPUs, the real agent
uploaded over SFTP), the real OpenAI-compatible test backend as the custom backend, and the CLI
as a user types it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gpustack_tui.domain.instance import InstanceState
from tests.fixtures.backend import BACKEND_SCRIPT
from tests.fixtures.server import RunningServer
from tests.fixtures.sshd import SshdServer

GIB = 1024**3


def cli(server: RunningServer, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `gpustack-tui ARGS` against the test installation."""
    result = subprocess.run(
        [sys.executable, "-m", "gpustack_tui", *args],
        env=server.cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stderr}")
    return result


def wait_for(what: str, condition: Callable[[], object], timeout: float = 30.0) -> object:
    """Poll `condition` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def backend_processes(model_name: str) -> list[str]:
    """Command lines of test-backend processes serving `model_name`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        text = " ".join(a.decode(errors="replace") for a in args)
        is_backend = len(args) > 1 and args[1].endswith(b"openai_test_backend.py")
        if is_backend and f"--model-name {model_name} " in text:
            found.append(text)
    return found


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small local model folder."""
    folder = tmp_path / "models" / "tiny model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"architectures": ["TinyForCausalLM"]}))
    (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    return folder


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
        f"{sys.executable} {BACKEND_SCRIPT} --port {{port}} --model-name {{model_name}} "
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

    first = wait_for("two running instances", running_instances)
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

    wait_for("a new instance in place of the deleted one", replaced)
    assert len(backend_processes("e2e")) == 2

    cli(server, "scale", "e2e", "1")
    wait_for("scale-down to one process", lambda: len(backend_processes("e2e")) == 1)
    assert len(client.get_deployment("e2e").instances) == 1

    cli(server, "rm", "e2e", "--yes")
    wait_for("the deployment's processes to be gone", lambda: not backend_processes("e2e"))
    assert client.list_deployments() == []
    wait_for(
        "the worker to forget the workloads",
        lambda: os.listdir(sshd_server.agent_home / "workloads") == [],
    )
