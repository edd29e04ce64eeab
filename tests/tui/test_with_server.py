"""The TUI against a real server process (and, for logs, a real sshd worker)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Input

from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.screens.workers import WorkersScreen
from gpustack_tui.tui.widgets.log_view import LogView
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.models import write_chat_model
from tests.fixtures.server import RunningServer, stop_server
from tests.fixtures.sshd import SshdServer
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE, app_for, fill_form
from tests.tui.samples import spec


async def test_deployments_are_listed_with_their_instances(server: RunningServer):
    server.client().create_deployment(spec("chat", 2))
    server.client().create_deployment(spec("embed", 0))
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, DeploymentsScreen)
        keys = await pilot_wait_until(
            pilot, "two chat instances",
            lambda: [k for k in screen.table.row_keys if k.startswith("inst:chat")] or None,
            timeout=20,
        )  # fmt: skip
        assert screen.table.row_keys[0] == "dep:chat"
        assert len(keys) == 2
        assert screen.table.get_cell("dep:chat", "state").plain.endswith(" 0/2")
        assert screen.table.get_cell("dep:embed", "state").plain == "○ stopped"
        assert screen.table.get_cell(keys[0], "state").plain.startswith("◐")
        # The log of an instance without a worker yet: said plainly, and retried.
        screen.table.select_key(keys[0])
        await pilot.press("enter")
        logs = await pilot_wait_until(
            pilot, "the not-placed warning",
            lambda: app.screen if app.screen.status.level == "warning" else None,
            timeout=20,
        )  # fmt: skip
        assert isinstance(logs, LogsScreen)
        assert "not placed on a worker yet" in logs.status.message


async def test_the_deploy_form_creates_a_deployment_on_the_server(server: RunningServer):
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, DeployFormScreen)
        fill_form(
            form, local_path="/models/qwen", name="qwen", replicas="0",
            command="serve --model {model_path} --port {port}", env="A=1\nB=two words",
        )  # fmt: skip
        await pilot.press("ctrl+s")
        screen = await pilot_wait_until(
            pilot, "back to the deployments",
            lambda: app.screen if isinstance(app.screen, DeploymentsScreen) else None,
            timeout=20,
        )  # fmt: skip
        [view] = server.client().list_deployments()
        assert view.spec.name == "qwen"
        assert view.spec.advanced.env == {"A": "1", "B": "two words"}
        assert view.spec.replicas == 0
        await pilot_wait_until(
            pilot, "the new row", lambda: screen.table.cursor_key == "dep:qwen", timeout=20
        )
        assert "created deployment qwen" in screen.status.message


async def test_a_bad_env_line_stores_nothing(server: RunningServer):
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        fill_form(form, local_path="/m", name="bad-env", command="serve", env="oops")
        await pilot.press("ctrl+s")
        await pilot.pause(0.5)
        assert app.screen is form and app.focused.id == "env"
        assert server.client().list_deployments() == []


async def test_a_server_refusal_keeps_the_form(server: RunningServer):
    server.client().create_deployment(spec("taken", 0))
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        fill_form(form, local_path="/m", name="taken", command="serve")
        await pilot.press("ctrl+s")
        await pilot_wait_until(
            pilot,
            "the refusal",
            lambda: not form.submitting and form.status.level == "error",
            timeout=20,
        )
        assert app.screen is form
        assert "exists" in str(form.query_one("#form-error").render())
        assert form.query_one("#name", Input).value == "taken"
        assert app.focused.id == "name"


async def test_scale_and_delete_from_the_table(server: RunningServer):
    server.client().create_deployment(spec("chat", 1))
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot_wait_until(
            pilot, "chat row", lambda: "dep:chat" in screen.table.row_keys, timeout=20
        )
        screen.table.select_key("dep:chat")
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("3", "enter")
        client = server.client()
        await pilot_wait_until(
            pilot, "scaled", lambda: client.get_deployment("chat").spec.replicas == 3, timeout=20
        )
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await pilot_wait_until(
            pilot, "deleted", lambda: server.client().list_deployments() == [], timeout=20
        )
        await pilot_wait_until(pilot, "row gone", lambda: screen.table.row_keys == [], timeout=20)


async def test_labels_are_edited_on_the_workers_view(server: RunningServer):
    server.client().add_worker("local")
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        screen = await pilot_wait_until(
            pilot,
            "the workers view",
            lambda: isinstance(app.screen, WorkersScreen) and app.screen,
            timeout=20,
        )
        await pilot_wait_until(
            pilot, "the local worker row", lambda: screen.selected() is not None, timeout=20
        )
        await pilot.press("e")
        await pilot.pause()
        field = app.screen.query_one("#labels", Input)
        field.value = "gpu=a100 broken"
        await pilot.press("enter")
        await pilot.pause()
        assert "'broken' must look like key=value" in str(
            app.screen.query_one("#labels-error").render()
        )
        field.value = "gpu=a100, zone=b"
        await pilot.press("enter")
        await pilot_wait_until(
            pilot,
            "the labels on the server",
            lambda: server.client().get_worker("local").labels == {"gpu": "a100", "zone": "b"},
            timeout=20,
        )


async def test_an_unreachable_server_keeps_the_last_data(server: RunningServer):
    server.client().create_deployment(spec("chat", 0))
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot_wait_until(
            pilot, "chat row", lambda: "dep:chat" in screen.table.row_keys, timeout=20
        )
        stop_server(server)
        await pilot_wait_until(pilot, "the unreachable status", lambda: screen.failing, timeout=10)
        assert "server unreachable" in screen.status.message
        assert "retrying every 0.3 s" in screen.status.message
        assert screen.table.row_keys == ["dep:chat"]
        seq = screen._seq
        await pilot.pause(1.0)
        assert screen._seq > seq  # still trying


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small local model folder (path with a space, as users have)."""
    return write_chat_model(tmp_path / "models" / "tiny model")


async def test_add_worker_deploy_and_follow_the_log(
    server: RunningServer, sshd_server: SshdServer, model_dir: Path
):
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        # A real worker over SSH: the unknown host key is shown, then trusted.
        await pilot.press("w")
        await pilot.pause()
        workers = app.screen
        assert isinstance(workers, WorkersScreen)
        await pilot.press("a")
        await pilot.pause()
        fill_form(
            app.screen, destination=sshd_server.destination, name="w1",
            identity_file=str(sshd_server.identity_file),
        )  # fmt: skip
        await pilot.press("ctrl+s")
        modal = await pilot_wait_until(
            pilot, "host key question",
            lambda: app.screen if isinstance(app.screen, ConfirmModal) else None,
            timeout=20,
        )  # fmt: skip
        assert sshd_server.host_key_fingerprint in modal.body_text
        assert app.focused.id == "cancel"
        await pilot.press("y")
        await pilot_wait_until(
            pilot, "worker row", lambda: workers.table.row_keys == ["worker:w1"], timeout=20
        )
        assert "simulated" in workers.table.get_cell("worker:w1", "gpus").plain
        await pilot.press("escape")
        await pilot.pause()

        # Deploy through the form; its command prints an env variable first.
        command = (
            'sh -c \'echo greeting=$GREETING; exec "$0" "$@"\' '
            f"{BACKEND_TEMPLATE} "
            "--model-path {model_path} --chunk-delay 0.01"
        )
        await pilot.press("n")
        await pilot.pause()
        fill_form(
            app.screen, local_path=str(model_dir), name="tui-e2e", command=command,
            env="GREETING=hello-from-the-form", vram_claim_gib="10",
        )  # fmt: skip
        await pilot.press("ctrl+s")
        screen = await pilot_wait_until(
            pilot, "deployments view",
            lambda: app.screen if isinstance(app.screen, DeploymentsScreen) else None,
            timeout=20,
        )  # fmt: skip

        def running() -> str | None:
            view = screen.views.get("tui-e2e")
            instances = view.instances if view else []
            names = [i.name for i in instances if i.state is InstanceState.RUNNING]
            return names[0] if names else None

        name = await pilot_wait_until(pilot, "a running instance", running, timeout=60)
        assert screen.table.get_cell(f"inst:{name}", "state").plain.startswith("● running ")

        screen.table.select_key(f"inst:{name}")
        await pilot.press("enter")
        await pilot.pause()
        logs = app.screen
        assert isinstance(logs, LogsScreen) and logs.instance == name
        log = logs.query_one(LogView)
        await pilot_wait_until(
            pilot, "the greeting in the log",
            lambda: any("greeting=hello-from-the-form" in line for line in log.lines),
            timeout=20,
        )  # fmt: skip
        # Quitting with a live log stream open exits at once; the instance keeps running.
        started = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - started < 5
    assert app.return_code == 0
    client = server.client()
    assert [i.state for i in client.get_deployment("tui-e2e").instances] == [InstanceState.RUNNING]
    client.delete_deployment("tui-e2e")
    deadline = time.monotonic() + 30
    while client.list_deployments() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.list_deployments() == []


def test_run_tui_builds_the_client_and_says_a_server_was_started(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    from gpustack_tui.tui import app as app_module

    seen: dict[str, object] = {}

    def fake_run(self: GpustackApp) -> None:
        seen["status"] = self.startup_status
        seen["url"] = self.client.base_url
        seen["deployments"] = self.client.list_deployments()

    monkeypatch.setattr(app_module.GpustackApp, "run", fake_run)
    app_module.run_tui(server.paths, server.url, started_server=True)
    assert seen["url"] == server.url
    assert seen["deployments"] == []  # the token of the installation was used
    assert str(server.paths.server_log) in str(seen["status"])
    app_module.run_tui(server.paths, server.url, started_server=False)
    assert seen["status"] == ""
