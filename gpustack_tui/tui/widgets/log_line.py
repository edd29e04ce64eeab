"""Turning one stored log line into a styled Text: colours, search highlights, arrival time.

Pure (no widget state), so the view builds a line only when it is painted and caches the
result.
"""

from __future__ import annotations

from datetime import datetime

from rich.ansi import AnsiDecoder
from rich.style import Style
from rich.text import Text


def stamp(arrived: float) -> str:
    """`HH:MM:SS.mmm ` in local time."""
    return datetime.fromtimestamp(arrived).strftime("%H:%M:%S.%f")[:12] + " "


def styled_line(
    raw: str,
    needle: str = "",
    fold: bool = True,
    match_style: Style | None = None,
    arrived: str = "",
    time_style: Style | None = None,
) -> Text:
    """`raw` (a cleaned line: only colour sequences left) as Text with every occurrence of
    `needle` in `match_style` (case-folded when `fold`; `needle` then lower case) and the
    `arrived` prefix in `time_style`."""
    # Only colour sequences remain in stored lines; Rich turns them into styles.
    text = AnsiDecoder().decode_line(raw) if "\x1b" in raw else Text(raw)
    text.no_wrap = True
    text.end = ""
    if needle and match_style is not None:
        haystack = text.plain.lower() if fold else text.plain
        size = len(needle)
        at = haystack.find(needle)
        while at >= 0:
            text.stylize(match_style, at, at + size)
            at = haystack.find(needle, at + size)
    if arrived:
        text = Text.assemble((arrived, time_style or ""), text, no_wrap=True, end="")
    return text
