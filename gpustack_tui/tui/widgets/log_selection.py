"""Mouse selection in the log view: which part of a row is selected, and the selected text.

Rows carry offsets `(x, row)` (x counted from the start of the line, or of the wrapped row),
so Textual's Selection speaks in rows of the view. Only the selected rows are turned into text,
so selecting in a huge log costs what the selection spans.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.selection import Selection
from textual.strip import Strip

MAX_SELECTED_ROWS = 100_000
"""A selection longer than this is cut (copy what you need, or save the log with `s`)."""


def highlight(strip: Strip, selection: Selection, row: int, x0: int, style: Style) -> Strip:
    """`strip` (row `row`, its first cell at x `x0`) with the selected cells in `style`."""
    span = selection.get_span(row)
    if span is None:
        return strip
    start, end = span
    length = strip.cell_length
    start = max(0, start - x0)
    end = length if end == -1 else max(0, min(length, end - x0))
    if start >= end:
        return strip
    cuts = strip.divide([start, end, length])
    before, chosen, after = ([*cuts] + [Strip([])] * 3)[:3]
    marked = Strip(Segment.apply_style(chosen, post_style=style), chosen.cell_length)
    return Strip.join([before, marked, after])


def selected_text(selection: Selection, row_count: int, row_text: Callable[[int], str]) -> str:
    """The text `selection` covers, one line per row (`row_text(row)` gives a row's text)."""
    if not row_count:
        return ""
    first = selection.start.y if selection.start is not None else 0
    last = selection.end.y if selection.end is not None else row_count - 1
    last = min(last, row_count - 1, first + MAX_SELECTED_ROWS - 1)
    pieces: list[str] = []
    for row in range(max(0, first), last + 1):
        span = selection.get_span(row)
        if span is None:
            continue
        text = row_text(row)
        start, end = span
        pieces.append(text[start:] if end == -1 else text[start:end])
    return "\n".join(pieces)
