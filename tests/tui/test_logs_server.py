"""The log screen against a real server and its local worker's real agent: the live stream,
saving the whole log (more than the view holds), the previous run's log, and a save that
cannot be written."""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from gpustack_tui.domain.instance import Instance
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.log_save import save_path
from gpustack_tui.tui.log_stream import INITIAL_TAIL
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.widgets.log_view import LogView
from tests.fixtures.chatty import start_again
from tests.fixtures.server import RunningServer
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE


@contextmanager
def file_size_limit(size: int) -> Iterator[None]:
    """Files this process writes may not grow past `size` bytes (writes fail with EFBIG, as on a
    full disk) for the duration; the server and agent processes are not affected."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


async def test_save_previous_run_and_a_failed_save(
    server: RunningServer, chatty: Instance, tmp_path: Path
):
    client = server.client()
    saved_dir = tmp_path / "saved logs"
    app = GpustackApp(client, refresh_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = LogsScreen(chatty.name, "chatty", save_dir=saved_dir)
        app.push_screen(screen)
        await pilot.pause()
        live = screen.query_one("#log", LogView)
        await pilot_wait_until(
            pilot, "the tail", lambda: "first line 4999" in live.lines, timeout=20
        )
        assert len(live.store) == INITIAL_TAIL  # the view holds the last lines only

        # s saves the whole log, fetched from the server, and says where.
        await pilot.press("s")
        saved = await pilot_wait_until(
            pilot, "the saved file", lambda: screen.last_saved, timeout=20
        )
        assert saved.parent == saved_dir and saved.name.startswith(f"{chatty.name}-")
        assert saved.read_bytes() == client.read_logs(chatty.name).encode()
        assert saved.read_text().count("\n") == 5000
        assert str(saved) in screen.status.message
        assert list(saved_dir.iterdir()) == [saved]  # no partial file left

        # No previous run yet: said plainly, the live log stays.
        await pilot.press("p")
        await pilot_wait_until(
            pilot, "the answer", lambda: "no previous log" in screen.status.message, timeout=20
        )
        assert not screen.showing_previous

        # The program starts again: the live view follows into the new run, p shows the old.
        start_again(server, chatty, "second")
        await pilot_wait_until(pilot, "the new run", lambda: "second line 4999" in live.lines, 30)
        await pilot.press("p")
        await pilot_wait_until(
            pilot, "the previous run", lambda: screen.showing_previous, timeout=20
        )
        previous = screen.query_one("#previous-log", LogView)
        assert previous.display and not live.display
        assert previous.lines == [f"first line {n}" for n in range(5000)]
        assert "PREVIOUS RUN" in str(screen.query_one("#indicator").render())
        await pilot.press("slash", *"line 4999", "enter")
        await pilot.pause()
        assert previous.counter == "1/1"
        await pilot.press("s")
        saved_previous = await pilot_wait_until(
            pilot, "the previous run saved",
            lambda: screen.last_saved if screen.last_saved != saved else None, timeout=20
        )  # fmt: skip
        assert "-previous-" in saved_previous.name
        assert saved_previous.read_bytes() == client.read_logs(chatty.name, previous=True).encode()
        await pilot.press("escape", "p")  # esc clears the search, p goes back to the live log
        await pilot.pause()
        assert not screen.showing_previous and live.display

        # A full disk (files may not grow past 4 KiB here): said, no crash, no partial file.
        before = set(saved_dir.iterdir())
        with file_size_limit(4096):
            await pilot.press("s")
            await pilot_wait_until(
                pilot, "the error", lambda: "too large" in screen.status.message, timeout=20
            )
        assert screen.status.level == "error" and "File too large" in screen.status.message
        assert "Free some space" in screen.status.message
        assert set(saved_dir.iterdir()) == before

        # A folder that cannot be created: the reason and what to do, no crash, no file.
        blocker = tmp_path / "a file"
        blocker.write_text("not a folder")
        screen.save_dir = blocker / "logs"
        await pilot.press("s")
        await pilot_wait_until(
            pilot, "the error", lambda: "Not a directory" in screen.status.message, timeout=20
        )
        assert screen.status.level == "error"
        assert f"cannot save the log under {blocker / 'logs'}" in screen.status.message
        assert isinstance(app.screen, LogsScreen) and blocker.read_text() == "not a folder"

        # Leaving ends the stream at once, though the log is quiet: no thread waits on.
        assert screen.stream.threads
        await pilot.press("escape")
        await pilot_wait_until(pilot, "the stream's end", lambda: not screen.stream.threads, 5)
        assert not isinstance(app.screen, LogsScreen)


async def test_a_save_without_a_server_says_so(make_app, tmp_path: Path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = LogsScreen("gone-1", "gone", save_dir=tmp_path)
        app.push_screen(screen)
        await pilot.pause()
        await pilot.press("s")
        await pilot_wait_until(
            pilot, "the error", lambda: "cannot save the log" in screen.status.message, timeout=20
        )
        assert screen.last_saved is None and list(tmp_path.iterdir()) == []


def test_saved_files_never_overwrite_each_other(tmp_path: Path):
    now = datetime(2026, 11, 26, 21, 5, 9)
    first = save_path(tmp_path, "chat-a1b2", False, now)
    assert first == tmp_path / "chat-a1b2-20261126-210509.log"
    first.write_text("kept")
    second = save_path(tmp_path, "chat-a1b2", False, now)
    assert second == tmp_path / "chat-a1b2-20261126-210509-2.log"
    assert (
        save_path(tmp_path, "chat-a1b2", True, now).name == "chat-a1b2-previous-20261126-210509.log"
    )
    assert first.read_text() == "kept"
