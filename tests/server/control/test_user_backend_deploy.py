"""A deployment on a user-defined backend, end to end: the server fills the backend's command
template, starts it on the local worker as a process, waits on the backend's own health path,
and serves chat through /v1; the dry run shows the same command."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import httpx

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.domain.user_backend import UserBackend
from tests.fixtures.backend import BACKEND_SCRIPT
from tests.fixtures.server import RunningServer, cli
from tests.fixtures.waiting import wait_until

COMMAND = (
    f"{shlex.quote(sys.executable)} {shlex.quote(str(BACKEND_SCRIPT))} --host {{worker_ip}} "
    "--port {port} --model-name {model_name} --model-path {model_path}"
)


def test_a_user_backend_runs_and_serves(server: RunningServer, tmp_path: Path) -> None:
    server.client().add_worker("local")
    model = tmp_path / "tiny model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\0" * 1024)
    client = server.client()
    client.add_backend(
        UserBackend(
            name="openai-test",
            command=COMMAND,
            health_path="/v1/models",
            cpu_offloading=True,
            env={"PYTHONUNBUFFERED": "1"},
        )
    )
    spec = DeploymentSpec.model_validate(
        {
            "name": "tiny-chat",
            "source": {"local_path": str(model)},
            "backend": "openai-test",
            "advanced": {"allow_cpu_offloading": True, "backend_parameters": ["--chunk-delay=0"]},
        }
    )
    (replica,) = client.plan(spec)["replicas"]
    argv = replica["nodes"][0]["launch"]["argv"]
    assert argv[-2:] == ["--chunk-delay=0"] or "--chunk-delay=0" in argv
    assert argv[argv.index("--model-path") + 1] == str(model)  # one argument, space and all
    assert argv[argv.index("--port") + 1] == "{port}"
    client.create_deployment(spec)

    def running() -> object:
        (instance,) = client.get_deployment("tiny-chat").instances or (None,)
        if instance is not None and instance.state is InstanceState.ERROR:
            raise AssertionError(instance.state_message)
        return instance if instance and instance.state is InstanceState.RUNNING else None

    wait_until("the user backend to run", running, timeout=60)
    answer = httpx.post(
        f"{server.url}/v1/chat/completions",
        headers=server.inference_headers(),
        json={"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == "tiny-chat"
    cli(server, "rm", "tiny-chat", "--yes")
