"""An instance's log, followed live, searched, filtered, saved and copied.

A thread worker reads `client.follow_logs`, cuts the chunks into cleaned lines and queues
them; a 10 Hz timer appends whatever is queued to a `LogView` in one batch. Scrolling up pauses
follow (visibly, with a count of new lines); scrolling to the end, `G` or `f` resumes it.
`p` shows the previous run's log in a second view (the live one keeps receiving lines).
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, Static

from gpustack_tui.tui.log_buffer import LineAssembler, PendingLines
from gpustack_tui.tui.log_indicator import indicator
from gpustack_tui.tui.log_save import default_save_dir, describe_os_error, save_log
from gpustack_tui.tui.log_stream import (
    INITIAL_TAIL,
    LiveStream,
    LogSaved,
    PreviousLoaded,
    StreamState,
)
from gpustack_tui.tui.messages import as_api_error
from gpustack_tui.tui.screens.base import ClientScreen
from gpustack_tui.tui.widgets.key_footer import KeyFooter
from gpustack_tui.tui.widgets.log_view import LogView
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

FLUSH_SECONDS = 0.1
MAX_LINES = 200_000
"""Lines kept in memory per view (older ones stay on the worker: `s` saves the whole log)."""
SEARCH_DELAY = 0.2


class LogsScreen(ClientScreen):
    """The log of one instance."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="logs.follow"),
        Binding("G,end", "end", "End", id="logs.end"),
        Binding("g,home", "top", "Top", show=False, id="logs.top"),
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match", "Next", show=False, id="logs.next_match"),
        Binding("N", "previous_match", "Previous match", show=False, id="logs.previous_match"),
        Binding("ampersand", "toggle_filter", "Filter", show=False, id="logs.filter"),
        Binding("w", "toggle_wrap", "Wrap", id="logs.wrap"),
        Binding("t", "toggle_times", "Times", id="logs.timestamps"),
        Binding("p", "toggle_previous", "Previous run", id="logs.previous"),
        Binding("s", "save", "Save", id="logs.save"),
        Binding("c", "copy", "Copy", id="logs.copy"),
        Binding("z", "toggle_fullscreen", "Full", id="logs.fullscreen"),
        Binding("r", "reconnect", "Reconnect", show=False, id="logs.reconnect"),
        Binding("escape", "back", "Back", id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    follow: reactive[bool] = reactive(True)
    """Whether new lines scroll the view to the end."""

    def __init__(self, instance: str, deployment: str = "", save_dir: Path | None = None) -> None:
        super().__init__()
        self.instance = instance
        self.deployment = deployment
        self.save_dir = save_dir or default_save_dir()
        self.pending = PendingLines()
        self.stream = LiveStream(self, instance, self.pending)
        self.unseen = 0
        self.stream_text = "connecting"
        self.showing_previous = False
        self.fullscreen = False
        self.last_saved: Path | None = None
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """Title, indicator, the live and previous logs, search field, status, key hints."""
        where = f"{self.deployment} / {self.instance}" if self.deployment else self.instance
        yield TitleBar(f"Logs {where}", self.client.base_url)
        yield Static(id="indicator")
        yield LogView(MAX_LINES, id="log")
        yield LogView(MAX_LINES, id="previous-log")
        yield Input(
            placeholder="search: enter jumps, n/N next/previous, & filter, escape clears",
            id="search",
            compact=True,
        )
        yield StatusLine(id="status")
        yield KeyFooter()

    @property
    def log_widget(self) -> LogView:
        """The live log."""
        return self.query_one("#log", LogView)

    @property
    def view(self) -> LogView:
        """The log on screen: the live one, or the previous run's."""
        return self.query_one("#previous-log" if self.showing_previous else "#log", LogView)

    @property
    def search_input(self) -> Input:
        """The search field (shown by `/`)."""
        return self.query_one("#search", Input)

    def on_mount(self) -> None:
        """Start the stream and the flush timer; watch scrolling to pause follow."""
        self.query_one("#previous-log").display = False
        self.search_input.display = False
        self.watch(self.log_widget, "scroll_y", self._scrolled, init=False)
        self.set_interval(FLUSH_SECONDS, self.flush)
        self.log_widget.focus()
        self._render_indicator()
        self.stream.start()

    # -- the stream (thread) ----------------------------------------------------------------

    def on_unmount(self) -> None:
        """However the screen goes, its stream goes with it."""
        self.stream.stop()

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
        """Append every queued line in one batch (runs 10 times a second)."""
        lines = self.pending.take()
        if not lines:
            return
        self.log_widget.append(lines, follow=self.follow)
        if not self.follow:
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
        line = indicator(
            self.view, self.follow, self.unseen, self.stream_text, self.showing_previous
        )
        self.query_one("#indicator", Static).update(line)

    # -- search -----------------------------------------------------------------------------

    def action_search(self) -> None:
        """Open the search field."""
        field = self.search_input
        field.display = True
        field.value = self.view.search_text
        field.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self._apply_search(event.value))

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._apply_search(event.value)
        self.view.focus()
        self.action_next_match()

    def _apply_search(self, text: str) -> None:
        if text != self.view.search_text:
            self.view.set_search(text)
        self._render_indicator()

    def action_next_match(self) -> None:
        """Jump to the next matching line."""
        self._goto_match(1)

    def action_previous_match(self) -> None:
        """Jump to the previous matching line."""
        self._goto_match(-1)

    def _goto_match(self, step: int) -> None:
        view = self.view
        if not view.search_text:
            self.status.show("no search: press / and type what to find")
            return
        if view is self.log_widget:
            self.follow = False
        if view.goto_match(step) is None:
            self.status.show(f"no line contains {view.search_text!r}", "warning")
        self._render_indicator()

    def action_toggle_filter(self) -> None:
        """Show only the lines that match the search, or every line."""
        view = self.view
        if not view.search_text:
            self.status.show("filter: search first (/), then & shows only the matching lines")
            return
        if view is self.log_widget and not view.filtering:
            self.follow = False
        view.set_filter(not view.filtering)
        self._render_indicator()

    # -- toggles ----------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        """Follow on/off."""
        self.follow = not self.follow

    def action_toggle_wrap(self) -> None:
        """Wrap long lines or scroll sideways."""
        for view in self.query(LogView):
            view.set_wrap(not view.wrap_lines)
        self._render_indicator()

    def action_toggle_times(self) -> None:
        """Show the time each line arrived (the server relays no time of its own)."""
        for view in self.query(LogView):
            view.set_times(not view.show_times)
        self._render_indicator()

    def action_toggle_fullscreen(self) -> None:
        """Hide the title, status and key hints, or show them again."""
        self.fullscreen = not self.fullscreen
        for widget in (self.query_one(TitleBar), self.status, self.query_one(KeyFooter)):
            widget.display = not self.fullscreen
        self._render_indicator()

    def action_end(self) -> None:
        """Jump to the newest line and follow."""
        if self.showing_previous:
            self.view.scroll_end(animate=False, immediate=True, x_axis=False)
            return
        self.follow = True
        self.log_widget.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_top(self) -> None:
        """Jump to the oldest line kept (pauses follow)."""
        if not self.showing_previous:
            self.follow = False
        self.view.scroll_home(animate=False, immediate=True)
        self.status.show(
            f"the oldest line shown here (the view opens on the last {INITIAL_TAIL:,} lines and "
            f"keeps the newest {MAX_LINES:,}): s saves the whole log to a file"
        )

    # -- the previous run, save, copy -------------------------------------------------------

    def action_toggle_previous(self) -> None:
        """Show the previous run's log (fetched once), or go back to the live log."""
        if self.showing_previous:
            self._show_previous(False)
            return
        self.status.show("reading the previous run's log…")
        self._read_previous()

    @work(thread=True, exclusive=True, exit_on_error=False, group="previous")
    def _read_previous(self) -> None:
        try:
            # The newest lines the view keeps; `s` saves the whole previous log.
            text = self.client.read_logs(self.instance, tail=MAX_LINES, previous=True)
        except Exception as exc:
            self.post_message(PreviousLoaded([], as_api_error(exc)))
            return
        assembler = LineAssembler()
        self.post_message(PreviousLoaded(assembler.feed(text) + assembler.flush()))

    def on_previous_loaded(self, message: PreviousLoaded) -> None:
        """Show the previous run's log, or say why there is none."""
        message.stop()
        if message.error is not None:
            if message.error.code == "no_previous_log":
                self.status.show(
                    "no previous log: this instance's program has not been restarted", "warning"
                )
            else:
                self.status.error(f"previous log: {message.error.message}")
            return
        previous = self.query_one("#previous-log", LogView)
        previous.clear()
        previous.append(message.lines, follow=False)
        previous.set_search(self.log_widget.search_text)
        self._show_previous(True)
        self.status.show(f"the previous run's log: {len(message.lines)} lines (p: live log)")

    def _show_previous(self, on: bool) -> None:
        self.showing_previous = on
        self.query_one("#previous-log").display = on
        self.log_widget.display = not on
        if not on and self.follow:
            self.log_widget.scroll_end(animate=False, immediate=True, x_axis=False)
        self.view.focus()
        self._render_indicator()

    def action_save(self) -> None:
        """Save the whole log (from the server, not only what is shown) to a file."""
        which = "previous run's log" if self.showing_previous else "log"
        self.status.show(f"saving the whole {which} under {self.save_dir}…")
        self._save(self.showing_previous)

    @work(thread=True, exit_on_error=False, group="save")
    def _save(self, previous: bool) -> None:
        try:
            path = save_log(self.client, self.instance, self.save_dir, previous)
        except OSError as exc:
            self.post_message(LogSaved(None, describe_os_error(exc, self.save_dir)))
        except Exception as exc:
            self.post_message(LogSaved(None, f"cannot save the log: {as_api_error(exc).message}"))
        else:
            self.post_message(LogSaved(path))

    def on_log_saved(self, message: LogSaved) -> None:
        """Say where the log went, or why it did not."""
        message.stop()
        if message.path is None:
            self.status.error(message.error)
            self.notify(message.error, title="Save failed", severity="error")
            return
        self.last_saved = message.path
        self.status.show(f"saved to {message.path}", "success")
        self.notify(str(message.path), title="Log saved")

    def action_copy(self) -> None:
        """Copy the text selected with the mouse, else the lines on screen, to the clipboard
        (OSC 52: works over SSH, and in tmux with `set-clipboard on`)."""
        selected = self.get_selected_text()
        text = selected or self.view.visible_text()
        if not text:
            self.status.show("nothing to copy yet")
            return
        self.app.copy_to_clipboard(text)
        what = "the selection" if selected else "the lines on screen"
        count = text.count("\n") + 1
        self.status.show(f"copied {what} ({count} lines) to the clipboard", "success")

    # -- leaving ----------------------------------------------------------------------------

    def action_reconnect(self) -> None:
        """Open the stream again, from the last lines."""
        self.stream.stop()
        self.log_widget.clear()
        self.unseen = 0
        self.stream_text = "connecting"
        self._render_indicator()
        self.status.show("reconnecting…")
        self.stream.start()

    def action_back(self) -> None:
        """Close the search, or leave the previous run, or go back (the stream stops)."""
        if self.search_input.display or self.view.search_text:
            self.search_input.value = ""
            self.search_input.display = False
            if self._search_timer is not None:
                self._search_timer.stop()
            self.view.set_search("")
            self.view.focus()
            self._render_indicator()
            return
        if self.showing_previous:
            self._show_previous(False)
            return
        self.stream.stop()
        self.dismiss(None)
