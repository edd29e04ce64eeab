"""The deploy form without a server: errors next to their field, focus on the first one."""

from __future__ import annotations

from textual.widgets import Input, RadioButton, TextArea

from gpustack_tui.client import ApiError
from gpustack_tui.tui.messages import RequestFailed
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from tests.tui.conftest import SIZE, error_of, open_form


async def test_empty_form_marks_fields_and_focuses_the_first(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        assert app.focused.id == "local_path"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.focused.id == "local_path"
        assert "path" in error_of(form, "local_path")
        assert "lowercase" in error_of(form, "name")
        assert "command" in error_of(form, "command")
        assert form.query_one("#field-name").has_class("-invalid")
        assert error_of(form, "env") == ""
        assert "fix the 3 field(s)" in form.status.message


async def test_bad_env_line_is_shown_on_env_and_focused(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        form.query_one("#local_path", Input).value = "/models/qwen"
        form.query_one("#name", Input).value = "qwen"
        form.query_one("#command", Input).value = "serve --port {port}"
        form.query_one("#env", TextArea).text = "GOOD=1\nno equals sign here"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.focused.id == "env"
        assert "'no equals sign here' must look like NAME=VALUE" in error_of(form, "env")
        assert error_of(form, "name") == ""
        assert isinstance(app.screen, DeployFormScreen)


async def test_typing_then_fixing_clears_the_error(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        await pilot.press(*"/m", "tab", "tab", *"Bad", "ctrl+s")  # path, where to look, name
        await pilot.pause()
        assert app.focused.id == "name"
        assert "lowercase" in error_of(form, "name")
        form.query_one("#name", Input).value = "good"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert error_of(form, "name") == ""
        assert app.focused.id == "command"


async def test_every_backend_can_be_chosen(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        for backend in ("vllm", "sglang", "mindie", "voxbox"):
            button = form.query_one(f"#backend-{backend}", RadioButton)
            assert not button.disabled and "not supported" not in str(button.label)
        assert form.query_one("#backend-custom", RadioButton).value is True
        assert not form.query_one("#source-huggingface", RadioButton).disabled
        assert form.values().backend == "custom"


async def test_server_error_is_shown_and_nothing_typed_is_lost(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(app, pilot)
        form.query_one("#name", Input).value = "taken"
        error = ApiError("exists", "deployment 'taken' exists: use apply", 409)
        form.post_message(RequestFailed("creating taken", error))
        await pilot.pause()
        assert "deployment 'taken' exists" in str(form.query_one("#form-error").render())
        assert "exists" in error_of(form, "name")
        assert app.focused.id == "name"
        assert form.query_one("#name", Input).value == "taken"
        assert not form.query_one("#submit").disabled


async def test_escape_leaves_at_once_when_nothing_was_typed_and_asks_otherwise(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_form(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
        form = await open_form(app, pilot)
        await pilot.press(*"/models/x", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is form
        assert form.query_one("#local_path", Input).value == "/models/x"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
