"""Model search against a real server process reading the loopback hub."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, RadioButton

from gpustack_tui.domain.model import SearchHit
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.forms import name_from_repo
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.model_search import (
    ModelSearchScreen,
    SearchResults,
    category_of,
    hit_row,
    short_count,
)
from tests.fixtures import hub_server as hub_module
from tests.fixtures.hub_server import HubServer
from tests.fixtures.server import RunningServer, running_server
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE


@pytest.fixture
def hub_server(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningServer]:
    """A server process that reads the loopback hub; its local worker reports one simulated
    24 GiB GPU."""
    gpus = [{"name": "Simulated L4", "memory_total": 24 * 1024**3}]
    monkeypatch.setenv("GPUSTACK_AGENT_SIMULATED_GPUS", json.dumps(gpus))
    with running_server(tmp_path / "install", local_worker=True) as running:
        yield running


def searches(hub: HubServer) -> list[str]:
    """The Hugging Face search requests the hub received."""
    return [path for _, path, _ in hub.state.requests if path == "/api/models"]


@pytest.mark.parametrize(
    ("tag", "category"),
    [("text-generation", "llm"), ("feature-extraction", "embedding"),
     ("text-ranking", "reranker"), ("text-to-speech", "text-to-speech"), (None, "auto")],
)  # fmt: skip
def test_the_category_comes_from_the_pipeline_tag(tag: str | None, category: str):
    assert (
        category_of(SearchHit(source="huggingface", model_id="a/b", pipeline_tag=tag)) == category
    )


def test_names_and_figures_of_results():
    assert name_from_repo("Qwen/Qwen3-0.6B") == "qwen3-0.6b"
    assert name_from_repo("/models/My_Model v2/") == "my-model-v2"
    assert name_from_repo("unsloth/Qwen3-14B-GGUF/q4.gguf") == "q4"
    assert [short_count(n) for n in (12, 12_300, 4_200_000)] == ["12", "12.3k", "4.2M"]
    hit = SearchHit(source="huggingface", model_id="evil/\x1b]52;c;bad\x07m", gated=True)
    assert hit_row(hit).cells[0].plain == "evil/m (gated)"


async def open_search(app: GpustackApp, pilot) -> ModelSearchScreen:
    await pilot.press("m")
    await pilot.pause()
    assert isinstance(app.screen, ModelSearchScreen)
    assert app.focused.id == "query"
    return app.screen


async def test_typing_searches_once_when_typing_pauses(hub: HubServer, hub_server: RunningServer):
    messages: list[object] = []
    app = GpustackApp(hub_server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_search(app, pilot)
        await pilot.press(*"qwen3")
        await pilot_wait_until(pilot, "results", lambda: screen.table.row_count, timeout=20)
        await pilot.pause(0.5)
        results = [m for m in messages if isinstance(m, SearchResults)]
        assert [m.query for m in results] == ["qwen3"]
        assert len(searches(hub)) == 1
        keys = screen.table.row_keys
        assert keys[:2] == ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-8B"]
        assert screen.table.get_cell("Qwen/Qwen3-0.6B", "downloads").plain == "4.2M"
        assert "3 models on Hugging Face match 'qwen3'" in screen.status.message


async def test_a_newer_search_supersedes_one_in_flight(
    hub: HubServer, hub_server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    gate = threading.Event()
    entered = threading.Event()
    original = hub_module._Handler._hf_list

    def held(self, query: dict[str, str]) -> None:
        entered.set()
        gate.wait(20)
        original(self, query)

    monkeypatch.setattr(hub_module._Handler, "_hf_list", held)
    messages: list[object] = []
    app = GpustackApp(hub_server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_search(app, pilot)
        await pilot.press(*"llama")
        await pilot_wait_until(pilot, "the first search at the hub", entered.is_set, timeout=20)
        first = screen.search_worker
        # The first search hangs at the hub; typing goes on and starts the newer search.
        await pilot.press("ctrl+a", "ctrl+k", *"qwen3")
        assert screen.query_one("#query", Input).value == "qwen3"
        await pilot_wait_until(
            pilot, "the second search", lambda: screen.search_worker is not first, timeout=20
        )
        assert first is not None and first.is_cancelled
        gate.set()
        await pilot_wait_until(
            pilot, "the newer results", lambda: screen.shown_query == "qwen3", timeout=20
        )

        def answers() -> int:
            return len([m for m in messages if isinstance(m, SearchResults)])

        await pilot_wait_until(pilot, "both answers", lambda: answers() == 2, timeout=20)
        await pilot.pause(0.2)
        assert screen.shown_query == "qwen3"
        assert "meta-llama/Llama-3.1-8B" not in screen.table.row_keys
        assert screen.table.row_keys[0] == "Qwen/Qwen3-0.6B"


async def test_enter_on_a_result_opens_the_prefilled_form(
    hub: HubServer, hub_server: RunningServer
):
    app = GpustackApp(hub_server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_search(app, pilot)
        await pilot.press(*"qwen3")
        await pilot_wait_until(pilot, "results", lambda: screen.table.row_count, timeout=20)
        await pilot.press("enter", "enter")
        form = await pilot_wait_until(
            pilot,
            "the form",
            lambda: isinstance(app.screen, DeployFormScreen) and app.screen,
            timeout=20,
        )
        assert form.query_one("#source-huggingface", RadioButton).value
        assert form.query_one("#repo_id", Input).value == "Qwen/Qwen3-0.6B"
        assert form.query_one("#name", Input).value == "qwen3-0.6b"
        assert not form.query_one("#field-local_path").display
        assert app.focused.id == "name"
        form.query_one("#command", Input).value = "serve --port {port}"
        # The preview says what the server plans and what the hub's model needs.
        await pilot_wait_until(
            pilot, "the estimate", lambda: "Estimate" in str(form.preview.render()), timeout=20
        )
        preview = str(form.preview.render())
        assert "weights 1.4 GiB, llm" in preview
        assert "needs 1 GPU(s)" in preview and "context that fits" in preview
        form.query_one("#replicas", Input).value = "0"
        await pilot.press("ctrl+s")
        await pilot_wait_until(
            pilot, "an answer",
            lambda: isinstance(app.screen, DeploymentsScreen) or form.status.level == "error",
            timeout=20,
        )  # fmt: skip
        names = [v.name for v in hub_server.client().list_deployments()]
        if isinstance(app.screen, DeploymentsScreen):
            assert names == ["qwen3-0.6b"]
        else:  # The server does not take hub sources yet: its words are shown, nothing lost.
            assert names == []
            assert "The server refused" in str(form.query_one("#form-error").render())
            assert form.query_one("#repo_id", Input).value == "Qwen/Qwen3-0.6B"


async def test_an_unreachable_hub_is_said_with_what_to_do(
    hub: HubServer, hub_server: RunningServer
):
    hub.stop()
    app = GpustackApp(hub_server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_search(app, pilot)
        # ModelScope: huggingface_hub retries a search for 23 s before it gives up.
        await pilot.click("#source-modelscope")
        await pilot.press("ctrl+f", *"qwen3")
        await pilot_wait_until(
            pilot, "the error", lambda: screen.status.level == "error", timeout=60
        )
        assert "searching ModelScope failed" in screen.status.message
        assert "cannot reach" in screen.status.message
        assert "check the head node's network" in screen.status.message
        assert screen.table.row_count == 0
        await pilot.press(*"x")
        assert screen.query_one("#query", Input).value == "qwen3x"


async def test_a_local_path_opens_the_form_with_it(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_search(app, pilot)
        await pilot.click("#source-local_path")
        await pilot.pause()
        assert screen.query_one("#field-path").display
        assert not screen.query_one("#results-box").display
        assert app.focused.id == "path"
        await pilot.press("enter")
        assert "type the model's path" in screen.status.message
        await pilot.press(*"/models/Qwen2.5_7B.gguf", "enter")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, DeployFormScreen)
        assert form.query_one("#local_path", Input).value == "/models/Qwen2.5_7B.gguf"
        assert form.query_one("#name", Input).value == "qwen2.5-7b"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
