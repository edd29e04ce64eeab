"""Editing a deployment with the deploy form, against a real server whose local worker runs the
OpenAI test backend: prefilled, Save applies, running instances keep the old configuration, and
the offer to recreate them (Cancel keeps them; Recreate replaces them one at a time)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.forms import build_spec, values_from_spec
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.recreate import RecreateModal, config_changed, keeping_old
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.processes import backend_pids, environ
from tests.fixtures.server import RunningServer
from tests.fixtures.waiting import pilot_wait_until, wait_until
from tests.tui.conftest import SIZE
from tests.tui.samples import instance

RICH = {
    "name": "rich",
    "source": {"huggingface": "Qwen/Qwen3-0.6B"},
    "cluster": "lab",
    "backend": "vllm",
    "backend_version": "0.20.2",
    "replicas": 3,
    "performance": {
        "extended_kv_cache": {
            "enabled": True, "ram_to_vram_ratio": 2.5, "max_ram_gib": 64.0, "chunk_size": 512,
        }
    },
    "scheduling": {
        "mode": "manual", "placement": "binpack", "worker_selector": {"gpu": "h100", "zone": "b"},
        "gpu_selector": ["w1:0", "w1:1"], "gpus_per_replica": 2,
    },
    "advanced": {
        "category": "embedding", "backend_parameters": ["--max-model-len=4096", "--dtype", "half"],
        "env": {"A": "1", "B": "two words"}, "allow_cpu_offloading": False,
        "distributed_across_workers": False, "restart_on_error": False, "generic_proxy": True,
    },
}  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [
        RICH,
        {
            "name": "plain",
            "source": {"local_path": "/models/m"},
            "advanced": {"command": "serve {model_path} --port {port}", "vram_claim_gib": 7.5},
        },
    ],
)
def test_the_form_filled_from_a_spec_gives_the_spec_back(data: dict) -> None:
    spec = DeploymentSpec.model_validate(data)
    assert build_spec(values_from_spec(spec)) == spec


def test_only_a_configuration_change_with_running_instances_offers_a_recreate() -> None:
    before = DeploymentSpec.model_validate(RICH)
    more = before.model_copy(update={"replicas": 5})
    assert not config_changed(before, more)
    reordered = before.model_copy(deep=True)
    reordered.scheduling.gpu_selector.reverse()
    assert not config_changed(before, reordered)
    env = before.model_copy(deep=True)
    env.advanced.env["C"] = "3"
    assert config_changed(before, env)
    instances = [
        instance("rich-b", "rich", InstanceState.RUNNING, created=2.0),
        instance("rich-a", "rich", InstanceState.STARTING, created=1.0),
        instance("rich-c", "rich", InstanceState.PENDING, worker=None, created=3.0),
        instance("rich-d", "rich", InstanceState.ERROR, created=4.0),
    ]
    assert keeping_old(before, DeploymentView(spec=env, instances=instances)) == [
        "rich-a",
        "rich-b",
    ]
    assert keeping_old(before, DeploymentView(spec=more, instances=instances)) == []
    stopped = env.model_copy(update={"replicas": 0})
    assert keeping_old(before, DeploymentView(spec=stopped, instances=instances)) == []


def notes(app: GpustackApp) -> str:
    return "\n".join(n.message for n in app._notifications)


def running(server: RunningServer, name: str) -> list[str]:
    view = server.client().get_deployment(name)
    return sorted(i.name for i in view.instances if i.state is InstanceState.RUNNING)


async def edit(app: GpustackApp, pilot, name: str) -> DeployFormScreen:
    screen = app.screen
    assert isinstance(screen, DeploymentsScreen)
    await pilot_wait_until(
        pilot, "the row", lambda: f"dep:{name}" in screen.table.row_keys, timeout=20
    )
    screen.table.select_key(f"dep:{name}")
    await pilot.press("e")
    return await pilot_wait_until(
        pilot,
        "the form",
        lambda: app.screen if isinstance(app.screen, DeployFormScreen) else None,
        timeout=20,
    )


async def save_with_env(app: GpustackApp, pilot, form: DeployFormScreen, env: str) -> None:
    form.query_one("#env", TextArea).text = env
    await pilot.press("ctrl+s")


async def test_edit_keep_then_recreate(server: RunningServer, tmp_path: Path):
    server.client().add_worker("local")
    spec = DeploymentSpec.model_validate(
        {
            "name": "ed",
            "source": {"local_path": str(tmp_path)},
            "replicas": 2,
            "advanced": {
                "command": BACKEND_TEMPLATE,
                "allow_cpu_offloading": True,
                "env": {"V": "one"},
            },
        }
    )
    server.client().create_deployment(spec)
    old = wait_until(
        "two running",
        lambda: running(server, "ed") if len(running(server, "ed")) == 2 else None,
        timeout=30,
    )
    old_pids = backend_pids("ed")
    app = GpustackApp(server.client(), refresh_interval=0.3)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        form = await edit(app, pilot, "ed")
        assert "Edit deployment ed" in str(form.query_one("TitleBar").render())
        name = form.query_one("#name", Input)
        assert name.value == "ed" and name.disabled
        assert form.query_one("#local_path", Input).value == str(tmp_path)
        assert form.query_one("#command", Input).value == BACKEND_TEMPLATE
        assert form.query_one("#env", TextArea).text == "V=one"
        assert form.query_one("#replicas", Input).value == "2"
        assert str(form.query_one("#submit").label) == "Save"

        # Save, then Cancel: the instances keep the old configuration, and are told to.
        await save_with_env(app, pilot, form, "V=two")
        modal = await pilot_wait_until(
            pilot,
            "the offer",
            lambda: app.screen if isinstance(app.screen, RecreateModal) else None,
            timeout=20,
        )
        assert "2 running instance(s) keep the old configuration" in modal.body_text
        assert app.focused.id == "cancel"
        assert server.client().get_deployment("ed").spec.advanced.env == {"V": "two"}
        await pilot.press("enter")  # on Cancel
        await pilot_wait_until(
            pilot, "back", lambda: isinstance(app.screen, DeploymentsScreen), timeout=20
        )
        assert "keep the old configuration" in notes(app)
        await pilot.pause(1.0)
        assert running(server, "ed") == old and backend_pids("ed") == old_pids

        # Edit again and recreate: replaced one at a time, all with the new configuration.
        form = await edit(app, pilot, "ed")
        assert form.query_one("#env", TextArea).text == "V=two"
        await save_with_env(app, pilot, form, "V=three")
        await pilot_wait_until(
            pilot, "the offer", lambda: isinstance(app.screen, RecreateModal), timeout=20
        )
        await pilot.press("y")

        def replaced() -> bool:
            now = running(server, "ed")
            return len(now) == 2 and not set(now) & set(old)

        await pilot_wait_until(pilot, "both replaced", replaced, timeout=60)
        await pilot_wait_until(
            pilot, "done said", lambda: "recreated 2 instance(s) of ed" in notes(app), timeout=20
        )
        assert "deleted" in notes(app)
        pids = backend_pids("ed")
        assert len(pids) == 2 and not set(pids) & set(old_pids)
        assert {environ(pid)["V"] for pid in pids} == {"three"}


async def test_leaving_an_unchanged_edit_asks_nothing_and_a_changed_one_asks(make_app):
    from gpustack_tui.tui.screens.confirm import ConfirmModal

    view = DeploymentView(spec=DeploymentSpec.model_validate(RICH))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = DeployFormScreen.editing(view)
        app.push_screen(form)
        await pilot.pause()
        assert form.values() == values_from_spec(view.spec)
        assert form.query_one("#repo_id", Input).value == "Qwen/Qwen3-0.6B"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
        form = DeployFormScreen.editing(view)
        app.push_screen(form)
        await pilot.pause()
        form.query_one("#replicas", Input).value = "4"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.title_text == "Discard your changes to rich?"
