"""The backends view against a real server process: list, add (checked first), remove."""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox, Input

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.user_backend import UserBackend
from gpustack_tui.tui.screens.backends import (
    AddBackendModal,
    BackendForm,
    BackendsScreen,
    parse_backend_form,
)
from gpustack_tui.tui.screens.confirm import ConfirmModal
from tests.fixtures.server import RunningServer
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE, app_for


def test_the_form_is_checked_before_anything_is_sent() -> None:
    backend = parse_backend_form(
        BackendForm(
            name="tei", image="ghcr.io/hf/tei:1.8", command="--model-id {model_path} --port {port}",
            health="/health", versions="1.8 1.7=ghcr.io/hf/tei:1.7", env="A=1 B=two",
        )
    )  # fmt: skip
    assert backend.default_version == "1.8"
    assert backend.versions[1].image == "ghcr.io/hf/tei:1.7"
    assert backend.env == {"A": "1", "B": "two"}
    for form, words in (
        (BackendForm(name="vllm", command="x"), "name: 'vllm' is a built-in backend"),
        (BackendForm(name="x", command="s {gpu}"), "command: "),
        (BackendForm(name="x", command="s", env="NOEQUALS"), "env: "),
        (BackendForm(name="x", command="s", health="health"), "health_path"),
        (BackendForm(name="x", command="s", versions="a", default="b"), "not among"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_backend_form(form)


async def test_add_then_remove(server: RunningServer) -> None:
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        screen = await pilot_wait_until(
            pilot,
            "the backends view",
            lambda: isinstance(app.screen, BackendsScreen) and app.screen,
            timeout=20,
        )
        await pilot_wait_until(
            pilot, "the built-in rows", lambda: "builtin:vllm" in screen.table.row_keys, timeout=20
        )
        assert "no user backends yet" in screen.status.message

        await pilot.press("d")  # a built-in row is selected: nothing is asked
        assert "built-in backends cannot be removed" in screen.status.message
        assert isinstance(app.screen, BackendsScreen)

        await pilot.press("n")
        form = await pilot_wait_until(
            pilot,
            "the form",
            lambda: isinstance(app.screen, AddBackendModal) and app.screen,
            timeout=20,
        )
        form.query_one("#backend-name", Input).value = "llama-cpp"
        form.query_one("#backend-command", Input).value = "llama-server -m {model} --port {port}"
        await pilot.press("enter")
        assert "{model}" in str(form.query_one("#backend-error").render())
        assert isinstance(app.screen, AddBackendModal)  # kept, with what was typed
        form.query_one(
            "#backend-command", Input
        ).value = "llama-server -m {model_path} --port {port}"
        form.query_one("#backend-health", Input).value = "/v1/models"
        form.query_one("#backend-cpu", Checkbox).value = True
        await pilot.press("enter")
        await pilot_wait_until(
            pilot, "the new row", lambda: "user:llama-cpp" in screen.table.row_keys, timeout=20
        )
        assert screen.table.get_cell("user:llama-cpp", "cpu") == "yes"
        assert "process: llama-server" in screen.table.get_cell("user:llama-cpp", "image")
        screen.table.select_key("user:llama-cpp")
        await pilot.pause()
        detail = str(screen.query_one("#detail").render())
        assert "runs a process: llama-server -m {model_path} --port {port}" in detail
        with server.client() as client:
            assert client.get_backend("llama-cpp").health_path == "/v1/models"

        screen.table.select_key("user:llama-cpp")
        await pilot.press("d")
        await pilot_wait_until(
            pilot, "the question", lambda: isinstance(app.screen, ConfirmModal), timeout=20
        )
        await pilot.press("y")
        await pilot_wait_until(
            pilot, "the row gone", lambda: "user:llama-cpp" not in screen.table.row_keys, timeout=20
        )
        with server.client() as client:
            assert client.list_backends() == []
        await pilot.press("escape")
        await pilot_wait_until(
            pilot, "the deployments", lambda: not isinstance(app.screen, BackendsScreen), timeout=20
        )


async def test_removing_a_backend_in_use_says_who_uses_it(server: RunningServer) -> None:
    with server.client() as client:
        client.add_backend(UserBackend(name="tei", command="tei --port {port}"))
        spec = {"name": "embed", "source": {"local_path": "/m"}, "backend": "tei"}
        client.create_deployment(DeploymentSpec.model_validate(spec))
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        screen = await pilot_wait_until(
            pilot,
            "the view",
            lambda: isinstance(app.screen, BackendsScreen) and app.screen,
            timeout=20,
        )
        await pilot_wait_until(
            pilot, "the row", lambda: "user:tei" in screen.table.row_keys, timeout=20
        )
        screen.table.select_key("user:tei")
        await pilot.press("d")
        await pilot_wait_until(
            pilot, "the question", lambda: isinstance(app.screen, ConfirmModal), timeout=20
        )
        await pilot.press("y")
        await pilot_wait_until(
            pilot, "the refusal", lambda: "embed" in screen.status.message, timeout=20
        )
        assert "removing backend tei failed" in screen.status.message
        assert "user:tei" in screen.table.row_keys


def test_the_table_shortens_versions_and_the_detail_line_has_them_all() -> None:
    from gpustack_tui.backends.catalog import BUILTIN
    from gpustack_tui.tui.screens.backends import backend_detail, backend_rows

    sglang = BUILTIN["sglang"]
    names = [v.version for v in sglang.versions]
    (row,) = [r for r in backend_rows([]) if r.key == "builtin:sglang"]
    assert row.cells[2] == f"{sglang.default_version.version}* +{len(names) - 1}"
    detail = backend_detail("builtin:sglang", {})
    assert all(name in detail for name in names)
    assert backend_detail("user:gone", {}) == ""
