"""Describe, copy name, typing the name to delete, the stopped label, and the 80x24 layout."""

from __future__ import annotations

from itertools import pairwise

from textual.widgets import Button, Footer, Input, Static

from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.describe import DescribeScreen
from gpustack_tui.tui.screens.help import HelpScreen
from gpustack_tui.tui.screens.type_to_confirm import TypeToConfirmModal
from tests.tui.conftest import SIZE
from tests.tui.samples import sample_deployments, spec


async def test_d_describes_the_whole_deployment_and_escape_goes_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        views = sample_deployments()
        views[1].instances[0].state_message = "exited with code 1\x1b[2J: CUDA out of memory"
        app.screen.show_data(views)
        await pilot.pause()
        app.screen.table.select_key("inst:embed-g7h8")  # an instance row describes its deployment
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DescribeScreen)
        text = "\n".join(str(part.render()) for part in app.screen.query(Static))
        assert "Deployment embed" in text
        assert "name: embed" in text and "replicas: 3" in text  # the spec as YAML
        assert "local_path: /models/bge-m3" in text
        for name in ("embed-e5f6", "embed-g7h8", "embed-i9j0", "embed-k1l2"):
            assert name in text
        assert "no GPU with 12.0 GiB free" in text and "worker gpu-c does not answer" in text
        assert "restarts:" in text and "created:" in text and "port:" in text
        assert "\x1b" not in text  # escapes from a worker never reach the terminal
        box = app.screen.query_one("#describe")
        assert box.max_scroll_y > 0  # longer than the screen: it scrolls
        await pilot.press("pagedown")
        await pilot.pause()
        assert box.scroll_y > 0
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
        assert app.screen.table.cursor_key == "inst:embed-g7h8"


async def test_c_copies_the_name_with_a_notification(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.show_data(sample_deployments())
        await pilot.pause()
        app.screen.table.select_key("dep:embed")
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == "embed"
        assert any("copied embed" in str(n.message) for n in app._notifications)
        app.screen.table.select_key("inst:chat-c3d4")
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == "chat-c3d4"


async def test_deleting_a_running_deployment_needs_its_exact_name(make_app):
    app = make_app()
    answers: list[bool] = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(
            TypeToConfirmModal("Delete deployment chat?", "2 running", "chat"), answers.append
        )
        await pilot.pause()
        modal = app.screen
        delete = modal.query_one("#confirm", Button)
        assert app.focused is modal.query_one("#cancel", Button)
        assert delete.disabled
        await pilot.press("c", "h", "a")  # typing goes to the name field at once
        await pilot.pause()
        assert modal.query_one("#typed", Input).value == "cha"
        assert delete.disabled
        await pilot.press("enter")  # not the name yet: refused, the modal stays
        await pilot.pause()
        assert app.screen is modal and answers == []
        await pilot.press("t", "s")
        await pilot.pause()
        assert delete.disabled  # "chats" is not "chat"
        await pilot.press("backspace")
        await pilot.pause()
        assert not delete.disabled
        await pilot.press("tab", "tab", "enter")  # field -> Cancel -> Delete
        await pilot.pause()
    assert answers == [True]


async def test_type_to_confirm_cancels_with_escape_and_enter_on_cancel(make_app):
    app = make_app()
    answers: list[bool] = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(TypeToConfirmModal("Delete?", "", "chat"), answers.append)
        await pilot.pause()
        await pilot.press("enter")  # on Cancel
        await pilot.pause()
        app.push_screen(TypeToConfirmModal("Delete?", "", "chat"), answers.append)
        await pilot.pause()
        await pilot.press(*"chat", "escape")
        await pilot.pause()
    assert answers == [False, False]


async def test_a_stopped_deployment_shows_the_count_start_restores(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        stopped = DeploymentView(spec=spec("paused", 0), stopped_replicas=2)
        by_hand = DeploymentView(spec=spec("zero", 0))
        app.screen.show_data([stopped, by_hand])
        await pilot.pause()
        table = app.screen.table
        assert table.get_cell("dep:paused", "state").plain == "○ stopped (2)"
        assert table.get_cell("dep:zero", "state").plain == "○ stopped"
        table.select_key("dep:paused")
        await pilot.pause()
        assert "X starts its 2 replica(s) again" in str(app.screen.query_one("#detail").render())
        table.select_key("dep:zero")
        await pilot.pause()
        assert "scaled to 0" in str(app.screen.query_one("#detail").render())


async def test_80x24_key_hints_and_table_fit(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.show_data(sample_deployments())
        await pilot.pause(0.2)
        table = screen.table
        assert table.virtual_size.width <= table.size.width
        assert table.region.height >= 8  # title, table, detail, status and hints all fit
        footer = screen.query_one(Footer)
        for _ in range(40):  # the footer composes its keys once bindings settle
            keys = list(footer.query("FooterKey"))
            if keys:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        keys = list(footer.query("FooterKey"))
        assert keys, "no key hints"
        keys.sort(key=lambda k: k.region.x)
        assert keys[-1].region.right <= 80 - 7, "room for one more hint (e Edit)"
        assert all(a.region.right <= b.region.x for a, b in pairwise(keys))
        assert all(k.region.width > 0 and k.region.y == footer.region.y for k in keys)
        shown = {k.key for k in keys}
        assert {"slash", "colon", "question_mark", "ctrl+d", "d"} <= shown
        await pilot.press("slash")
        await pilot.pause()
        assert screen.query_one("#filter").region.height == 1
        assert table.virtual_size.width <= table.size.width
        await pilot.press("escape", "escape")
        await pilot.pause()
        for key, modal in (("question_mark", HelpScreen), ("d", DescribeScreen)):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, modal)
            box = app.screen.query_one("Vertical, VerticalScroll")
            assert box.region.right <= 80 and box.region.bottom <= 24
            await pilot.press("escape")
            await pilot.pause()
