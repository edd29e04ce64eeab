"""Local path completion in Model search and the deploy form: from the server, from a worker
over real SSH, and what an unreachable worker looks like. A real server process throughout."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from textual.widgets import Input, Select

from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.screens.model_search import ModelSearchScreen
from gpustack_tui.tui.widgets.path_input import PathInput, matches, split_path
from tests.fixtures.processes import agent_pids
from tests.fixtures.server import RunningServer, start_server, stop_server
from tests.fixtures.sshd import SshdServer
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE


def model_tree(root: Path) -> Path:
    models = root / "models"
    (models / "Qwen3-0.6B").mkdir(parents=True)
    (models / "qwen-gguf").mkdir()
    (models / "Qwen3-0.6B" / "config.json").write_text("{}")
    (models / "qwen-tiny.gguf").write_bytes(b"GGUF")
    (models / "qwen-notes.txt").write_text("not a model")
    (models / ".qwen-hidden").mkdir()
    return models


def option_labels(field: PathInput) -> list[str]:
    options = field.choices
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def screen_of(app: GpustackApp, kind: type) -> object:
    return app.screen if isinstance(app.screen, kind) else None


async def open_local_search(app: GpustackApp, pilot) -> tuple[ModelSearchScreen, PathInput]:
    await pilot.press("m")
    screen = await pilot_wait_until(
        pilot, "model search", lambda: screen_of(app, ModelSearchScreen), timeout=20
    )
    await pilot.click("#source-local_path")
    await pilot.pause()
    assert app.focused.id == "path"
    return screen, screen.query_one(PathInput)


def test_splitting_and_matching() -> None:
    assert split_path("/models/qw") == ("/models/", "qw")
    assert split_path("~/m") == ("~/", "m")
    assert split_path("models") is None and split_path("~") is None
    entries = [
        {"name": "b.gguf", "is_dir": False, "size": 1},
        {"name": "Beta", "is_dir": True, "size": 0},
        {"name": "alpha", "is_dir": True, "size": 0},
    ]
    assert [e["name"] for e in matches(entries, "b")] == ["Beta", "b.gguf"]


async def test_completion_from_the_server_in_model_search(server: RunningServer, tmp_path: Path):
    models = model_tree(tmp_path)
    app = GpustackApp(server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        screen, field = await open_local_search(app, pilot)
        await pilot.press(*f"{tmp_path}/mo")
        await pilot_wait_until(
            pilot,
            "the models folder offered",
            lambda: option_labels(field) == ["models/"],
            timeout=20,
        )
        assert field.input.value == f"{tmp_path}/mo"  # keys went to the field, not held up
        await pilot.press("right")  # takes the inline suggestion
        assert field.input.value == f"{models}/"
        await pilot_wait_until(
            pilot, "the folder's models", lambda: len(option_labels(field)) == 3, timeout=20
        )
        assert option_labels(field) == ["qwen-gguf/", "Qwen3-0.6B/", "qwen-tiny.gguf"]
        await pilot.press(*"qwen-t")
        assert option_labels(field) == ["qwen-tiny.gguf"]  # filtered here, no new listing
        await pilot.press("backspace", "backspace", "down")
        assert app.focused is field.choices
        await pilot.press("down", "enter")
        assert field.input.value == f"{models}/Qwen3-0.6B/"
        assert app.focused is field.input
        await pilot.press("backspace", *"X", "enter")
        form = await pilot_wait_until(
            pilot, "the form", lambda: screen_of(app, DeployFormScreen), timeout=20
        )
        assert form.query_one("#local_path", Input).value == f"{models}/Qwen3-0.6BX"
        assert screen is not app.screen


async def test_bad_paths_say_what_to_do(server: RunningServer, tmp_path: Path):
    app = GpustackApp(server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        _screen, field = await open_local_search(app, pilot)
        await pilot.press(*"models")
        assert "type an absolute path" in str(field.note.render())
        field.input.value = ""
        await pilot.press(*f"{tmp_path}/nothing/here/x")
        await pilot_wait_until(
            pilot, "the error", lambda: field.note.has_class("-error"), timeout=20
        )
        assert "does not exist" in str(field.note.render())
        assert option_labels(field) == []


async def test_completion_from_a_worker_in_the_deploy_form(
    server: RunningServer, sshd_server: SshdServer, tmp_path: Path
):
    models = model_tree(tmp_path)
    sshd_server.add_to(server.client(), "w1")
    app = GpustackApp(server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        form = await pilot_wait_until(
            pilot, "the form", lambda: screen_of(app, DeployFormScreen), timeout=20
        )
        field = form.query_one(PathInput)
        where = form.query_one("#local_path-where", Select)
        await pilot_wait_until(
            pilot, "w1 offered", lambda: "w1" in [v for _, v in where._options], timeout=20
        )
        where.value = "w1"
        field.input.focus()
        await pilot.press(*f"{models}/q")
        await pilot_wait_until(
            pilot, "completions from w1", lambda: len(option_labels(field)) == 3, timeout=20
        )
        assert field.listings[("w1", f"{models}/")]["where"] == "worker w1"
        await pilot.press("down", "enter")
        assert form.query_one("#local_path", Input).value == f"{models}/qwen-gguf/"


async def test_an_unreachable_worker_is_said_and_the_field_keeps_working(
    tmp_path: Path, sshd_server: SshdServer
):
    model_tree(tmp_path)
    data_dir = tmp_path / "install"
    first = start_server(data_dir)
    try:
        sshd_server.add_to(first.client(), "gone")
    finally:
        stop_server(first)
    sshd_server.stop()
    server = start_server(data_dir)
    try:
        app = GpustackApp(server.client(), refresh_interval=None)
        async with app.run_test(size=SIZE) as pilot:
            _screen, field = await open_local_search(app, pilot)
            where = field.query_one("#path-where", Select)
            await pilot_wait_until(
                pilot, "gone offered", lambda: len(where._options) == 2, timeout=20
            )
            assert str(where._options[1][0]).startswith("on gone (")
            where.value = "gone"
            field.input.focus()
            await pilot.press(*f"{tmp_path}/mo")
            await pilot_wait_until(
                pilot, "the message", lambda: field.note.has_class("-error"), timeout=20
            )
            assert "worker gone did not answer" in str(field.note.render())
            where.value = "@server"
            await pilot_wait_until(
                pilot, "server completions", lambda: option_labels(field) == ["models/"], timeout=20
            )
            assert field.input.value == f"{tmp_path}/mo"
    finally:
        stop_server(server)


async def test_a_slow_worker_is_said_while_keys_keep_working(
    server: RunningServer, sshd_server: SshdServer, tmp_path: Path
):
    model_tree(tmp_path)
    sshd_server.add_to(server.client(), "w1")
    [agent] = agent_pids(sshd_server.agent_home)
    app = GpustackApp(server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        _screen, field = await open_local_search(app, pilot)
        where = field.query_one("#path-where", Select)
        await pilot_wait_until(pilot, "w1 offered", lambda: len(where._options) == 2, timeout=20)
        where.value = "w1"
        field.input.focus()
        os.kill(agent, signal.SIGSTOP)  # the agent stops answering: a slow worker
        try:
            await pilot.press(*f"{tmp_path}/mo")
            await pilot_wait_until(
                pilot, "slow said", lambda: "slow to answer" in str(field.note.render()), timeout=20
            )
            await pilot.press(*"dels")  # keys are not held up meanwhile
            assert field.input.value == f"{tmp_path}/models"
            await pilot_wait_until(pilot, "the timeout", lambda: field.note.has_class("-error"), 20)
            assert "did not answer" in str(field.note.render())
        finally:
            os.kill(agent, signal.SIGCONT)
