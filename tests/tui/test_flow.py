"""The operator's first flow, in one app session against a real server process whose local
worker reports a simulated GPU, with the OpenAI test backend as the deployment's command:
search -> form -> plan -> deploy -> running -> logs -> scale -> delete.

A second test starts from a Hugging Face search on the loopback hub: the agent downloads the
picked repository, and the instance goes downloading -> running.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, RadioButton

from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.screens.model_search import ModelSearchScreen
from gpustack_tui.tui.screens.scale import ScaleModal
from gpustack_tui.tui.screens.type_to_confirm import TypeToConfirmModal
from gpustack_tui.tui.widgets.log_view import LogView
from gpustack_tui.tui.widgets.path_input import PathInput
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.hub_server import HubRepo, HubServer
from tests.fixtures.models import write_chat_model
from tests.fixtures.processes import processes_with
from tests.fixtures.server import RunningServer, running_server
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE

GIB = 1024**3
MIB = 1024**2
SIMULATED_GPUS = [{"name": "Simulated L4", "memory_total": 24 * GIB}]
REPO = "acme/tiny-flow"
CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "float16"}
STARTED = "openai_test_backend: serving"
"""The line the test backend prints once it listens."""


def backend_command(extra: str = "") -> str:
    """The deployment's command: the OpenAI test backend on the instance's port."""
    return f"{BACKEND_TEMPLATE} --model-path {{model_path}}{extra}"


def option_labels(field: PathInput) -> list[str]:
    """The completions the path field offers."""
    options = field.choices
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def running_instances(screen: DeploymentsScreen, deployment: str) -> list[str]:
    """Names of the deployment's running instances, as the screen last saw them."""
    view = screen.views.get(deployment)
    instances = view.instances if view else []
    return sorted(i.name for i in instances if i.state is InstanceState.RUNNING)


@pytest.fixture
def local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """A server process with its local worker reporting one simulated 24 GiB GPU."""
    monkeypatch.setenv("GPUSTACK_AGENT_SIMULATED_GPUS", json.dumps(SIMULATED_GPUS))
    with running_server(tmp_path / "install", local_worker=True) as running:
        yield running


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small local model folder."""
    return write_chat_model(tmp_path / "models" / "tiny-chat")


async def test_search_form_plan_deploy_logs_scale_delete(
    local_server: RunningServer, model_dir: Path
):
    client = local_server.client()
    [worker] = [w.name for w in client.list_workers()]
    app = GpustackApp(client, refresh_interval=0.3)
    async with app.run_test(size=SIZE) as pilot:
        deployments = app.screen
        assert isinstance(deployments, DeploymentsScreen)

        # Model search, Local Path: the folder is completed from the server's listing.
        await pilot.press("m")
        await pilot.pause()
        search = app.screen
        assert isinstance(search, ModelSearchScreen)
        await pilot.click("#source-local_path")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "path"
        await pilot.press(*f"{model_dir.parent}/ti")
        field = search.query_one("#path-path", PathInput)
        await pilot_wait_until(
            pilot, "the folder offered", lambda: option_labels(field) == ["tiny-chat/"], timeout=20
        )
        await pilot.press(*"ny-chat", "enter")
        form = await pilot_wait_until(
            pilot, "the deploy form",
            lambda: isinstance(app.screen, DeployFormScreen) and app.screen,
            timeout=20,
        )  # fmt: skip
        assert form.query_one("#source-local_path", RadioButton).value
        assert form.query_one("#local_path", Input).value == str(model_dir)
        assert form.query_one("#name", Input).value == "tiny-chat"
        assert app.focused is not None and app.focused.id == "name"

        # Name typed over the prefilled one; the command and the claim filled in.
        await pilot.press("ctrl+a", "ctrl+k", *"flow-chat")
        assert form.query_one("#name", Input).value == "flow-chat"
        form.query_one("#command", Input).value = backend_command()
        form.query_one("#vram_claim_gib", Input).value = "4"

        # The live plan says where the replica lands.
        def planned() -> str | None:
            text = str(form.preview.render())
            return text if f"{worker} (leader)" in text else None

        preview = await pilot_wait_until(pilot, "the plan naming the worker", planned, timeout=20)
        assert "1 of 1 replicas fit" in preview
        assert "GPU 0 4.0 GiB" in preview

        await pilot.press("ctrl+s")
        await pilot_wait_until(
            pilot, "back to the deployments", lambda: app.screen is deployments, timeout=20
        )
        await pilot_wait_until(
            pilot,
            "the new row selected",
            lambda: deployments.table.cursor_key == "dep:flow-chat",
            timeout=20,
        )
        assert [v.name for v in client.list_deployments()] == ["flow-chat"]

        # Running: the state cell of the instance row says so.
        [first] = await pilot_wait_until(
            pilot, "a running instance",
            lambda: running_instances(deployments, "flow-chat"), timeout=60,
        )  # fmt: skip
        await pilot_wait_until(
            pilot, "the running state cell",
            lambda: f"inst:{first}" in deployments.table.row_keys
            and deployments.table.get_cell(f"inst:{first}", "state").plain.startswith("● running"),
            timeout=20,
        )  # fmt: skip
        assert deployments.table.get_cell(f"inst:{first}", "worker").plain == worker

        # Logs: the backend's startup line arrives; escape goes back.
        deployments.table.select_key(f"inst:{first}")
        await pilot.press("l")
        logs = await pilot_wait_until(
            pilot,
            "the log viewer",
            lambda: isinstance(app.screen, LogsScreen) and app.screen,
            timeout=20,
        )
        assert logs.instance == first
        log = logs.query_one(LogView)
        await pilot_wait_until(
            pilot,
            "the backend's line in the log",
            lambda: any(STARTED in x for x in log.lines),
            timeout=20,
        )
        await pilot.press("escape")
        await pilot_wait_until(
            pilot, "back from the logs", lambda: app.screen is deployments, timeout=20
        )

        # Scale to 2 through the modal: two running instances.
        deployments.table.select_key("dep:flow-chat")
        await pilot.press("s")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ScaleModal) and modal.current == 1
        await pilot.press("2", "enter")
        await pilot_wait_until(
            pilot, "the modal closed", lambda: app.screen is deployments, timeout=20
        )
        instances = await pilot_wait_until(
            pilot, "two running instances",
            lambda: len(running_instances(deployments, "flow-chat")) == 2
            and running_instances(deployments, "flow-chat"), timeout=60,
        )  # fmt: skip
        assert client.get_deployment("flow-chat").spec.replicas == 2
        assert first in instances
        pids = {i.pid for i in client.get_deployment("flow-chat").instances}
        assert len(pids) == 2 and pids <= set(processes_with(str(model_dir)))

        # Delete: instances serve, so the name must be typed.
        deployments.table.select_key("dep:flow-chat")
        await pilot.press("ctrl+d")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, TypeToConfirmModal)
        assert "2 instance(s) are running" in confirm.body_text
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("enter")  # enter on Cancel: nothing is deleted
        await pilot_wait_until(
            pilot, "the modal closed", lambda: app.screen is deployments, timeout=20
        )
        assert [v.name for v in client.list_deployments()] == ["flow-chat"]
        deployments.table.select_key("dep:flow-chat")
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, TypeToConfirmModal)
        await pilot.press(*"flow-chat", "enter")
        await pilot_wait_until(
            pilot, "the table empty", lambda: deployments.table.row_keys == [], timeout=20
        )
        assert client.list_deployments() == []
        await pilot_wait_until(
            pilot,
            "the backend processes gone",
            lambda: not processes_with(str(model_dir)),
            timeout=20,
        )
        assert "deleted flow-chat" in deployments.status.message


@pytest.fixture
def tiny_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The loopback hub with one small model whose 2 MiB of weights arrive over about a
    second, so the download can be seen; the server started after it reaches it."""
    server = HubServer().start()
    pattern = bytes(range(251))
    weights = (pattern * (2 * MIB // len(pattern) + 1))[: 2 * MIB]
    server.state.add(
        HubRepo(
            REPO,
            files={"config.json": json.dumps(CONFIG).encode(), "model.safetensors": weights},
            downloads=1234,
        )
    )
    server.state.chunk_delay = 0.1
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.state.offline = True
    server.stop()


async def test_hub_search_form_deploy_downloads_then_runs(
    tiny_hub: HubServer, local_server: RunningServer
):
    client = local_server.client()
    [worker] = [w.name for w in client.list_workers()]
    app = GpustackApp(client, refresh_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        deployments = app.screen
        await pilot.press("m")
        await pilot.pause()
        search = app.screen
        assert isinstance(search, ModelSearchScreen)
        await pilot.press(*"tiny-flow")
        await pilot_wait_until(
            pilot, "the result", lambda: search.table.row_keys == [REPO], timeout=20
        )
        assert search.table.get_cell(REPO, "downloads").plain == "1.2k"
        await pilot.press("enter", "enter")
        form = await pilot_wait_until(
            pilot, "the deploy form",
            lambda: isinstance(app.screen, DeployFormScreen) and app.screen,
            timeout=20,
        )  # fmt: skip
        assert form.query_one("#repo_id", Input).value == REPO
        assert form.query_one("#name", Input).value == "tiny-flow"
        form.query_one("#command", Input).value = backend_command()
        form.query_one("#vram_claim_gib", Input).value = "4"
        await pilot_wait_until(
            pilot, "the plan and the estimate",
            lambda: f"{worker} (leader)" in (t := str(form.preview.render())) and "Estimate" in t,
            timeout=20,
        )  # fmt: skip
        await pilot.press("ctrl+s")
        await pilot_wait_until(
            pilot, "back to the deployments", lambda: app.screen is deployments, timeout=20
        )

        seen: list[str] = []

        def state_cells() -> bool:
            keys = [k for k in deployments.table.row_keys if k.startswith("inst:tiny-flow")]
            if keys:
                cell = deployments.table.get_cell(keys[0], "state").plain
                if not seen or seen[-1] != cell:
                    seen.append(cell)
            return bool(seen) and seen[-1].startswith("● running")

        await pilot_wait_until(pilot, "the instance running", state_cells, timeout=60)
        assert any("downloading" in cell for cell in seen), seen
        [view] = client.list_deployments()
        [instance] = view.instances
        assert instance.state is InstanceState.RUNNING
        downloads = [path for _, path, _ in tiny_hub.state.requests if "/resolve/" in path]
        assert any(path.endswith("model.safetensors") for path in downloads)
