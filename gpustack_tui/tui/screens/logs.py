"""An instance's log, followed live.

A thread worker reads `client.follow_logs`, cuts the chunks into sanitized lines and queues
them; a 10 Hz timer writes whatever is queued to a `Log` in one batch. Scrolling up pauses
follow (visibly, with a count of new lines); `f` toggles it, `G` jumps to the end and follows.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Footer, Log, Static
from textual.worker import Worker, get_current_worker

from gpustack_tui.client import ApiError, ServerUnavailable
from gpustack_tui.tui.log_buffer import LineAssembler, PendingLines
from gpustack_tui.tui.messages import as_api_error
from gpustack_tui.tui.screens.base import ClientScreen
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

FLUSH_SECONDS = 0.1
MAX_LINES = 10_000
INITIAL_TAIL = 1000
RECONNECT_SECONDS = 2.0
WAIT_CODES = ("not_placed",)
"""Errors that pass by themselves (a pending instance gets a worker): keep trying."""


class StreamState(Message):
    """The log stream connected, ended, or failed (`retrying` when it will reconnect)."""

    def __init__(self, event: str, error: ApiError | None = None, retrying: bool = False) -> None:
        super().__init__()
        self.event = event
        self.error = error
        self.retrying = retrying


class LogsScreen(ClientScreen):
    """The log of one instance."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="logs.follow"),
        Binding("G,end", "end", "End", id="logs.end"),
        Binding("g,home", "top", "Top", show=False, id="logs.top"),
        Binding("r", "reconnect", "Reconnect", id="logs.reconnect"),
        Binding("escape", "back", "Back", id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    follow: reactive[bool] = reactive(True)
    """Whether new lines scroll the view to the end."""

    def __init__(self, instance: str, deployment: str = "") -> None:
        super().__init__()
        self.instance = instance
        self.deployment = deployment
        self.pending = PendingLines()
        self.unseen = 0
        self.stream_text = "connecting"

    def compose(self) -> ComposeResult:
        """Title, follow indicator, the log, status, key hints."""
        where = f"{self.deployment} / {self.instance}" if self.deployment else self.instance
        yield TitleBar(f"Logs {where}", self.client.base_url)
        yield Static(id="indicator")
        yield Log(id="log", max_lines=MAX_LINES, highlight=False)
        yield StatusLine(id="status")
        yield Footer()

    @property
    def log_widget(self) -> Log:
        """The log."""
        return self.query_one("#log", Log)

    def on_mount(self) -> None:
        """Start the stream and the flush timer; watch scrolling to pause follow."""
        self.watch(self.log_widget, "scroll_y", self._scrolled, init=False)
        self.set_interval(FLUSH_SECONDS, self.flush)
        self.log_widget.focus()
        self._render_indicator()
        self._follow_stream()

    # -- the stream (thread) ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs")
    def _follow_stream(self) -> None:
        worker = get_current_worker()
        tail: int | None = INITIAL_TAIL
        while not worker.is_cancelled:
            assembler = LineAssembler()
            try:
                self.post_message(StreamState("connected"))
                for chunk in self.client.follow_logs(self.instance, tail=tail):
                    if worker.is_cancelled:
                        return
                    self.pending.put(assembler.feed(chunk))
                self.pending.put(assembler.flush())
                self.post_message(StreamState("ended"))
                return
            except ServerUnavailable as exc:
                self.pending.put(assembler.flush())
                self.post_message(StreamState("lost", exc, retrying=True))
            except ApiError as exc:
                if exc.code not in WAIT_CODES:
                    self.post_message(StreamState("failed", exc))
                    return
                self.post_message(StreamState("waiting", exc, retrying=True))
                tail = INITIAL_TAIL
                self._sleep(worker, RECONNECT_SECONDS)
                continue
            except Exception as exc:
                self.post_message(StreamState("failed", as_api_error(exc)))
                return
            tail = 0
            self._sleep(worker, RECONNECT_SECONDS)
            self.pending.put(["── reconnecting: lines written meanwhile may be missing ──"])

    @staticmethod
    def _sleep(worker: Worker, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not worker.is_cancelled:
            time.sleep(0.1)

    def on_stream_state(self, message: StreamState) -> None:
        """Show how the stream is doing."""
        message.stop()
        self.stream_text = message.event
        if message.event == "ended":
            self.status.show("the log stream ended (the instance stopped or went): r reconnects")
        elif message.event == "waiting" and message.error is not None:
            self.status.show(f"{message.error.message}; trying again every few seconds", "warning")
        elif message.error is not None:
            then = "reconnecting" if message.retrying else "press r to try again"
            self.status.error(f"log stream: {message.error.message} ({then})")
        self._render_indicator()

    # -- writing and following --------------------------------------------------------------

    def flush(self) -> None:
        """Write every queued line in one batch (runs 10 times a second)."""
        lines = self.pending.take()
        if not lines:
            return
        log = self.log_widget
        if self.follow:
            log.write_lines(lines, scroll_end=False)
            log.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            log.write_lines(lines, scroll_end=False)
            self.unseen += len(lines)
            self._render_indicator()

    def _scrolled(self, old: float, new: float) -> None:
        log = self.log_widget
        if new < old and self.follow and not log.is_vertical_scroll_end:
            self.follow = False
        elif new > old and not self.follow and log.is_vertical_scroll_end:
            self.follow = True

    def watch_follow(self, follow: bool) -> None:
        """Following again: jump to the end and forget the count."""
        if follow:
            self.unseen = 0
            if self.is_mounted:
                self.log_widget.scroll_end(animate=False, immediate=True, x_axis=False)
        self._render_indicator()

    def _render_indicator(self) -> None:
        if not self.is_mounted:
            return
        line = Text("Follow:")
        line.append("On" if self.follow else "Off", style="green" if self.follow else "yellow")
        line.append("  Wrap:Off  Stream:")
        colour = {"connected": "green", "ended": "dim", "connecting": "yellow", "waiting": "yellow"}
        line.append(self.stream_text, style=colour.get(self.stream_text, "red"))
        if not self.follow and self.unseen:
            line.append(f"   ▼ {self.unseen} new lines (G to follow)", style="bold yellow")
        self.query_one("#indicator", Static).update(line)

    # -- actions ----------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        """Follow on/off."""
        self.follow = not self.follow

    def action_end(self) -> None:
        """Jump to the newest line and follow."""
        self.follow = True
        self.log_widget.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_top(self) -> None:
        """Jump to the oldest line kept (pauses follow)."""
        self.follow = False
        self.log_widget.scroll_home(animate=False, immediate=True)

    def action_reconnect(self) -> None:
        """Open the stream again, from the last lines."""
        self.log_widget.clear()
        self.unseen = 0
        self.stream_text = "connecting"
        self._render_indicator()
        self.status.show("reconnecting…")
        self._follow_stream()

    def action_back(self) -> None:
        """Back to where the log was opened from (the stream stops)."""
        self.workers.cancel_group(self, "logs")
        self.dismiss(None)
