"""Hub models end to end: a real server with its local worker deploys `source: {huggingface:
...}` (or modelscope) with the custom backend; the worker's agent downloads the model from the
loopback hub, and the instance goes downloading -> starting -> running on the downloaded folder."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.hub import use_hub
from tests.fixtures.hub_server import HF_TOKEN, HubRepo, HubServer
from tests.fixtures.server import RunningServer, running_server

MIB = 1024 * 1024
REPO = "acme/tiny-chat"
CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "float16"}


def weights(size: int) -> bytes:
    """`size` bytes of a repeating pattern."""
    pattern = bytes(range(251))
    return (pattern * (size // len(pattern) + 1))[:size]


@pytest.fixture
def hub(empty_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    """The loopback hub with one 6 MiB model, sent slowly enough (about 2.5 s) to watch; the
    server started after this fixture reaches it through HF_ENDPOINT / MODELSCOPE_ENDPOINT."""
    server = empty_hub
    server.state.add(
        HubRepo(
            REPO,
            files={
                "config.json": json.dumps(CONFIG).encode(),
                "model.safetensors": weights(6 * MIB),
            },
        )
    )
    server.state.chunk_delay = 0.1
    use_hub(monkeypatch, server, tmp_path)
    return server


@pytest.fixture
def hub_server(hub: HubServer, tmp_path: Path) -> Iterator[RunningServer]:
    """A server (started with the hub's environment) and its local worker."""
    with running_server(tmp_path / "install", local_worker=True) as running:
        yield running


def deploy(server: RunningServer, source: str, restart_on_error: bool = True) -> None:
    """Deploy REPO from `source` with the test backend as the custom backend."""
    command = f"{BACKEND_TEMPLATE} --model-path {{model_path}}"
    spec = DeploymentSpec.model_validate(
        {
            "name": "chat",
            "source": {source: REPO},
            "advanced": {
                "command": command,
                "allow_cpu_offloading": True,
                "restart_on_error": restart_on_error,
            },
        }
    )
    server.client().create_deployment(spec)


def watch(server: RunningServer, until: InstanceState, timeout: float = 60.0) -> list[Instance]:
    """Every distinct (state, message) the instance showed, until it reaches `until`."""
    client = server.client()
    seen: list[Instance] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        instances = client.get_deployment("chat").instances
        if instances:
            now = instances[0]
            if not seen or (seen[-1].state, seen[-1].state_message) != (
                now.state,
                now.state_message,
            ):
                seen.append(now)
            if now.state is until:
                return seen
        time.sleep(0.1)
    raise AssertionError(
        f"never reached {until.value}: {[(i.state, i.state_message) for i in seen]}"
    )


@pytest.mark.parametrize(
    ("source", "cache"), [("huggingface", "huggingface"), ("modelscope", "model_scope")]
)
def test_a_hub_model_is_downloaded_then_served(
    hub_server: RunningServer, hub: HubServer, source: str, cache: str
) -> None:
    deploy(hub_server, source)
    seen = watch(hub_server, InstanceState.RUNNING)
    states = [i.state for i in seen]
    assert InstanceState.DOWNLOADING in states, seen
    download_at = states.index(InstanceState.DOWNLOADING)
    assert InstanceState.STARTING in states[download_at:], seen
    progress = [i.state_message for i in seen if i.state is InstanceState.DOWNLOADING]
    assert any(m.startswith("downloading ") and "% (" in m and "GiB)" in m for m in progress)
    percents = [int(m.split()[1].rstrip("%")) for m in progress if "%" in m]
    assert percents == sorted(percents)

    folder = hub_server.paths.local_agent_home / "cache" / cache / "acme" / "tiny-chat"
    for name, body in hub.state.repos[REPO].files.items():
        assert (folder / name).read_bytes() == body
    running = seen[-1]
    models = httpx.get(f"http://127.0.0.1:{running.port}/v1/models", timeout=5).json()
    assert models["data"][0]["root"] == str(folder)  # started with {model_path} = the snapshot


def test_a_hub_that_goes_away_mid_download_gives_a_clear_error(
    hub_server: RunningServer, hub: HubServer
) -> None:
    hub.state.chunk_delay = 0.5  # 6 MiB: about 12 s, time to take the hub away
    deploy(hub_server, "huggingface", restart_on_error=False)
    watch(hub_server, InstanceState.DOWNLOADING)
    hub.state.offline = True
    hub.stop()
    seen = watch(hub_server, InstanceState.ERROR, timeout=60)
    message = seen[-1].state_message
    assert message.startswith("download failed: "), message
    assert f"cannot reach {hub.url}" in message or "broke off" in message, message
    assert "HF_ENDPOINT" in message or "broke off" in message


def test_an_unreachable_hub_keeps_the_instance_pending_with_the_reason(
    hub_server: RunningServer, hub: HubServer
) -> None:
    hub.state.offline = True
    hub.stop()
    deploy(hub_server, "huggingface")
    client = hub_server.client()
    deadline = time.monotonic() + 60
    message = ""
    while time.monotonic() < deadline and "cannot reach" not in message:
        instances = client.get_deployment("chat").instances
        message = instances[0].state_message if instances else ""
        time.sleep(0.2)
    assert "cannot reach" in message and "HF_ENDPOINT" in message, message
    assert client.get_deployment("chat").instances[0].state is InstanceState.PENDING


def test_the_servers_token_reaches_the_hub_for_a_gated_model(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.state.repos[REPO].gated = True
    hub.state.chunk_delay = 0.0
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    with running_server(tmp_path / "install", local_worker=True) as running:
        deploy(running, "huggingface")
        watch(running, InstanceState.RUNNING)
        fetched = [auth for _, path, auth in hub.state.requests if "/resolve/" in path]
        assert fetched and all(auth == f"Bearer {HF_TOKEN}" for auth in fetched)
        for path in running.paths.local_agent_home.rglob("*"):
            if path.is_file() and path.stat().st_size < 1024 * 1024:
                assert HF_TOKEN.encode() not in path.read_bytes(), path
