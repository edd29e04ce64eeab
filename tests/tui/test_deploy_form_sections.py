"""The deploy form's sections and its live plan preview (offline, and against a real server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Collapsible, Input, RadioButton, SelectionList, Static

from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.forms import DeployFormValues, FormErrors, build_spec, disabled_reasons
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.widgets.plan_preview import PlanReady
from tests.fixtures.server import RunningServer, running_server
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE, error_of, fill_form, open_form

GIB = 1024**3
VALID = {"local_path": "/models/qwen", "name": "qwen", "command": "serve --port {port}"}


def test_options_of_other_backends_are_disabled_with_the_reason():
    assert disabled_reasons("custom")["kv_enabled"] == "vLLM and SGLang only"
    assert "kv_enabled" not in disabled_reasons("vllm")
    assert "command" in disabled_reasons("sglang") and "command" not in disabled_reasons("custom")


def test_the_sections_reach_the_spec():
    values = DeployFormValues(
        **VALID,
        source="huggingface",
        repo_id="Qwen/Qwen3-0.6B",
        mode="manual",
        gpu_selector=["w1:0", "w1:1"],
        gpus_per_replica="2",
        placement="binpack",
        category="embedding",
        backend_parameters="--max-model-len=4096\n--dtype half\n",
        restart_on_error=False,
    )
    spec = build_spec(values)
    assert spec.source.huggingface == "Qwen/Qwen3-0.6B"
    assert spec.scheduling.gpu_selector == ["w1:0", "w1:1"]
    assert spec.scheduling.gpus_per_replica == 2
    assert spec.advanced.category == "embedding"
    assert spec.advanced.backend_parameters == ["--max-model-len=4096", "--dtype half"]
    assert spec.advanced.restart_on_error is False


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kv_ratio": "-1"}, "kv_ratio", "greater than 0"),
        ({"kv_chunk_size": "0"}, "kv_chunk_size", "greater than 0"),
        ({"kv_max_ram_gib": "lots"}, "kv_max_ram_gib", "number of GiB"),
        ({"gpus_per_replica": "0"}, "gpus_per_replica", "at least 1"),
        ({"gpus_per_replica": "two"}, "gpus_per_replica", "'auto' or a number"),
        ({"backend_parameters": '--x "open'}, "backend_parameters", "No closing quotation"),
        ({"source": "modelscope"}, "repo_id", "repository id"),
    ],
)
def test_each_section_mistake_is_reported_on_its_field(changes, field, words):
    values = DeployFormValues(**{**VALID, **changes})
    with pytest.raises(FormErrors) as caught:
        build_spec(values)
    assert list(caught.value.errors) == [field]
    assert words in caught.value.errors[field]


async def test_an_error_in_a_section_expands_it_and_focuses_the_field(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        assert all(c.collapsed for c in form.query(Collapsible))
        fill_form(form, **VALID, worker_selector="gpu=h100 broken")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not form.query_one("#scheduling", Collapsible).collapsed
        assert form.query_one("#performance", Collapsible).collapsed
        assert app.focused.id == "worker_selector"
        assert "'broken' must look like key=value" in error_of(form, "worker_selector")
        assert isinstance(app.screen, DeployFormScreen)


async def test_kv_cache_is_disabled_for_the_custom_backend(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        assert form.query_one("#kv_enabled", Checkbox).disabled
        reason = form.query_one("#kv_enabled-reason", Static)
        assert str(reason.render()) == "vLLM and SGLang only"
        assert form.query_one("#kv_ratio", Input).disabled


async def test_manual_mode_needs_a_gpu_and_shows_the_selector(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        assert not form.query_one("#field-gpu_selector").display
        form.query_one("#mode-manual", RadioButton).value = True
        await pilot.pause()
        assert form.query_one("#field-gpu_selector").display
        assert not form.query_one("#field-worker_selector").display
        fill_form(form, **VALID)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "pick at least one GPU" in error_of(form, "gpu_selector")
        assert app.focused.id == "gpu_selector"


@pytest.fixture
def gpu_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """A server whose local worker reports two simulated 24 GiB GPUs."""
    gpus = [{"name": "Simulated L4", "memory_total": 24 * GIB}] * 2
    monkeypatch.setenv("GPUSTACK_AGENT_SIMULATED_GPUS", json.dumps(gpus))
    with running_server(tmp_path / "install", local_worker=True) as running:
        yield running


async def test_the_plan_preview_follows_the_fields(gpu_server: RunningServer, tmp_path: Path):
    model = tmp_path / "qwen"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"\0" * 4096)
    server = gpu_server
    messages: list[object] = []
    app = GpustackApp(server.client(), refresh_interval=None)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        form = await open_form(app, pilot)
        preview = form.preview
        await pilot_wait_until(
            pilot, "the missing fields", lambda: "complete these" in preview.message, timeout=20
        )
        assert "local path" in preview.message and "command" in preview.message
        fill_form(form, local_path=str(model), command="serve --port {port}", vram_claim_gib="1")
        await pilot.press("tab", "tab", *"qwen")  # past where to look for the path
        await pilot_wait_until(pilot, "a plan", lambda: preview.plan is not None, timeout=20)
        await pilot.pause(0.6)
        plans = [m for m in messages if isinstance(m, PlanReady)]
        assert len(plans) == 1  # typing and filling in settled into one request
        text = str(preview.render())
        assert "1 of 1 replicas fit" in text
        assert "local (leader): GPU 0 1.0 GiB" in text

        fill_form(form, vram_claim_gib="100000")
        await pilot_wait_until(
            pilot, "the reasons", lambda: "does not fit" in str(preview.render()), timeout=20
        )
        assert "0 of 1 replicas fit" in str(preview.render())
        assert preview.plan["replicas"][0]["reasons"]

        # Manual mode lists every GPU of the worker with its free memory.
        form.query_one("#mode-manual", RadioButton).value = True
        selector = form.query_one("#gpu_selector", SelectionList)
        await pilot_wait_until(pilot, "the GPU list", lambda: selector.option_count, timeout=20)
        prompt = str(selector.get_option_at_index(0).prompt)
        assert prompt.startswith("local:0") and "24.0 of 24.0 GiB free" in prompt
        assert selector.option_count == 2
        assert server.client().list_deployments() == []  # planning created nothing
