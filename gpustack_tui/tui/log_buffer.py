"""Turning a log stream's chunks into safe, whole lines, handing them over in batches, and
keeping a bounded number of them.

The stream thread feeds chunks; the UI takes everything pending about ten times a second, so
a burst of thousands of lines costs one repaint instead of thousands. Colour (SGR) sequences
survive cleaning so the view can render them as styles; every other escape and control
character is removed by the shared sanitizer.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right

from gpustack_tui.domain.text import sanitize_terminal_text

MAX_LINE = 4000
"""Longer lines are cut (a minified blob must not cost a megabyte-wide virtual canvas)."""
MAX_PARTIAL = 64 * 1024
"""A line without a newline this long is shown anyway."""

SGR = re.compile(r"\x1b\[[0-9;:]*m")
"""Select Graphic Rendition: colours and text attributes, the only escapes kept."""


UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Any character the sanitizer would touch (every escape starts with ESC or a C1 byte)."""


def clean_line(line: str) -> str:
    """`line` with colour sequences kept, every other escape and control character removed,
    tabs expanded and the length capped at MAX_LINE visible characters."""
    # Most lines hold nothing the sanitizer would touch, or colours only: skip the splitting.
    if UNSAFE.search(line) is not None and UNSAFE.search(SGR.sub("", line)) is not None:
        line = _sanitize_keeping_colours(line)
    if "\t" in line:
        line = line.expandtabs()
    if len(line) > MAX_LINE:
        plain = plain_text(line)
        if len(plain) > MAX_LINE:
            line = plain[: MAX_LINE - 1] + "…"
    return line


def _sanitize_keeping_colours(line: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in SGR.finditer(line):
        pieces.append(sanitize_terminal_text(line[position : match.start()]))
        pieces.append(match.group())
        position = match.end()
    pieces.append(sanitize_terminal_text(line[position:]))
    return "".join(pieces)


def plain_text(line: str) -> str:
    """A cleaned line without its colour sequences (what the operator reads)."""
    return SGR.sub("", line) if "\x1b" in line else line


class LineAssembler:
    """Splits chunks into complete lines and cleans each one (escapes never span lines)."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, chunk: str) -> list[str]:
        """The complete lines that `chunk` finishes; the rest waits for the next chunk."""
        text = self._partial + chunk
        *complete, self._partial = text.split("\n")
        if len(self._partial) > MAX_PARTIAL:
            complete.append(self._partial)
            self._partial = ""
        return [clean_line(line) for line in complete]

    def flush(self) -> list[str]:
        """Whatever is left when the stream ends."""
        rest, self._partial = self._partial, ""
        return [clean_line(rest)] if rest else []


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


class LineStore:
    """The newest `max_lines` cleaned lines, numbered from the first line ever added, with the
    time each batch arrived. Numbers stay valid when old lines are dropped, so search results
    and positions need no renumbering."""

    def __init__(self, max_lines: int) -> None:
        self.max_lines = max_lines
        self.first = 0
        """The number of the oldest line kept."""
        self._lines: list[str] = []
        self._stamp_lines: list[int] = []
        self._stamp_times: list[float] = []

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def end(self) -> int:
        """The number the next line will get."""
        return self.first + len(self._lines)

    def extend(self, lines: list[str], arrived: float) -> int:
        """Add lines that arrived at `arrived` (epoch seconds); return how many old lines were
        dropped to stay within the bound."""
        if not lines:
            return 0
        self._stamp_lines.append(self.end)
        self._stamp_times.append(arrived)
        self._lines.extend(lines)
        dropped = len(self._lines) - self.max_lines
        if dropped <= 0:
            return 0
        del self._lines[:dropped]
        self.first += dropped
        keep = max(0, bisect_right(self._stamp_lines, self.first) - 1)
        if keep:
            del self._stamp_lines[:keep]
            del self._stamp_times[:keep]
        return dropped

    def clear(self) -> None:
        """Forget every line (numbering goes on)."""
        self.first = self.end
        self._lines.clear()
        self._stamp_lines.clear()
        self._stamp_times.clear()

    def line(self, number: int) -> str:
        """Line `number` as stored (colour sequences included)."""
        return self._lines[number - self.first]

    def between(self, start: int, stop: int) -> list[str]:
        """Lines `start` to `stop` (exclusive) as stored."""
        return self._lines[start - self.first : stop - self.first]

    def plain(self, number: int) -> str:
        """Line `number` as read."""
        return plain_text(self._lines[number - self.first])

    def arrived(self, number: int) -> float:
        """When line `number` arrived."""
        return self._stamp_times[bisect_right(self._stamp_lines, number) - 1]

    def numbers_matching(self, needle: str, fold: bool, start: int | None = None) -> list[int]:
        """Numbers of the lines from `start` on whose text contains `needle` (case-folded
        when `fold`, with `needle` already lower case)."""
        begin = self.first if start is None else max(start, self.first)
        lines = self._lines[begin - self.first :]
        found: list[int] = []
        append = found.append
        for offset, line in enumerate(lines):
            if "\x1b" in line:
                line = SGR.sub("", line)
            if fold:
                line = line.lower()
            if needle in line:
                append(begin + offset)
        return found
