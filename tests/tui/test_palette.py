"""`:` opens the command palette: jump to a view, a deployment, a worker or an instance's log."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import Footer

from gpustack_tui.tui.screens.api_keys import ApiKeysScreen
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.screens.workers import WorkersScreen
from tests.tui.conftest import SIZE, StubClient
from tests.tui.samples import sample_deployments, sample_workers


async def jump(pilot, query: str, expect: type) -> None:
    """Open the palette, type `query`, take the best hit, wait for `expect` on top."""
    app = pilot.app
    await pilot.press("colon")
    for _ in range(40):
        await pilot.pause(0.05)
        if isinstance(app.screen, CommandPalette):
            break
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*query)
    palette = app.screen
    for _ in range(60):  # hits arrive asynchronously
        await pilot.pause(0.05)
        options = palette.query_one("CommandList")
        if options.option_count and query in str(options.get_option_at_index(0).prompt):
            break
    await pilot.press("enter")
    for _ in range(40):
        await pilot.pause(0.05)
        if isinstance(app.screen, expect):
            return
    raise AssertionError(f"{expect.__name__} not shown, but {app.screen!r}")


async def test_colon_jumps_to_a_deployment_even_when_the_filter_hides_it(make_app):
    client = StubClient(sample_deployments(), sample_workers())
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.show_data(sample_deployments())
        await pilot.pause()
        await pilot.press("slash", *"chat", "enter")
        await pilot.pause()
        await jump(pilot, "deployment embed", DeploymentsScreen)
        assert screen.table.cursor_key == "dep:embed"
        assert screen.query_state.text == ""


async def test_colon_jumps_to_a_worker_and_to_an_instance_log(make_app):
    client = StubClient(sample_deployments(), sample_workers())
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.show_data(sample_deployments())
        await pilot.pause()
        await jump(pilot, "worker gpu-c", WorkersScreen)
        workers = app.screen
        for _ in range(40):
            await pilot.pause(0.05)
            if workers.table.cursor_key == "worker:gpu-c":
                break
        assert workers.table.cursor_key == "worker:gpu-c"
        # From the workers view straight to a log: the workers view is closed on the way.
        await jump(pilot, "logs embed-e5f6", LogsScreen)
        assert app.screen.instance == "embed-e5f6"
        assert [type(s) for s in app.screen_stack] == [DeploymentsScreen, LogsScreen]


async def test_colon_opens_views_by_name(make_app):
    app = make_app(StubClient(sample_deployments(), sample_workers()))
    async with app.run_test(size=SIZE) as pilot:
        await jump(pilot, "api keys", ApiKeysScreen)
        await jump(pilot, "deployments", DeploymentsScreen)
        assert len(app.screen_stack) == 1


async def test_every_view_names_the_palette_key_once(make_app):
    """`:` Jump is one footer hint, not twice (Textual's own palette key is not shown too)."""
    app = make_app(StubClient(sample_deployments(), sample_workers()))
    async with app.run_test(size=(120, 36)) as pilot:
        views = (("workers", WorkersScreen), ("api keys", ApiKeysScreen))
        for view, screen in (("deployments", DeploymentsScreen), *views):
            await jump(pilot, view, screen)
            await pilot.pause()
            footer = app.screen.query_one(Footer)
            hints = [key.description for key in footer.query("FooterKey")]
            assert hints.count("Jump") == 1, hints
