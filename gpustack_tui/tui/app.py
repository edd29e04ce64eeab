"""The gpustack-tui application: deployments first, everything else pushed on top.

Quitting (`q`, ctrl+q) only ends this program: the server and every instance keep running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen, ScreenResultCallbackType

from gpustack_tui.client import Client
from gpustack_tui.config import Paths
from gpustack_tui.tui.commands import JumpProvider
from gpustack_tui.tui.executor import install_daemon_executor
from gpustack_tui.tui.keymap import load_settings
from gpustack_tui.tui.screen_registry import SCREENS, keymap_owners
from gpustack_tui.tui.screens.help import HelpScreen, bindings_of
from gpustack_tui.tui.widgets.title_bar import TitleBar

REFRESH_SECONDS = 2.0


class GpustackApp(App[None]):
    """The TUI. Reaches the server only through `client`, from thread workers."""

    TITLE = "gpustack-tui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True  # `:` or ctrl+p: jump to a view, deployment, worker
    COMMANDS = {JumpProvider}  # it lists Textual's system commands too, after the jumps
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="help"),
        Binding("colon,ctrl+p", "command_palette", "Jump", id="palette"),
        Binding("ctrl+q", "quit", "Quit", id="quit", show=False, priority=True),
    ]

    def __init__(
        self,
        client: Client,
        status: str = "",
        *,
        keymap: Mapping[str, str] | None = None,
        refresh_interval: float | None = REFRESH_SECONDS,
        theme: str | None = None,
        config_problems: Sequence[str] = (),
    ) -> None:
        """`status` is shown in the deployments' status line at start (e.g. that a server was
        started in the background); `keymap` maps binding ids to keys (`{"deployments.delete":
        "ctrl+x"}`); `refresh_interval` None stops periodic refresh (tests); `theme` is one of
        Textual's themes; `config_problems` are shown at start (see `keymap.load_settings`)."""
        super().__init__()
        self.client = client
        self.startup_status = status
        self.refresh_interval = refresh_interval
        if keymap:
            self.set_keymap(dict(keymap))
        # Kept for `?` (marks remapped keys) and the status line (says what was left out).
        self.user_keymap = dict(keymap or {})
        self.config_problems = list(config_problems)
        if theme:
            self.theme = theme

    def on_load(self) -> None:
        """Thread workers must never hold up quitting (see `executor`)."""
        install_daemon_executor()

    def get_default_screen(self) -> Screen:
        """The deployments view is the bottom of the stack."""
        return SCREENS["deployments"]()

    def open_screen(
        self,
        name: str,
        *args: Any,
        callback: ScreenResultCallbackType[Any] | None = None,
    ) -> Screen[Any]:
        """Build the screen registered as `name` (`screen_registry.SCREENS`) from `args`, push
        it (`callback` gets its result when it is dismissed) and return it."""
        screen = SCREENS[name](*args)
        self.push_screen(screen, callback)
        return screen

    def action_help(self) -> None:
        """Show every key of the current view."""
        if isinstance(self.screen, HelpScreen):
            return
        bars = self.screen.query(TitleBar)
        title = bars.first().view if bars else type(self.screen).__name__
        self.open_screen("help", title, bindings_of(self.screen))


def run_tui(paths: Paths, url: str, started_server: bool) -> None:
    """Run the TUI against the server at `url` of the installation at `paths`.

    `started_server` says the launcher just started that server in the background; the status
    line says so and where its log is.
    """
    status = (
        f"started a server in the background (log: {paths.server_log}); it keeps running "
        "after you quit"
        if started_server
        else ""
    )
    settings = load_settings(paths.keymap_file, paths.tui_settings_file, keymap_owners(GpustackApp))
    client = Client.for_paths(paths, url, timeout=15.0)
    try:
        GpustackApp(
            client,
            status,
            keymap=settings.keymap,
            theme=settings.theme,
            config_problems=settings.problems,
        ).run()
    finally:
        client.close()
