"""The one-line status area every view has: what just happened, or what went wrong."""

from __future__ import annotations

import time
from typing import Literal

from rich.text import Text
from textual.widgets import Static

Level = Literal["info", "success", "warning", "error"]

_STYLES: dict[str, str] = {
    "info": "",
    "success": "green",
    "warning": "yellow",
    "error": "bold red",
}


class StatusLine(Static):
    """Shows the latest message with its time; errors in red, and they say what to do."""

    DEFAULT_CSS = """
    StatusLine {
        height: auto;
        max-height: 3;
        width: 1fr;
        padding: 0 1;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.level: Level = "info"
        self.message = ""
        if text:
            self.show(text)

    def show(self, text: str, level: Level = "info") -> None:
        """Replace the message (never markup: server text could contain brackets)."""
        self.level = level
        self.message = text
        line = Text(time.strftime("%H:%M:%S "), style="dim")
        line.append(text, style=_STYLES[level])
        self.update(line)

    def error(self, text: str) -> None:
        """Show an error in red."""
        self.show(text, "error")

    def clear(self) -> None:
        """Remove the message."""
        self.level = "info"
        self.message = ""
        self.update("")
