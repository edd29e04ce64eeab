"""The log view: sanitized whole lines, batched writes, follow that pauses when scrolled up."""

from __future__ import annotations

from textual.widgets import Log, Static

from gpustack_tui.tui.log_buffer import MAX_LINE, LineAssembler, PendingLines
from gpustack_tui.tui.screens.logs import LogsScreen
from tests.tui.conftest import SIZE


def test_assembler_keeps_partial_lines_and_strips_escapes_split_across_chunks():
    assembler = LineAssembler()
    assert assembler.feed("one\ntw") == ["one"]
    assert assembler.feed("o\x1b[3") == []
    assert assembler.feed("1mred\x1b[0m\r\nthree") == ["twored"]
    assert assembler.flush() == ["three"]
    assert assembler.flush() == []


def test_assembler_removes_terminal_attacks_and_cuts_huge_lines():
    assembler = LineAssembler()
    hostile = "\x1b]52;c;ZXZpbA==\x07title\x1b]0;pwned\x07\x07\x08x\n"
    lines = assembler.feed(hostile + "y" * 9000 + "\n")
    assert lines[0] == "titlex"
    assert len(lines[1]) == MAX_LINE and lines[1].endswith("…")


def test_pending_lines_hand_over_everything_once():
    pending = PendingLines()
    pending.put(["a", "b"])
    pending.put([])
    pending.put(["c"])
    assert pending.take() == ["a", "b", "c"]
    assert pending.take() == []


async def open_logs(app, pilot) -> LogsScreen:
    screen = LogsScreen("chat-a1b2", "chat")
    app.push_screen(screen)
    await pilot.pause()
    return screen


async def test_lines_arrive_in_batches_sanitized(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        log = screen.query_one(Log)
        writes: list[int] = []
        original = log.write_lines

        def counting(lines, scroll_end=None):
            writes.append(len(lines))
            return original(lines, scroll_end)

        log.write_lines = counting  # type: ignore[method-assign]
        assembler = LineAssembler()
        for n in range(3000):
            screen.pending.put(assembler.feed(f"\x1b[32mline {n}\x1b[0m\n"))
        await pilot.pause(0.3)
        assert writes == [3000]  # one repaint for the whole burst
        assert log.lines[0] == "line 0" and log.lines[-1] == "line 2999"
        assert log.is_vertical_scroll_end  # following


async def test_scrolling_up_pauses_follow_and_g_resumes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        log = screen.query_one(Log)
        indicator = screen.query_one("#indicator", Static)
        screen.pending.put([f"line {n}" for n in range(500)])
        await pilot.pause(0.3)
        assert screen.follow and "Follow:On" in str(indicator.render())
        assert "Wrap:Off" in str(indicator.render())
        await pilot.press("pageup")
        await pilot.pause()
        assert not screen.follow
        assert "Follow:Off" in str(indicator.render())
        top = log.scroll_y
        screen.pending.put([f"more {n}" for n in range(40)])
        await pilot.pause(0.3)
        assert log.scroll_y == top  # the view stays where the operator is reading
        assert "40 new lines" in str(indicator.render())
        await pilot.press("G")
        await pilot.pause()
        assert screen.follow and log.is_vertical_scroll_end
        assert "new lines" not in str(indicator.render())
        await pilot.press("f")
        assert not screen.follow
        await pilot.press("f")
        await pilot.pause()
        assert screen.follow


async def test_a_lost_stream_is_reported_and_escape_goes_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_logs(app, pilot)
        await pilot.pause(0.5)
        assert screen.status.level == "error"
        assert "reconnecting" in screen.status.message
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LogsScreen)
