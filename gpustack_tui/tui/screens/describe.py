"""`d`: the whole deployment on one scrollable page, like `kubectl describe`.

The page itself (spec, instances, phases, failures) is `tui/describe_page.py`, which
`gpustack-tui describe` prints too. Read-only; `escape` goes back.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.describe_page import header_text, instance_blocks


class DescribeScreen(ModalScreen[None]):
    """The describe page of one deployment; arrows, page keys and j/k scroll, `escape` closes."""

    DEFAULT_CSS = """
    DescribeScreen {
        align: center middle;
    }
    DescribeScreen > VerticalScroll {
        width: 100%;
        max-width: 120;
        height: 100%;
        border: thick $accent;
        border-title-align: left;
        border-subtitle-align: right;
        background: $surface;
        padding: 0 1;
    }
    DescribeScreen #describe-body, DescribeScreen .instance {
        width: 100%;
    }
    DescribeScreen .instance {
        margin-bottom: 1;
    }
    """

    BINDINGS = [
        Binding("escape,q", "close", "Back", id="describe.back"),
        Binding("j", "scroll('down')", "Down", show=False, id="describe.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="describe.up"),
    ]

    def __init__(self, view: DeploymentView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        """A scrolling box holding the page."""
        box = VerticalScroll(id="describe")
        box.border_title = f"describe {self.view.name}"
        box.border_subtitle = "escape: back"
        now = time.time()
        with box:
            yield Static(header_text(self.view), id="describe-body", markup=False)
            for n, block in enumerate(instance_blocks(self.view, now)):
                yield Static(block, id=f"describe-instance-{n}", classes="instance", markup=False)

    def on_mount(self) -> None:
        """Focus the scroll box so arrows and page keys scroll it."""
        self.query_one("#describe", VerticalScroll).focus()

    def action_scroll(self, direction: str) -> None:
        """j/k scroll one line."""
        box = self.query_one("#describe", VerticalScroll)
        box.scroll_relative(y=1 if direction == "down" else -1, animate=False)

    def action_close(self) -> None:
        """Back to the table."""
        self.dismiss(None)
