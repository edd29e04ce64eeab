"""Deleting from the deployments view against a real server, a worker over real SSH and the
OpenAI test backend: an instance is recreated; a serving deployment needs its name typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.type_to_confirm import TypeToConfirmModal
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.server import RunningServer
from tests.fixtures.sshd import SshdServer
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE


@pytest.fixture
def served(server: RunningServer, sshd_server: SshdServer, tmp_path: Path) -> RunningServer:
    """The server with a worker over real SSH (simulated GPUs) and deployment `chat`."""
    folder = tmp_path / "models" / "tiny"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"architectures": ["TinyForCausalLM"]}))
    (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    command = f"{BACKEND_TEMPLATE} --model-path {{model_path}}"
    client = server.client()
    sshd_server.add_to(client, "w1")
    client.create_deployment(
        DeploymentSpec.model_validate(
            {
                "name": "chat",
                "source": {"local_path": str(folder)},
                "advanced": {"command": command, "vram_claim_gib": 1},
            }
        )
    )
    return server


def running_instance(screen: DeploymentsScreen, other_than: str = "") -> str | None:
    view = screen.views.get("chat")
    for instance in view.instances if view else []:
        if instance.state is InstanceState.RUNNING and instance.name != other_than:
            return instance.name
    return None


async def test_delete_an_instance_then_the_serving_deployment_by_name(served: RunningServer):
    app = GpustackApp(served.client(), refresh_interval=0.3)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        first = await pilot_wait_until(
            pilot, "running", lambda: running_instance(screen), timeout=60
        )
        screen.table.select_key(f"inst:{first}")
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.title_text == f"Delete instance {first}?"
        await pilot.press("y")
        second = await pilot_wait_until(
            pilot, "a new instance running", lambda: running_instance(screen, first), timeout=60
        )
        assert f"inst:{first}" not in screen.table.row_keys
        assert [i.name for i in served.client().get_deployment("chat").instances] == [second]

        screen.table.select_key("dep:chat")
        await pilot.press("ctrl+d")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, TypeToConfirmModal)
        assert app.focused.id == "cancel"
        await pilot.press("y", "enter")  # `y` is no answer here: it is typed, and refused
        await pilot.pause()
        assert app.screen is modal
        assert served.client().get_deployment("chat").spec.name == "chat"
        await pilot.press("ctrl+u", *"chat", "enter")  # clear the field, type the name
        await pilot_wait_until(
            pilot, "deleted", lambda: served.client().list_deployments() == [], timeout=20
        )
        await pilot_wait_until(pilot, "row gone", lambda: screen.table.row_keys == [], timeout=20)
