"""Turning a log stream's chunks into safe, whole lines, and handing them over in batches.

The stream thread feeds chunks; the UI takes everything pending about ten times a second, so
a burst of thousands of lines costs one repaint instead of thousands.
"""

from __future__ import annotations

import threading

from gpustack_tui.domain.text import sanitize_terminal_text

MAX_LINE = 4000
"""Longer lines are cut (a minified blob must not cost a megabyte-wide virtual canvas)."""
MAX_PARTIAL = 64 * 1024
"""A line without a newline this long is shown anyway."""


class LineAssembler:
    """Splits chunks into complete lines and sanitizes each one (escapes never span lines)."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, chunk: str) -> list[str]:
        """The complete lines that `chunk` finishes; the rest waits for the next chunk."""
        text = self._partial + chunk
        *complete, self._partial = text.split("\n")
        if len(self._partial) > MAX_PARTIAL:
            complete.append(self._partial)
            self._partial = ""
        return [_clean(line) for line in complete]

    def flush(self) -> list[str]:
        """Whatever is left when the stream ends."""
        rest, self._partial = self._partial, ""
        return [_clean(rest)] if rest else []


def _clean(line: str) -> str:
    line = sanitize_terminal_text(line)
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


class PendingLines:
    """Lines written by one thread and taken in one batch by another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []

    def put(self, lines: list[str]) -> None:
        """Queue lines (any thread)."""
        if lines:
            with self._lock:
                self._lines.extend(lines)

    def take(self) -> list[str]:
        """Everything queued so far, oldest first (any thread)."""
        with self._lock:
            lines, self._lines = self._lines, []
        return lines
