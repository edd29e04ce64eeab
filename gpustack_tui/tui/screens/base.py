"""What every server-backed view shares: a client, a status line, a poll loop, requests in threads.

The poll follows Dolphie: a thread worker fetches, the result comes back as a message, and only
then is the next fetch scheduled, so polls never overlap on a slow link. A view that is covered
by another stops polling and fetches again as soon as it is shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.screen import Screen
from textual.timer import Timer

from gpustack_tui.client import ApiError, Client, ServerUnavailable
from gpustack_tui.tui.messages import Fetched, RequestDone, RequestFailed, as_api_error
from gpustack_tui.tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from gpustack_tui.tui.app import GpustackApp


class ClientScreen(Screen):
    """A view that talks to the server: the client, a status line, requests in threads."""

    @property
    def gs_app(self) -> GpustackApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    @property
    def client(self) -> Client:
        """The management API client (call it only from thread workers)."""
        return self.gs_app.client

    @property
    def status(self) -> StatusLine:
        """This view's status line."""
        return self.query_one(StatusLine)

    # -- one-off requests -------------------------------------------------------------------

    def request(
        self,
        what: str,
        call: Callable[[], Any],
        done: str | Callable[[Any], str],
        context: Any = None,
    ) -> None:
        """Run `call` in a thread; post RequestDone(`done`) or RequestFailed(`what`)."""
        self.status.show(f"{what}…")
        self._request_in_thread(what, call, done, context)

    @work(thread=True, exit_on_error=False, group="request")
    def _request_in_thread(
        self,
        what: str,
        call: Callable[[], Any],
        done: str | Callable[[Any], str],
        context: Any,
    ) -> None:
        try:
            result = call()
        except Exception as exc:
            self.post_message(RequestFailed(what, as_api_error(exc), context))
            return
        self.post_message(RequestDone(done(result) if callable(done) else done, result))

    # Textual calls a message handler of every class in the MRO, so subclasses override these
    # plain methods instead of the `on_...` handlers.

    def on_request_done(self, message: RequestDone) -> None:
        """Route to `request_succeeded`."""
        message.stop()
        self.request_succeeded(message)

    def on_request_failed(self, message: RequestFailed) -> None:
        """Route to `request_failed`."""
        message.stop()
        self.request_failed(message)

    def request_succeeded(self, message: RequestDone) -> None:
        """Say what happened."""
        self.status.show(message.text, "success")

    def request_failed(self, message: RequestFailed) -> None:
        """Say what failed and why (the server's words say what to do)."""
        self.status.error(f"{message.what} failed: {message.error.message}")


class ServerScreen(ClientScreen):
    """A view of server data, fetched by `fetch` (in a thread) and shown by `show_data`."""

    def __init__(self) -> None:
        super().__init__()
        self._seq = 0
        self._timer: Timer | None = None
        self._covered = True
        self.failing = False
        self.last_update: float | None = None

    # -- to implement -----------------------------------------------------------------------

    def fetch(self) -> Any:
        """Get the view's data from the server. Runs in a thread: no widgets here."""
        raise NotImplementedError

    def show_data(self, data: Any) -> None:
        """Put fetched data on screen (event loop)."""
        raise NotImplementedError

    # -- polling ----------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        """Shown (first time or uncovered): fetch now and keep polling."""
        self._covered = False
        self.refresh_now()

    def on_screen_suspend(self) -> None:
        """Covered by another view: stop polling."""
        self._covered = True
        self._stop_timer()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def action_refresh(self) -> None:
        """Fetch now (the views' `r`)."""
        self.status.show("refreshing…")
        self.refresh_now()

    def action_back(self) -> None:
        """Back to the view underneath (the views' escape)."""
        self.dismiss(None)

    def refresh_now(self) -> None:
        """Fetch at once (a fetch already under way is superseded)."""
        self._stop_timer()
        self._seq += 1
        self._fetch_in_thread(self._seq)

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _fetch_in_thread(self, seq: int) -> None:
        try:
            data = self.fetch()
        except Exception as exc:
            self.post_message(Fetched(seq, error=as_api_error(exc)))
        else:
            self.post_message(Fetched(seq, data=data))

    def on_fetched(self, message: Fetched) -> None:
        """Show the data (or say why there is none new) and schedule the next fetch."""
        message.stop()
        if message.seq != self._seq:
            return
        if message.error is not None:
            self.failing = True
            self.status.error(self.unreachable_text(message.error))
        else:
            if self.failing:
                self.status.show("connected to the server again", "success")
            self.failing = False
            self.last_update = time.time()
            self.show_data(message.data)
        interval = self.gs_app.refresh_interval
        if interval and not self._covered:
            self._timer = self.set_timer(interval, self.refresh_now)

    def unreachable_text(self, error: ApiError) -> str:
        """The status line while fetching fails: what is wrong, and that the last data stays."""
        interval = self.gs_app.refresh_interval
        since = (
            f"showing data from {time.strftime('%H:%M:%S', time.localtime(self.last_update))}"
            if self.last_update
            else "no data yet"
        )
        retry = f"retrying every {interval:g} s" if interval else "press r to retry"
        if isinstance(error, ServerUnavailable):
            return (
                f"server unreachable at {self.client.base_url}: {since}, {retry} "
                "(is it running? `gpustack-tui server` starts it)"
            )
        return f"{error.message} ({since}; {retry})"

    def request_succeeded(self, message: RequestDone) -> None:
        """Say what happened and show its effect at once."""
        super().request_succeeded(message)
        self.refresh_now()
