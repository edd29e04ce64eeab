"""Confirmation, scale and help modals."""

from __future__ import annotations

import pytest

from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.help import HelpScreen
from gpustack_tui.tui.screens.scale import ScaleModal
from tests.tui.conftest import SIZE


@pytest.mark.parametrize(("keys", "answer"), [(["y"], True), (["n"], False),
                                              (["escape"], False), (["enter"], False),
                                              (["tab", "enter"], True)])  # fmt: skip
async def test_confirm_starts_on_cancel_and_answers_keys(make_app, keys, answer):
    app = make_app()
    answers: list[bool | None] = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ConfirmModal("Delete x?", "body [not markup]"), answers.append)
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press(*keys)
        await pilot.pause()
    assert answers == [answer]


async def test_scale_refuses_negative_and_text_then_accepts_a_number(make_app):
    app = make_app()
    answers: list[int | None] = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ScaleModal("chat", 2), answers.append)
        await pilot.pause()
        modal = app.screen
        assert modal.query_one("#replicas").value == "2"
        await pilot.press("-", "1", "enter")  # replaces the selected text
        await pilot.pause()
        assert isinstance(app.screen, ScaleModal)
        assert "0 to 64" in str(modal.query_one("#scale-error").render())
        modal.query_one("#replicas").value = "99"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ScaleModal)
        modal.query_one("#replicas").value = "3"
        await pilot.press("enter")
        await pilot.pause()
    assert answers == [3]


async def test_scale_escape_cancels(make_app):
    app = make_app()
    answers: list[int | None] = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ScaleModal("chat", 2), answers.append)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert answers == [None]


async def test_help_lists_every_binding_of_the_current_view_with_ids(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        entries = {e.binding_id: e for e in app.screen.entries if e.binding_id}
        for binding_id in ("deployments.new", "deployments.logs", "deployments.scale",
                           "deployments.delete", "deployments.workers", "deployments.refresh",
                           "quit", "help"):  # fmt: skip
            assert binding_id in entries
        assert entries["deployments.delete"].keys == "^d"
        assert entries["quit"].keys in ("q / ^q", "^q / q")
        # The view's own keys come first.
        assert app.screen.entries[0].binding_id.startswith("deployments.")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)


async def test_a_modal_keeps_its_keys_to_itself(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ConfirmModal("Delete x?"))
        await pilot.pause()
        await pilot.press("question_mark", "w", "q")  # the modal shows its keys itself
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.is_running


async def test_keys_can_be_remapped_by_id(make_app):
    app = make_app(keymap={"deployments.workers": "W"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
        await pilot.press("W")
        await pilot.pause()
        assert type(app.screen).__name__ == "WorkersScreen"
