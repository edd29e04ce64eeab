"""The top line of every view: the app, the server it talks to, and what is shown."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TitleBar(Static):
    """`gpustack-tui │ http://127.0.0.1:9190 │ Deployments[3]`.

    An app with a `title_badge` (the demo's `DEMO`) shows it first, in reverse, on every view."""

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
        line = Text()
        badge = self._badge()
        if badge:
            line.append(f" {badge} ", style="bold reverse")
            line.append(" ")
        line.append("gpustack-tui")
        if self.server:
            line.append(f" │ {self.server}", style="not bold")
        line.append(f" │ {view}")
        self.update(line)

    def _badge(self) -> str:
        try:
            return str(getattr(self.app, "title_badge", "") or "")
        except RuntimeError:  # no app yet (NoActiveAppError is a RuntimeError)
            return ""
