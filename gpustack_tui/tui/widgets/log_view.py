"""A log widget that renders only the rows on screen (Textual's line API, as Toolong does).

Lines live in a bounded `LineStore`; a row is turned into a `Strip` only when it is painted,
and the newest thousand strips are cached. Wrapping, arrival times, search highlights and
filtering to the matching lines are all computed per visible row, so a million-line log costs
what one screenful costs once it is stored.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from itertools import accumulate

from rich.cells import cell_len
from rich.style import Style
from textual.cache import LRUCache
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from gpustack_tui.tui.log_buffer import LineStore, plain_text
from gpustack_tui.tui.widgets.log_line import stamp, styled_line
from gpustack_tui.tui.widgets.log_selection import highlight, selected_text

TIME_WIDTH = 13
"""`HH:MM:SS.mmm ` before each line when arrival times are shown."""


def _width(plain: str) -> int:
    return len(plain) if plain.isascii() else cell_len(plain)


class LogView(ScrollView, can_focus=True):
    """The newest `max_lines` lines of a log: follow, wrap, arrival times, search, filter."""

    COMPONENT_CLASSES = {"log-view--match", "log-view--current-match", "log-view--time"}

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        background: $surface;
        color: $text;
        overflow-y: scroll;
        overflow-x: auto;
        &:focus {
            background-tint: $foreground 5%;
        }
        & > .log-view--match {
            text-style: reverse;
        }
        & > .log-view--current-match {
            background: $accent;
            color: $background;
            text-style: bold;
        }
        & > .log-view--time {
            color: $secondary;
        }
    }
    """

    def __init__(self, max_lines: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = LineStore(max_lines)
        self.wrap_lines = False
        self.show_times = False
        self.search_text = ""
        self.matches: list[int] = []
        """Numbers of the lines that contain the search text, oldest first."""
        self.current = -1
        """Index in `matches` of the match that n/N reached (-1: none yet)."""
        self.filtering = False
        self.lines_built = 0
        """How many lines were turned into strips (only what is painted: tests check it)."""
        self._needle = ""
        self._fold = True
        self._max_width = 0
        self._row_starts: list[int] = [0]
        self._wrap_width = 0
        self._cache: LRUCache[int, Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}

    # -- what is shown ----------------------------------------------------------------------

    @property
    def shown_count(self) -> int:
        """How many lines are shown (all kept ones, or the matching ones when filtering)."""
        return len(self.matches) if self.filtering else len(self.store)

    def _shown_line(self, index: int) -> int:
        return self.matches[index] if self.filtering else self.store.first + index

    def _shown_index(self, number: int) -> int:
        if self.filtering:
            return bisect_left(self.matches, number)
        return max(0, number - self.store.first)

    @property
    def _prefix(self) -> int:
        return TIME_WIDTH if self.show_times else 0

    @property
    def row_count(self) -> int:
        """Rows of the virtual canvas."""
        return self._row_starts[-1] if self.wrap_lines else self.shown_count

    def row_of_line(self, number: int) -> int:
        """The first row of line `number` (or of the next shown line after it)."""
        index = min(self._shown_index(number), self.shown_count)
        return self._row_starts[index] if self.wrap_lines else index

    def line_at_row(self, row: int) -> int | None:
        """The number of the line painted on `row`, None when nothing is shown."""
        if not self.shown_count:
            return None
        index = bisect_right(self._row_starts, row) - 1 if self.wrap_lines else row
        return self._shown_line(max(0, min(index, self.shown_count - 1)))

    def _rows_of(self, numbers: range | list[int]) -> list[int]:
        width, room = max(1, self._wrap_width), max(1, self._wrap_width) - self._prefix
        prefix = self._prefix
        if isinstance(numbers, range):
            lines = self.store.between(numbers.start, numbers.stop)
        else:
            lines = [self.store.line(n) for n in numbers]
        # A plain ASCII line no longer than the room left is one row: most lines, cheaply.
        return [
            1
            if len(line) <= room and line.isascii() and "\x1b" not in line
            else max(1, -(-(prefix + _width(plain_text(line))) // width))
            for line in lines
        ]

    def _all_row_starts(self) -> list[int]:
        return list(accumulate(self._rows_of(self._shown_numbers()), initial=0))

    def _shown_numbers(self) -> range | list[int]:
        return self.matches if self.filtering else range(self.store.first, self.store.end)

    def _top(self) -> int | None:
        return self.line_at_row(round(self.scroll_y))

    def _rebuild(self, top: int | None = None) -> None:
        """Recompute the rows (after wrap, filter, width or time changes) and put line `top`
        (taken before the change) back at the top of the view."""
        self._wrap_width = max(1, self.scrollable_content_region.width)
        if self.wrap_lines:
            self._row_starts = self._all_row_starts()
        self._cache.clear()
        if self.is_mounted and self.text_selection is not None:
            self.screen.clear_selection()  # its rows no longer mean the same lines
        self._update_virtual_size()
        if top is not None:
            self.scroll_to(y=self.row_of_line(top), animate=False, immediate=True)
        self.refresh()

    def _update_virtual_size(self) -> None:
        if self.wrap_lines:
            self.virtual_size = Size(self._wrap_width, self.row_count)
        else:
            self.virtual_size = Size(self._max_width + self._prefix, self.row_count)

    def on_resize(self, event: Resize) -> None:
        """Wrapped rows depend on the width."""
        if self.wrap_lines and self.scrollable_content_region.width != self._wrap_width:
            self._rebuild(self._top())

    # Jumps are immediate: an animated jump across a long log paints every frame on the way.

    def action_scroll_home(self) -> None:
        """To the first line, at once."""
        self.scroll_home(animate=False, immediate=True)

    def action_scroll_end(self) -> None:
        """To the last line, at once."""
        self.scroll_end(animate=False, immediate=True)

    def action_page_down(self) -> None:
        """One screenful down, at once."""
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        """One screenful up, at once."""
        self.scroll_page_up(animate=False)

    # -- adding lines -----------------------------------------------------------------------

    def append(self, lines: list[str], follow: bool, arrived: float | None = None) -> None:
        """Add cleaned lines; scroll to the end when `follow`, else keep the view where it is
        (also when the oldest lines are dropped to stay within the bound)."""
        if not lines:
            return
        top = None if follow else self._top()
        store = self.store
        start = store.end
        dropped = store.extend(lines, time.time() if arrived is None else arrived)
        widest = self._max_width
        for line in lines:
            # A line's width is at most its length unless it has wide characters.
            if len(line) > widest or not line.isascii():
                widest = max(widest, _width(plain_text(line)))
        self._max_width = widest
        added: range | list[int] = range(max(start, store.first), store.end)
        if self._needle:
            new = store.numbers_matching(self._needle, self._fold, start)
            if dropped:
                gone = bisect_left(self.matches, store.first)
                del self.matches[:gone]
                self.current = max(-1, self.current - gone) if self.current >= gone else -1
            self.matches.extend(new)
            if self.filtering:
                added = new
        if self.wrap_lines:
            if dropped:
                self._row_starts = self._all_row_starts()
            else:
                more = accumulate(self._rows_of(added), initial=self._row_starts[-1])
                self._row_starts.extend(list(more)[1:])
        self._update_virtual_size()
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif top is not None and dropped:
            self.scroll_to(y=self.row_of_line(top), animate=False, immediate=True)
        self.refresh()

    def clear(self) -> None:
        """Forget every line (the search stays and applies to what comes next)."""
        self.store.clear()
        self.matches = []
        self.current = -1
        self._max_width = 0
        self._row_starts = [0]
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._rebuild()

    def on_mount(self) -> None:
        """Start with an empty canvas."""
        self._row_starts = [0]
        self._rebuild()

    # -- toggles and search -----------------------------------------------------------------

    def set_wrap(self, on: bool) -> None:
        """Wrap long lines at the view's width (no horizontal scrolling) or not."""
        top = self._top()
        self.wrap_lines = on
        self.styles.overflow_x = "hidden" if on else "auto"
        self.scroll_to(x=0, animate=False, immediate=True)
        self._rebuild(top)

    def set_times(self, on: bool) -> None:
        """Show the time each line arrived before it, or not."""
        top = self._top()
        self.show_times = on
        self._rebuild(top)

    def set_search(self, text: str) -> None:
        """Highlight every line containing `text` (case-insensitive unless it has capitals);
        an empty text ends the search and the filter."""
        top = self._top()
        self.search_text = text
        self._fold = text == text.lower()
        self._needle = text
        self.matches = self.store.numbers_matching(text, self._fold) if text else []
        self.current = -1
        if not text:
            self.filtering = False
        self._rebuild(top)

    def set_filter(self, on: bool) -> None:
        """Show only the matching lines (needs a search) or every line."""
        top = self._top()
        self.filtering = on and bool(self._needle)
        self._rebuild(top)
        if self.current >= 0:
            self._reveal(self.matches[self.current])

    def goto_match(self, step: int) -> int | None:
        """Move to the next (`step` 1) or previous (-1) match after or before the top of the
        view at first, then from the last one reached; the line number, None if no match."""
        if not self.matches:
            return None
        if self.current < 0:
            top = self.line_at_row(round(self.scroll_y)) or 0
            at = bisect_left(self.matches, top)
            self.current = (at if step > 0 else at - 1) % len(self.matches)
        else:
            self.current = (self.current + step) % len(self.matches)
        self._cache.clear()
        number = self.matches[self.current]
        self._reveal(number)
        self.refresh()
        return number

    def _reveal(self, number: int) -> None:
        row = self.row_of_line(number)
        if not self.scroll_y <= row < self.scroll_y + self.scrollable_content_region.height:
            middle = max(0, row - self.scrollable_content_region.height // 2)
            self.scroll_to(y=middle, animate=False, immediate=True)

    @property
    def counter(self) -> str:
        """`3/17`: the match reached and how many lines match (`-/17` before n/N)."""
        reached = str(self.current + 1) if self.current >= 0 else "-"
        return f"{reached}/{len(self.matches)}"

    @property
    def lines(self) -> list[str]:
        """Every kept line as read (a copy: for checks, not for painting)."""
        return [self.store.plain(n) for n in range(self.store.first, self.store.end)]

    def visible_text(self) -> str:
        """The lines on screen now, as read (no colour sequences), one per line."""
        numbers: list[int] = []
        first = round(self.scroll_y)
        for row in range(first, min(self.row_count, first + self.scrollable_content_region.height)):
            number = self.line_at_row(row)
            if number is not None and (not numbers or numbers[-1] != number):
                numbers.append(number)
        return "\n".join(self.store.plain(n) for n in numbers)

    # -- painting ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        """Styles changed (theme, focus): paint every line anew."""
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()

    def _style(self, name: str = "") -> Style:
        # Looking styles up walks the DOM; once per style change is enough.
        style = self._styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True) if name else self.rich_style
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        """Row `y` of the view: only rows on screen are ever built."""
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        style = self._style()
        if row >= self.row_count or not self.shown_count:
            return Strip.blank(width, style)
        if not self.wrap_lines:
            strip = self._strip(self._shown_line(row))
            strip, x0 = strip.crop_extend(scroll_x, scroll_x + width, style), scroll_x
        else:
            index = bisect_right(self._row_starts, row) - 1
            start = (row - self._row_starts[index]) * self._wrap_width
            strip = self._strip(self._shown_line(index))
            strip = strip.crop_extend(start, start + self._wrap_width, style)
            strip, x0 = strip.extend_cell_length(width, style), 0
        selection = self.text_selection
        if selection is not None:
            # The background only: the text keeps its colours and stays readable.
            chosen = self.screen.get_component_rich_style("screen--selection").bgcolor
            strip = highlight(strip, selection, row, x0, Style(bgcolor=chosen))
        return strip.apply_offsets(x0, row)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The text under a mouse selection (rows as shown: arrival times included)."""
        return selected_text(selection, self.row_count, self._row_text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        """Paint the selection."""
        self.refresh()

    def _row_text(self, row: int) -> str:
        number = self.line_at_row(row)
        if number is None:
            return ""
        text = self.store.plain(number)
        if self.show_times:
            text = stamp(self.store.arrived(number)) + text
        if not self.wrap_lines:
            return text
        start = (row - self._row_starts[self._shown_index(number)]) * self._wrap_width
        return text[start : start + self._wrap_width]

    def _strip(self, number: int) -> Strip:
        cached = self._cache.get(number)
        if cached is not None:
            return cached
        self.lines_built += 1
        current = self.current >= 0 and self.matches[self.current] == number
        text = styled_line(
            self.store.line(number),
            self._needle,
            self._fold,
            self._style("log-view--current-match" if current else "log-view--match"),
            stamp(self.store.arrived(number)) if self.show_times else "",
            self._style("log-view--time"),
        )
        text.stylize_before(self._style())
        strip = Strip(text.render(self.app.console), text.cell_len)
        self._cache[number] = strip
        return strip
