"""A built-in backend end to end: a vLLM deployment is placed from the model's metadata, its
launch plan runs as a container in real podman on the local worker, the health path turns it
running, and deleting it removes the container.

The GPU is simulated (this machine has none) and the runner image is a stand-in: a busybox
image tagged with the full reference of vLLM's runner image, whose `vllm` program prints what
it was given and serves `/v1/models` with busybox httpd. Everything between them is real:
metadata read from the model folder's config.json and safetensors header, the estimate, the
scheduler, the launch plan, the agent, podman, the mount of the model folder, the health check.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpustack_tui.backends.catalog import VLLM
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.server.control.lifecycle import BACKOFF_BASE_ENV
from tests.agent.podman_setup import import_image, podman, podman_env, teardown
from tests.fixtures.models import write_tiny_model
from tests.fixtures.server import RunningServer, cli, running_server, start_server, stop_server
from tests.fixtures.waiting import wait_until

IMAGE = VLLM.default_version.image_for("cuda") or ""
GIB = 1024**3
FAKE_VLLM = """#!/bin/sh
echo "fake vllm: $*"
echo "visible GPUs: $CUDA_VISIBLE_DEVICES"
echo "model folder: $(ls "$2" | tr '\\n' ' ')"
port=8000
while [ $# -gt 0 ]; do
  if [ "$1" = "--port" ]; then port=$2; fi
  shift
done
mkdir -p /tmp/www/v1
echo '{"object": "list", "data": []}' > /tmp/www/v1/models
exec httpd -f -p "$port" -h /tmp/www
"""
APPLETS = ("sh", "echo", "ls", "tr", "mkdir", "httpd", "sleep", "cat")


@pytest.fixture
def podman_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """A server whose local worker runs images in a private podman store holding the stand-in
    runner image, with one simulated 80 GiB GPU."""
    folder = tmp_path / "podman"
    env = podman_env(folder)
    import_image(env, folder / "vllm-image", IMAGE, APPLETS, {"vllm": FAKE_VLLM})
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GPUSTACK_AGENT_RUNTIME", "podman")
    gpus = [{"name": "NVIDIA H100 80GB HBM3", "memory_total": 80 * GIB}]
    monkeypatch.setenv("GPUSTACK_AGENT_SIMULATED_GPUS", json.dumps(gpus))
    try:
        with running_server(tmp_path / "install", local_worker=True) as running:
            yield running
    finally:
        teardown(env, folder)


def containers(server_env: dict[str, str]) -> list[dict]:
    """`podman ps --all` of the test store, as JSON."""
    done = podman(server_env, "ps", "--all", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "[]")


def test_a_vllm_deployment_runs_in_podman_and_is_removed_with_it(
    podman_server: RunningServer, tmp_path: Path
) -> None:
    folder = write_tiny_model(tmp_path / "models" / "tiny-qwen3")
    spec = DeploymentSpec.model_validate(
        {"name": "tiny", "source": {"local_path": str(folder)}, "backend": "vllm"}
    )
    with podman_server.client() as client:
        plan = client.plan(spec)
        replica = plan["replicas"][0]
        assert replica["fits"], replica["reasons"]
        assert replica["max_context"] == 32768  # the model's own limit: the KV cache is small
        assert replica["nodes"][0]["launch"]["image"] == IMAGE
        client.create_deployment(spec)

    def running() -> object:
        instances = podman_server.client().get_deployment("tiny").instances
        if instances and instances[0].state is InstanceState.ERROR:
            raise AssertionError(f"instance failed: {instances[0].state_message}")
        return instances[0] if instances and instances[0].state is InstanceState.RUNNING else None

    instance = wait_until("the vLLM instance to run", running, timeout=90)
    assert instance.gpu_indexes == [0]
    assert instance.vram_claim == int(80 * GIB * 0.9)

    env = {k: os.environ[k] for k in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF")}
    (container,) = containers(env)
    assert container["Names"] == [instance.workload_name]
    assert IMAGE in container["Image"]
    log = cli(podman_server, "logs", instance.name).stdout
    assert f"fake vllm: serve {folder} " in log
    for expected in (
        "--gpu-memory-utilization 0.9",
        "--max-model-len 8192",
        f"--port {instance.port}",
        "--served-model-name tiny",
    ):
        assert expected in log
    assert "visible GPUs: 0" in log  # simulated: the variable, no device flag
    assert "model folder: config.json model.safetensors" in log  # mounted where the host has it

    cli(podman_server, "rm", "tiny", "--yes")
    wait_until("the container to be removed", lambda: containers(env) == [], timeout=60)


MIRRORED = IMAGE.replace("docker.io/gpustack/", "localhost/mirror/gpustack/", 1)


def test_a_workers_image_mirror_changes_the_planned_and_the_running_image(
    podman_server: RunningServer, tmp_path: Path
) -> None:
    env = {k: os.environ[k] for k in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF")}
    # Only the mirror holds the image now: running it proves the rewrite (there is no network).
    for args in (("tag", IMAGE, MIRRORED), ("untag", IMAGE, IMAGE)):
        done = podman(env, *args)
        assert done.returncode == 0, done.stderr
    cli(podman_server, "mirrors", "docker.io/=unreachable.lab/hub/")  # the installation's
    shown = cli(
        podman_server,
        "mirrors",
        "--worker",
        "local",
        "docker.io/gpustack/=localhost/mirror/gpustack/",
    )
    assert shown.stdout.strip() == "docker.io/gpustack/=localhost/mirror/gpustack/"
    refused = cli(podman_server, "mirrors", "--worker", "local", "gpustack/=x.lab/", check=False)
    assert refused.returncode == 2
    assert "'gpustack/=x.lab/'" in refused.stderr
    folder = write_tiny_model(tmp_path / "models" / "tiny-qwen3")
    spec = DeploymentSpec.model_validate(
        {"name": "tiny", "source": {"local_path": str(folder)}, "backend": "vllm"}
    )
    with podman_server.client() as client:
        (replica,) = client.plan(spec)["replicas"]
        assert replica["nodes"][0]["launch"]["image"] == MIRRORED  # the worker's rule wins
        client.create_deployment(spec)

    def running() -> object:
        instances = podman_server.client().get_deployment("tiny").instances
        if instances and instances[0].state is InstanceState.ERROR:
            raise AssertionError(f"instance failed: {instances[0].state_message}")
        return instances[0] if instances and instances[0].state is InstanceState.RUNNING else None

    instance = wait_until("the vLLM instance to run from the mirror", running, timeout=90)
    (container,) = containers(env)
    assert container["Names"] == [instance.workload_name]
    assert container["Image"] == MIRRORED
    cli(podman_server, "rm", "tiny", "--yes")
    wait_until("the container to be removed", lambda: containers(env) == [], timeout=60)


FAKE_RAY = """#!/bin/sh
echo "fake ray: $*"
exec sleep 100000
"""


@pytest.fixture
def two_worker_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningServer, dict[str, str]]]:
    """A server with two local workers (`local:w1`, `local:w2`, each its own agent) running
    images in one private podman store, one simulated 80 GiB GPU each; restarts after 1 s."""
    folder = tmp_path / "podman"
    env = podman_env(folder)
    programs = {"vllm": FAKE_VLLM, "ray": FAKE_RAY}
    import_image(env, folder / "vllm-image", IMAGE, APPLETS, programs)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GPUSTACK_AGENT_RUNTIME", "podman")
    monkeypatch.setenv(BACKOFF_BASE_ENV, "1")
    gpus = [{"name": "NVIDIA H100 80GB HBM3", "memory_total": 80 * GIB}]
    monkeypatch.setenv("GPUSTACK_AGENT_SIMULATED_GPUS", json.dumps(gpus))
    running = start_server(tmp_path / "install")
    try:
        cli(running, "workers", "add", "local:w1")
        cli(running, "workers", "add", "local:w2")
        yield running, env
    finally:
        stop_server(running)
        teardown(env, folder)


def test_a_distributed_vllm_instance_spans_two_workers_and_fails_with_a_follower(
    two_worker_server: tuple[RunningServer, dict[str, str]], tmp_path: Path
) -> None:
    server, env = two_worker_server
    folder = write_tiny_model(tmp_path / "models" / "tiny-qwen3")
    spec = DeploymentSpec.model_validate(
        {
            "name": "wide",
            "source": {"local_path": str(folder)},
            "backend": "vllm",
            "scheduling": {
                "mode": "manual",
                "gpu_selector": ["w1:0", "w2:0"],
                "gpus_per_replica": 2,
            },
        }
    )
    server.client().create_deployment(spec)

    def running() -> object:
        instances = server.client().get_deployment("wide").instances
        ok = instances and instances[0].state is InstanceState.RUNNING
        return instances[0] if ok else None

    instance = wait_until("the distributed instance to run", running, timeout=90)
    assert (instance.worker, instance.gpu_indexes) == ("w1", [0])
    assert [(f.worker, f.rank, f.gpu_indexes) for f in instance.followers] == [("w2", 1, [0])]
    names = sorted(c["Names"][0] for c in containers(env))
    leader, head, follower = (
        instance.workload_name,
        instance.sidecar_name,
        instance.follower_name(1),
    )
    assert names == sorted([leader, head, follower])
    log = cli(server, "logs", instance.name).stdout
    assert "--pipeline-parallel-size 2" in log and "--distributed-executor-backend ray" in log

    # A follower that exits fails the whole instance, which is restarted (every node).
    assert podman(env, "stop", "--time", "0", follower).returncode == 0

    def failed_then_running() -> object:
        now = server.client().get_deployment("wide").instances[0]
        return now if now.restart_count >= 1 and now.state is InstanceState.RUNNING else None

    restarted = wait_until("the instance to be restarted", failed_then_running, timeout=90)
    assert restarted.name == instance.name
    states = {c["Names"][0]: c["State"] for c in containers(env)}
    assert states[follower] == "running"

    cli(server, "rm", "wide", "--yes")
    wait_until("every container to be removed", lambda: containers(env) == [], timeout=60)


def test_a_model_whose_metadata_cannot_be_read_stays_pending_with_the_reason(
    server: RunningServer, tmp_path: Path
) -> None:
    server.client().add_worker("local")
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "notes.txt").write_text("no config.json here")
    spec = {"name": "junk", "source": {"local_path": str(folder)}, "backend": "sglang"}
    server.client().create_deployment(DeploymentSpec.model_validate(spec))

    def pending() -> object:
        (instance,) = server.client().get_deployment("junk").instances
        ok = instance.state is InstanceState.PENDING and instance.state_message
        return instance.state_message if ok else None

    message = wait_until("the reason it cannot be placed", pending, timeout=30)
    assert str(message).startswith("cannot read the model's metadata: ")
    assert "config.json" in str(message)
    plan = server.client().plan(DeploymentSpec.model_validate(spec))
    assert plan["replicas"][0]["reasons"] == [message]
