"""The log widget through the log screen's keys: wrap, arrival times, search with highlights
and a counter, filter, hostile lines rendered harmless, and a million lines that cost what a
screenful costs."""

from __future__ import annotations

import time
from datetime import datetime

from rich.color import Color
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import Input, Static

from gpustack_tui.tui.log_buffer import LineAssembler
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.widgets.log_view import TIME_WIDTH, LogView
from tests.tui.conftest import SIZE


async def open_with(app, pilot, lines: list[str]) -> tuple[LogsScreen, LogView]:
    screen = LogsScreen("chat-a1b2", "chat")
    app.push_screen(screen)
    await pilot.pause()
    screen.workers.cancel_group(screen, "logs")  # no server: no "reconnecting" lines
    screen.pending.put(lines)
    await pilot.pause(0.3)
    return screen, screen.query_one("#log", LogView)


def rows(view: LogView) -> list[str]:
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


def styled(strip: Strip, text: str) -> Style:
    """The style of the first segment of `strip` that holds `text`."""
    style = next(seg.style for seg in strip if text in seg.text and seg.style is not None)
    return style.clear_meta_and_links()  # the mouse offsets differ from row to row


def indicator_text(screen: LogsScreen) -> str:
    return str(screen.query_one("#indicator", Static).render())


async def test_wrap_folds_long_lines_at_the_width_and_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        long = "".join(f"{n:03d}-" for n in range(100))  # 400 characters
        screen, view = await open_with(app, pilot, ["short", long, "tail"])
        width = view.scrollable_content_region.width
        assert view.row_count == 3 and view.virtual_size.width == 400
        await pilot.press("g")
        assert rows(view)[1] == long[:width]
        await pilot.press("w")
        await pilot.pause()
        assert "Wrap:On" in indicator_text(screen)
        folded = -(-400 // width)
        assert view.row_count == 2 + folded
        shown = rows(view)
        assert shown[0].rstrip() == "short"
        assert "".join(shown[1 : 1 + folded]).rstrip() == long
        assert shown[1 + folded].rstrip() == "tail"
        await pilot.press("w")
        await pilot.pause()
        assert view.row_count == 3 and "Wrap:Off" in indicator_text(screen)


async def test_timestamps_show_when_each_line_arrived(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen, view = await open_with(app, pilot, [])
        arrived = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1)) + 0.25
        view.append(["first", "second"], follow=True, arrived=arrived)
        view.append(["third"], follow=True, arrived=arrived + 60)
        await pilot.press("g", "t")
        await pilot.pause()
        assert "Time:arrival" in indicator_text(screen)  # says which time it is
        shown = rows(view)
        assert shown[0].startswith("05:06:07.250 first")
        assert shown[2].startswith("05:07:07.250 third")
        assert datetime.fromtimestamp(arrived).strftime("%H:%M:%S") == "05:06:07"
        assert view.virtual_size.width == TIME_WIDTH + len("second")
        await pilot.press("t")
        await pilot.pause()
        assert rows(view)[0].startswith("first") and "Time:Off" in indicator_text(screen)


async def test_search_highlights_every_match_and_n_and_shift_n_count(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        lines = [f"line {n} ERROR disk" if n % 10 == 3 else f"line {n} ok" for n in range(200)]
        screen, view = await open_with(app, pilot, lines)
        await pilot.press("g", "slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"error", "enter")
        await pilot.pause()
        assert len(view.matches) == 20
        assert view.counter == "1/20" and "/error 1/20" in indicator_text(screen)
        assert view.line_at_row(0) is not None
        strip = view.render_line(view.row_of_line(3) - round(view.scroll_y))
        current = styled(strip, "ERROR")
        await pilot.press("n", "n")
        assert view.counter == "3/20"
        assert view.matches[view.current] == 23
        await pilot.press("N")
        assert view.counter == "2/20"
        await pilot.press("N", "N")
        assert view.counter == "20/20"  # wraps around
        assert view.matches[view.current] == 193
        assert round(view.scroll_y) <= view.row_of_line(193) < view.scroll_y + view.size.height
        # Every match is highlighted; the one reached stands out.
        top = round(view.scroll_y)
        strip_193 = view.render_line(view.row_of_line(193) - top)
        strip_183 = view.render_line(view.row_of_line(183) - top)
        assert styled(strip_193, "ERROR") == current
        other = styled(strip_183, "ERROR")
        assert other != current and other.reverse
        assert not styled(strip_183, "ok" if "ok" in strip_183.text else "disk").reverse
        # Capitals make the search case-sensitive.
        await pilot.press("slash", *"line 1", "enter")
        await pilot.pause()
        assert len(view.matches) == 111  # line 1, 10-19, 100-199
        await pilot.press("escape")
        await pilot.pause()
        assert view.search_text == "" and view.matches == []
        assert isinstance(app.screen, LogsScreen)  # esc cleared the search, did not leave
        # Escape in the search field closes it too; the log has the keys again.
        await pilot.press("slash", *"ok")
        await pilot.pause(0.3)  # typing searches as you go
        assert len(view.matches) == 180
        await pilot.press("escape")
        await pilot.pause()
        field = screen.query_one("#search", Input)
        assert not field.display and view.search_text == "" and app.focused is view


async def test_filter_shows_only_the_matching_lines_and_follows_new_ones(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        lines = [f"GET /health {n}" if n % 2 else f"POST /v1/chat {n}" for n in range(100)]
        screen, view = await open_with(app, pilot, lines)
        await pilot.press("ampersand")
        assert "search first" in screen.status.message and not view.filtering
        await pilot.press("slash", *"chat", "enter", "ampersand")
        await pilot.pause()
        assert view.filtering and "filtered" in indicator_text(screen)
        assert view.row_count == 50
        await pilot.press("g")
        assert [row.rstrip() for row in rows(view)[:3]] == [
            "POST /v1/chat 0", "POST /v1/chat 2", "POST /v1/chat 4",
        ]  # fmt: skip
        view.append(["GET /health 100", "POST /v1/chat 101"], follow=False)
        assert view.row_count == 51 and view.counter.endswith("/51")
        await pilot.press("ampersand")
        await pilot.pause()
        assert not view.filtering and view.row_count == len(view.store)
        await pilot.press("escape")  # clears search and filter
        await pilot.pause()
        assert view.search_text == "" and not view.filtering


HOSTILE = [
    "\x1b]52;c;ZXZpbA==\x07clipboard write",
    "\x1b]0;owned title\x07retitle",
    "\x1b[2J\x1b[Hclear screen",
    "\x1b[?1049halternate screen\x1b[10;10H",
    "\x1bP1$q\x1b\\device control",
    "\x9b2Jeight-bit CSI",
    "bell\x07 backspace\x08 nul\x00 del\x7f",
    "\x1b[31mred\x1b[0m plain \x1b[1;38;5;46mbright\x1b[0m",
    "carriage\roverwrite",
]


async def test_escape_injection_lines_are_rendered_harmless(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assembler = LineAssembler()
        lines = assembler.feed("\n".join(HOSTILE) + "\n")
        _, view = await open_with(app, pilot, lines)
        await pilot.press("g")
        strips = [view.render_line(y) for y in range(len(HOSTILE))]
        for strip in strips:
            for segment in strip:
                assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in segment.text)
        texts = [strip.text.rstrip() for strip in strips]
        assert texts[:7] == [
            "clipboard write", "retitle", "clear screen", "alternate screen",
            "device control", "2Jeight-bit CSI", "bell backspace nul del",
        ]  # fmt: skip
        assert texts[7] == "red plain bright" and texts[8] == "carriageoverwrite"
        # Colours (SGR) survive as styles, safely re-emitted by Textual.
        assert styled(strips[7], "red").color == Color.parse("color(1)")
        assert styled(strips[7], "bright").bold
        assert styled(strips[7], "plain").color != Color.parse("color(1)")
        await pilot.press("c")
        assert "\x1b" not in app.clipboard and "red plain bright" in app.clipboard


class OneView(App):
    """A bare app around one LogView with room for a million lines."""

    def compose(self) -> ComposeResult:
        yield LogView(1_000_000, id="log")


async def test_a_million_line_log_loads_and_scrolls_building_only_visible_rows():
    app = OneView()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        view.focus()
        view.append([f"{n:07d} request served in {n % 97} ms" for n in range(1_000_000)], True)
        await pilot.pause()
        height = view.scrollable_content_region.height
        assert len(view.store) == 1_000_000 and view.row_count == 1_000_000
        assert view.line_at_row(round(view.scroll_y)) == 1_000_000 - height
        assert view.lines_built <= height
        built = view.lines_built
        await pilot.press("home")
        await pilot.pause()
        assert view.render_line(0).text.startswith("0000000 request")
        assert view.lines_built - built <= height
        view.scroll_to(y=500_000, animate=False, immediate=True)
        await pilot.pause()
        assert view.render_line(0).text.startswith("0500000 request")
        for _ in range(5):
            await pilot.press("pagedown")
        await pilot.pause()
        assert view.render_line(0).text.startswith(f"{500_000 + 5 * height:07d}")
        assert view.lines_built <= 9 * height  # end, home, middle, five pages: nothing more
        view.set_search("served in 96 ms")
        assert len(view.matches) == len(range(96, 1_000_000, 97))
