"""Every option of issue 6 is reachable in the deploy form: Backend Version choices that follow
the backend and the workers' accelerators, the extended KV cache with its compatibility matrix,
and the Advanced switches disabled with the reason where they do not apply."""

from __future__ import annotations

from textual.widgets import Checkbox, Input, RadioButton, Select, Static

from gpustack_tui.domain.worker import Gpu, Worker, WorkerState
from gpustack_tui.tui.forms import build_spec, disabled_reasons
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.widgets.deploy_sections import (
    WorkersLoaded,
    families_of,
    kv_matrix,
    version_options,
)
from tests.tui.conftest import SIZE, open_form

GIB = 1024**3


def worker(name: str, vendor: str) -> Worker:
    gpu = Gpu(index=0, name=f"{vendor} gpu", vendor=vendor, memory_total=64 * GIB, simulated=True)
    return Worker(name=name, destination=name, state=WorkerState.READY, gpus=[gpu])


def text(form: DeployFormScreen, widget_id: str) -> str:
    return str(form.query_one(f"#{widget_id}", Static).render())


def test_versions_follow_the_backend_and_the_accelerators() -> None:
    assert version_options("custom", frozenset({"cuda"})) == [("auto", "auto")]
    every = version_options("vllm", frozenset())
    assert every[0] == ("auto (newest: 0.25.1)", "auto")
    assert [v for _, v in every[1:]] == ["0.25.1", "0.20.2", "0.17.1", "0.11.2"]
    assert version_options("mindie", frozenset({"cuda"})) == [("auto (newest: 2.3.0)", "auto")]
    mixed = version_options("vllm", frozenset({"cuda", "cann"}))
    assert mixed[1] == ("0.25.1 (no CANN image)", "0.25.1")
    kept = version_options("mindie", frozenset({"cuda"}), current="2.2.rc1")
    assert kept[-1] == ("2.2.rc1 (no image for these workers)", "2.2.rc1")
    assert families_of([worker("a", "nvidia"), worker("b", "amd")]) == {"cuda", "rocm"}


def test_the_kv_cache_rule_is_shown_and_applied() -> None:
    lines = kv_matrix().splitlines()
    assert lines[0].split() == ["backend", "CUDA", "ROCm", "CANN"]
    assert lines[1].split() == ["vLLM", "✓", "✓", "✗"]
    assert lines[2].split() == ["SGLang", "✓", "✓", "✗"]
    assert all(line.split()[1:] == ["✗", "✗", "✗"] for line in lines[3:])
    assert "kv_enabled" not in disabled_reasons("vllm", frozenset({"cuda", "rocm"}))
    assert "CANN" in disabled_reasons("sglang", frozenset({"cann"}))["kv_enabled"].upper()
    reasons = disabled_reasons("voxbox")
    assert "one worker" in reasons["distributed"] and "custom backends only" in reasons["allow_cpu"]
    assert "built-in backends only" in disabled_reasons("custom")["distributed"]


async def test_a_built_in_backend_with_every_option_reaches_the_spec(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        version = form.query_one("#backend_version", Select)
        assert version.disabled  # custom: the command line picks the version
        assert "built-in backends only" in text(form, "options-reason")
        assert form.query_one("#distributed", Checkbox).disabled

        form.query_one("#backend-vllm", RadioButton).value = True
        await pilot.pause()
        assert not version.disabled
        assert not form.query_one("#kv_enabled", Checkbox).disabled
        assert form.query_one("#allow_cpu", Checkbox).disabled
        assert "custom backends only" in text(form, "options-reason")
        assert "vLLM" in text(form, "kv_matrix")

        # The workers' GPUs narrow the versions: an Ascend-only cluster has no vLLM image.
        form.post_message(WorkersLoaded([worker("npu", "ascend")]))
        await pilot.pause()
        assert [v for _, v in version._options] == ["auto"]
        assert "CANN" in text(form, "kv_enabled-reason").upper()
        assert form.query_one("#kv_enabled", Checkbox).disabled
        form.post_message(WorkersLoaded([worker("gpu", "nvidia")]))
        await pilot.pause()
        version.value = "0.20.2"
        form.query_one("#kv_enabled", Checkbox).value = True
        await pilot.pause()
        form.query_one("#kv_ratio", Input).value = "2"
        form.query_one("#repo_id", Input).value = "Qwen/Qwen3-0.6B"
        form.query_one("#source-huggingface", RadioButton).value = True
        form.query_one("#name", Input).value = "q"
        form.query_one("#category", Select).value = "embedding"
        for box in ("distributed", "restart_on_error", "generic_proxy"):
            form.query_one(f"#{box}", Checkbox).toggle()
        await pilot.pause()
        spec = build_spec(form.values())
        assert (spec.backend, spec.backend_version) == ("vllm", "0.20.2")
        assert spec.performance.extended_kv_cache.enabled
        assert spec.performance.extended_kv_cache.ram_to_vram_ratio == 2.0
        assert spec.advanced.category == "embedding"
        adv = spec.advanced
        assert (adv.distributed_across_workers, adv.restart_on_error, adv.generic_proxy) == (
            False,
            False,
            True,
        )

        # Back to custom: the version resets, CPU offloading is offered again.
        form.query_one("#backend-custom", RadioButton).value = True
        await pilot.pause()
        assert version.value == "auto" and version.disabled
        assert not form.query_one("#allow_cpu", Checkbox).disabled
