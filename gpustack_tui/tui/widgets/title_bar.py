"""The top line of every view: the app, the server it talks to, and what is shown."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TitleBar(Static):
    """`gpustack-tui │ http://127.0.0.1:9190 │ Deployments[3]`."""

    DEFAULT_CSS = """
    TitleBar {
        height: 1;
        width: 1fr;
        padding: 0 1;
        background: $primary-background;
        color: $text;
        text-style: bold;
    }
    """

    def __init__(self, view: str, server: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.server = server
        self.set_view(view)

    def set_view(self, view: str) -> None:
        """Change the right-hand part (view name, counts, filters)."""
        self.view = view
        line = Text("gpustack-tui")
        if self.server:
            line.append(f" │ {self.server}", style="not bold")
        line.append(f" │ {view}")
        self.update(line)
