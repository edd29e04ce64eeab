"""The log view screen: cleaned whole lines, batched appends, follow that pauses when scrolled
up and says how many lines came meanwhile, toggles, copy, fullscreen and the keys in `?`."""

from __future__ import annotations

from textual.widgets import Footer, Static

from gpustack_tui.tui.log_buffer import MAX_LINE, LineAssembler, LineStore, PendingLines
from gpustack_tui.tui.screens.help import HelpScreen, bindings_of
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.widgets.log_view import LogView
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar
from tests.tui.conftest import SIZE


def test_assembler_keeps_partial_lines_and_colours_split_across_chunks():
    assembler = LineAssembler()
    assert assembler.feed("one\ntw") == ["one"]
    assert assembler.feed("o\x1b[3") == []
    assert assembler.feed("1mred\x1b[0m\r\nthree") == ["two\x1b[31mred\x1b[0m"]
    assert assembler.flush() == ["three"]
    assert assembler.flush() == []


def test_assembler_removes_terminal_attacks_and_cuts_huge_lines():
    assembler = LineAssembler()
    hostile = "\x1b]52;c;ZXZpbA==\x07title\x1b]0;pwned\x07\x07\x08x\x1b[2J\x1b[?1049h\x9b31m\n"
    lines = assembler.feed(hostile + "y" * 9000 + "\n" + "a\tb\n")
    assert lines[0] == "titlex31m"
    assert len(lines[1]) == MAX_LINE and lines[1].endswith("…")
    assert lines[2] == "a       b"


def test_pending_lines_hand_over_everything_once():
    pending = PendingLines()
    pending.put(["a", "b"])
    pending.put([])
    pending.put(["c"])
    assert pending.take() == ["a", "b", "c"]
    assert pending.take() == []


def test_line_store_keeps_the_newest_lines_with_stable_numbers_and_arrival_times():
    store = LineStore(max_lines=5)
    assert store.extend(["a", "b", "c"], arrived=100.0) == 0
    assert store.extend(["d", "e", "\x1b[31mf\x1b[0m"], arrived=200.0) == 1
    assert (store.first, store.end, len(store)) == (1, 6, 5)
    assert store.line(5) == "\x1b[31mf\x1b[0m" and store.plain(5) == "f"
    assert store.arrived(1) == 100.0 and store.arrived(3) == 200.0
    assert store.numbers_matching("f", fold=True) == [5]
    assert store.numbers_matching("B", fold=False) == []
    store.extend([f"x{n}" for n in range(10)], arrived=300.0)
    assert store.first == 11 and store.arrived(11) == 300.0


async def open_logs(app, pilot, stream: bool = False) -> LogsScreen:
    """The log screen; without `stream`, its stream (to no server) is stopped, so that its
    "reconnecting" lines do not mix with the lines a test feeds."""
    screen = LogsScreen("chat-a1b2", "chat")
    app.push_screen(screen)
    await pilot.pause()
    if not stream:
        screen.workers.cancel_group(screen, "logs")
    return screen


def indicator_text(screen: LogsScreen) -> str:
    return str(screen.query_one("#indicator", Static).render())


async def test_lines_arrive_in_batches_and_only_visible_rows_are_built(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        log = screen.query_one("#log", LogView)
        appends: list[int] = []
        original = log.append

        def counting(lines, follow, arrived=None):
            appends.append(len(lines))
            return original(lines, follow, arrived)

        log.append = counting  # type: ignore[method-assign]
        assembler = LineAssembler()
        for n in range(3000):
            screen.pending.put(assembler.feed(f"\x1b[32mline {n}\x1b[0m\n"))
        await pilot.pause(0.3)
        assert appends == [3000]  # one repaint for the whole burst
        assert log.store.plain(0) == "line 0" and log.store.plain(2999) == "line 2999"
        assert log.is_vertical_scroll_end  # following
        assert log.lines_built <= log.size.height + 2


async def test_scrolling_up_pauses_follow_and_g_or_the_end_resumes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        log = screen.query_one("#log", LogView)
        screen.pending.put([f"line {n}" for n in range(500)])
        await pilot.pause(0.3)
        assert screen.follow and "Follow:On" in indicator_text(screen)
        assert "Wrap:Off" in indicator_text(screen)
        await pilot.press("pageup")
        await pilot.pause()
        assert not screen.follow
        assert "Follow:Off" in indicator_text(screen)
        top = log.scroll_y
        screen.pending.put([f"more {n}" for n in range(40)])
        await pilot.pause(0.3)
        assert log.scroll_y == top  # the view stays where the operator is reading
        assert "40 new lines" in indicator_text(screen)
        await pilot.press("G")
        await pilot.pause()
        assert screen.follow and log.is_vertical_scroll_end
        assert "new lines" not in indicator_text(screen)
        await pilot.press("f")
        assert not screen.follow
        await pilot.press("f")
        await pilot.pause()
        assert screen.follow

        # Scrolling back down to the end by hand resumes following too.
        await pilot.press("pageup")
        await pilot.pause()
        screen.pending.put([f"late {n}" for n in range(3)])
        await pilot.pause(0.3)
        assert not screen.follow and "3 new lines" in indicator_text(screen)
        log.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert screen.follow and "new lines" not in indicator_text(screen)


async def test_a_bounded_view_keeps_the_reading_position_when_old_lines_go(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        log = screen.query_one("#log", LogView)
        log.store.max_lines = 1000
        screen.pending.put([f"line {n}" for n in range(1000)])
        await pilot.pause(0.3)
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        reading = log.line_at_row(round(log.scroll_y))
        screen.pending.put([f"new {n}" for n in range(100)])
        await pilot.pause(0.3)
        assert len(log.store) == 1000 and log.store.first >= 100
        assert log.line_at_row(round(log.scroll_y)) == reading  # same line still on top


async def test_copy_puts_the_visible_lines_on_the_clipboard(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        log = screen.query_one("#log", LogView)
        screen.pending.put([f"\x1b[1mline {n}\x1b[0m" for n in range(200)])
        await pilot.pause(0.3)
        await pilot.press("c")
        height = log.scrollable_content_region.height
        expected = "\n".join(f"line {n}" for n in range(200 - height, 200))
        assert app.clipboard == expected
        assert f"copied the lines on screen ({height} lines)" in screen.status.message

        # A mouse selection, dragged across three rows, is copied instead and painted.
        top = round(log.scroll_y)
        await pilot.mouse_down(log, offset=(5, 2))
        await pilot.hover(log, offset=(3, 4))
        await pilot.mouse_up(log, offset=(3, 4))
        await pilot.pause()
        assert log.text_selection is not None
        chosen = screen.get_component_rich_style("screen--selection").bgcolor
        assert any(seg.style and seg.style.bgcolor == chosen for seg in log.render_line(3))
        assert not any(seg.style and seg.style.bgcolor == chosen for seg in log.render_line(8))
        await pilot.press("c")
        first, middle, last = (f"line {n}" for n in range(top + 2, top + 5))
        assert app.clipboard == f"{first[5:]}\n{middle}\n{last[:4]}"  # the cell under the mouse too
        assert "copied the selection (3 lines)" in screen.status.message


async def test_fullscreen_hides_title_status_and_hints(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        log = screen.query_one("#log", LogView)
        before = log.size.height
        await pilot.press("z")
        await pilot.pause()
        hidden = [
            screen.query_one(TitleBar),
            screen.query_one(StatusLine),
            screen.query_one(Footer),
        ]
        assert not any(widget.display for widget in hidden)
        assert log.size.height > before
        await pilot.press("z")
        await pilot.pause()
        assert all(widget.display for widget in hidden) and log.size.height == before


async def test_every_key_has_an_id_and_is_listed_by_help(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        ids = {entry.binding_id for entry in bindings_of(screen)}
        wanted = {
            "logs.follow", "logs.end", "logs.top", "logs.search", "logs.next_match",
            "logs.previous_match", "logs.filter", "logs.wrap", "logs.timestamps",
            "logs.previous", "logs.save", "logs.copy", "logs.fullscreen", "logs.reconnect",
        }  # fmt: skip
        assert wanted <= ids
        assert all(binding.id for binding in LogsScreen.BINDINGS)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_a_lost_stream_is_reported_and_escape_goes_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot, stream=True)
        await pilot.pause(0.5)
        assert screen.status.level == "error"
        assert "reconnecting" in screen.status.message
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LogsScreen)
