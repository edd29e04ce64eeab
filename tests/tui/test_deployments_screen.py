"""The deployments view fed with model objects: rows, glyphs, cursor, unreachable server."""

from __future__ import annotations

from gpustack_tui.client import ServerUnavailable
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.messages import Fetched
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.screens.scale import ScaleModal
from gpustack_tui.tui.screens.type_to_confirm import TypeToConfirmModal
from gpustack_tui.tui.widgets.keyed_table import KeyedTable
from gpustack_tui.tui.widgets.status_line import StatusLine
from tests.tui.conftest import SIZE, StubClient
from tests.tui.samples import instance, sample_deployments, spec


async def test_rows_are_flattened_with_state_glyphs_and_colours(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, DeploymentsScreen)
        screen.show_data(sample_deployments())
        await pilot.pause()
        table = screen.table
        assert table.row_keys == [
            "dep:chat", "inst:chat-a1b2", "inst:chat-c3d4",
            "dep:embed", "inst:embed-e5f6", "inst:embed-g7h8", "inst:embed-i9j0", "inst:embed-k1l2",
        ]  # fmt: skip
        states = {key: table.get_cell(key, "state") for key in table.row_keys}
        assert (states["inst:chat-a1b2"].plain, str(states["inst:chat-a1b2"].style)) == (
            "● running", "green",
        )  # fmt: skip
        assert str(states["inst:embed-e5f6"].style) == "red"
        assert states["inst:embed-e5f6"].plain == "✖ error"
        assert states["inst:embed-g7h8"].plain == "◐ starting"
        assert str(states["inst:embed-i9j0"].style) == "magenta"
        assert table.get_cell("dep:chat", "state").plain == "● running 2/2"
        assert table.get_cell("dep:embed", "state").plain == "✖ error 0/3"
        assert table.get_cell("inst:embed-e5f6", "restarts").plain == "3"
        assert "Deployments[2] Instances[6]" in str(screen.query_one("TitleBar").render())


async def test_refresh_updates_in_place_and_keeps_the_cursor_on_its_key(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        views = sample_deployments()
        screen.show_data(views)
        await pilot.pause()
        screen.table.select_key("inst:embed-g7h8")
        # Same rows, one instance now running: cells change, the rows stay.
        views[1].instances[1].state = InstanceState.RUNNING
        screen.show_data(views)
        await pilot.pause()
        assert screen.table.cursor_key == "inst:embed-g7h8"
        assert screen.table.get_cell("inst:embed-g7h8", "state").plain == "● running"
        # A new deployment sorts before: the cursor follows its row, not its index.
        new = DeploymentView(spec=spec("aaa"), instances=[instance("aaa-1", "aaa")])
        screen.show_data([new, *views])
        await pilot.pause()
        assert screen.table.cursor_key == "inst:embed-g7h8"
        # The instance goes: the cursor lands on its deployment.
        views[1].instances.pop(1)
        screen.show_data([new, *views])
        await pilot.pause()
        assert screen.table.cursor_key == "dep:embed"


async def test_unreachable_server_keeps_the_data_and_says_so(make_app):
    app = make_app(refresh_interval=2.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.pause(0.3)
        screen.show_data(sample_deployments())
        screen.last_update = 0.0
        screen._seq += 1
        error = ServerUnavailable("server_unavailable", "no server answers")
        screen.post_message(Fetched(screen._seq, error=error))
        await pilot.pause()
        status = screen.query_one(StatusLine)
        assert status.level == "error"
        assert "server unreachable" in status.message
        assert "retrying every 2 s" in status.message
        assert len(screen.table.row_keys) == 8
        assert screen._timer is not None  # it keeps trying


async def test_startup_status_is_shown(make_app):
    app = make_app(StubClient(), status="started a server in the background (log: /tmp/x.log)")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert "started a server" in app.screen.query_one(StatusLine).message


async def test_empty_view_says_what_to_press(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.show_data([])
        await pilot.pause()
        assert "press n to deploy" in str(screen.query_one("#detail").render())
        assert "press n" not in screen.query_one(StatusLine).message  # said once, not twice
        screen.show_data(sample_deployments())
        await pilot.pause()
        assert "press n to deploy" not in str(screen.query_one("#detail").render())


async def test_enter_opens_the_log_of_the_selected_instance(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.show_data(sample_deployments())
        await pilot.pause()
        app.screen.table.select_key("inst:embed-e5f6")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LogsScreen)
        assert app.screen.instance == "embed-e5f6"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
        # On a deployment row, `l` picks a running instance of it.
        app.screen.table.select_key("dep:chat")
        await pilot.press("l")
        await pilot.pause()
        assert app.screen.instance == "chat-a1b2"


async def test_delete_asks_first_with_cancel_focused(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.show_data(sample_deployments())
        await pilot.pause()
        app.screen.table.select_key("inst:chat-c3d4")
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.title_text == "Delete instance chat-c3d4?"
        assert app.focused.id == "cancel"
        await pilot.press("enter")  # Enter on Cancel does no harm
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
        app.screen.table.select_key("dep:chat")
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert app.screen.title_text == "Delete deployment chat?"
        assert isinstance(app.screen, TypeToConfirmModal)  # chat has running instances
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
        # Nothing of embed runs: a plain confirmation, Cancel focused, `n` answers no.
        app.screen.table.select_key("dep:embed")
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.focused.id == "cancel"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)


async def test_scale_opens_with_the_current_replicas(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.show_data(sample_deployments())
        await pilot.pause()
        app.screen.table.select_key("inst:embed-e5f6")
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ScaleModal)
        assert (app.screen.deployment, app.screen.current) == ("embed", 3)


async def test_q_quits(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_the_table_fits_the_terminal_instead_of_scrolling_sideways(make_app):
    app = make_app()
    async with app.run_test(size=(90, 24)) as pilot:
        table = app.screen.table
        app.screen.show_data(sample_deployments())
        await pilot.pause(0.2)
        assert table.virtual_size.width <= table.size.width
        assert table.columns["details"].width >= KeyedTable.MIN_FLEX
        narrow = table.columns["details"].width
        await pilot.resize_terminal(160, 24)
        await pilot.pause(0.2)
        assert table.columns["details"].width == narrow + 70
        assert table.virtual_size.width <= table.size.width
