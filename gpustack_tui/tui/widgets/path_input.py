"""A path field that completes from the folders the server, or a chosen worker, can see.

Typing lists the typed path's folder (GET /files, in an exclusive thread worker, after a short
pause; again once the listing is `FRESH_FOR` seconds old) and filters that listing locally, so
keys are never held up: a newer listing
supersedes an older one, whose answer is dropped by its sequence number. Completions (folders
and .gguf files) show under the field; the first one is also the field's inline suggestion
(`right` at the end accepts it), `down` moves into the list, enter there takes one, escape goes
back. A worker that is slow or unreachable is said under the field; the field keeps working.
"""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import DescendantBlur, DescendantFocus
from textual.message import Message
from textual.suggester import Suggester, SuggestionReady
from textual.timer import Timer
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from gpustack_tui.client import ApiError
from gpustack_tui.domain.text import sanitize_terminal_text
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.tui.messages import as_api_error

SERVER = "@server"
LIST_DELAY = 0.15
SLOW_AFTER = 1.0
LIST_TIMEOUT = 15.0
MAX_SHOWN = 200
FRESH_FOR = 10.0
"""Seconds a folder's listing is reused while typing in it (then it is listed again)."""
READY = WorkerState.READY.value


def split_path(value: str) -> tuple[str, str] | None:
    """(folder to list, typed start of the name), or None when nothing can be listed yet."""
    if not value.startswith(("/", "~/")):
        return None
    cut = value.rfind("/") + 1
    return value[:cut], value[cut:]


def matches(entries: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Entries whose name starts with `prefix` (ignoring case), folders first."""
    low = prefix.lower()
    found = [e for e in entries if str(e["name"]).lower().startswith(low)]
    return sorted(found, key=lambda e: (not e["is_dir"], str(e["name"]).lower()))


def completion(folder: str, entry: dict[str, Any]) -> str:
    """The full value an entry completes to (a folder ends with `/` to go on typing)."""
    return folder + str(entry["name"]) + ("/" if entry["is_dir"] else "")


class Listed(Message):
    """A folder listing came back (or failed)."""

    def __init__(
        self, seq: int, key: tuple[str, str], listing: dict | None, error: ApiError | None
    ) -> None:
        super().__init__()
        self.seq = seq
        self.key = key
        self.listing = listing
        self.error = error


class WorkersListed(Message):
    """The workers a path can be listed on."""

    def __init__(self, workers: list[tuple[str, str]], error: ApiError | None = None) -> None:
        super().__init__()
        self.workers = workers
        self.error = error


class _FromListing(Suggester):
    """Suggests the first completion from the listing already fetched; never does I/O."""

    def __init__(self, owner: PathInput) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.owner = owner

    async def get_suggestion(self, value: str) -> str | None:
        """The first completion of `value`, if its folder is listed already."""
        return self.owner.first_completion(value)


class PathChoices(OptionList):
    """The completions; escape goes back to the field. Reached with `down` only, never by tab
    (it stays out of the focus chain until then)."""

    BINDINGS = [Binding("escape", "back", "Back to the path", show=False)]

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.can_focus = False

    def on_blur(self) -> None:
        """Out of the focus chain again."""
        self.can_focus = False

    def action_back(self) -> None:
        """Back to the path field."""
        owner = self.parent
        if isinstance(owner, PathInput):
            owner.input.focus()


class PathInput(Vertical):
    """An `Input` with id `input_id` plus a where-to-look choice (`#<input_id>-where`), the
    completions (`#<input_id>-choices`) and a note (`#<input_id>-note`)."""

    DEFAULT_CSS = """
    PathInput { height: auto; }
    PathInput > Horizontal { height: auto; }
    PathInput > Horizontal > Input { width: 1fr; }
    PathInput > OptionList { max-height: 8; height: auto; display: none; }
    PathInput > OptionList.-shown { display: block; }
    PathInput > .path-note { color: $text-muted; height: auto; }
    PathInput > .path-note.-error { color: $error; }
    """
    BINDINGS = [Binding("down", "choices", "Completions", show=False)]

    def __init__(self, value: str = "", *, input_id: str, placeholder: str = "") -> None:
        super().__init__(id=f"{input_id}-path")
        self.input_id = input_id
        self._value = value
        self._placeholder = placeholder
        self.listings: dict[tuple[str, str], dict[str, Any]] = {}
        self._listed_at: dict[tuple[str, str], float] = {}
        self.seq = 0
        self.pending: tuple[str, str] | None = None
        self._timer: Timer | None = None
        self._slow: Timer | None = None

    def compose(self) -> ComposeResult:
        """Field and where-to-look, completions, note."""
        with Horizontal():
            yield Input(
                self._value, id=self.input_id, compact=True, placeholder=self._placeholder,
                suggester=_FromListing(self), select_on_focus=False,
            )  # fmt: skip
            where = Select(
                [("on the server", SERVER)], value=SERVER, allow_blank=False, compact=True,
                id=f"{self.input_id}-where",
            )  # fmt: skip
            where.styles.width = 22  # inline: Select's own width rule would win over ours
            yield where
        yield PathChoices(id=f"{self.input_id}-choices")
        yield Static("", id=f"{self.input_id}-note", classes="path-note", markup=False)

    def on_mount(self) -> None:
        """Learn the workers a path can be listed on."""
        self._load_workers()

    @property
    def input(self) -> Input:
        """The path field."""
        return self.query_one(f"#{self.input_id}", Input)

    @property
    def choices(self) -> OptionList:
        """The completions list."""
        return self.query_one(PathChoices)

    @property
    def where(self) -> str:
        """`@server`, or the worker to list on."""
        found = self.query(f"#{self.input_id}-where")
        return str(found.first(Select).value) if found else SERVER  # not mounted yet

    @property
    def note(self) -> Static:
        """The line under the field."""
        return self.query_one(f"#{self.input_id}-note", Static)

    def say(self, text: str, error: bool = False) -> None:
        """Put `text` under the field (red when `error`)."""
        self.note.update(text)
        self.note.set_class(error, "-error")

    # -- workers ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="path-workers")
    def _load_workers(self) -> None:
        try:
            workers = self.app.client.list_workers()  # type: ignore[attr-defined]
        except Exception as exc:
            self.post_message(WorkersListed([], as_api_error(exc)))
            return
        found = [(w.name, w.state.value) for w in sorted(workers, key=lambda w: w.name)]
        self.post_message(WorkersListed(found))

    def on_workers_listed(self, message: WorkersListed) -> None:
        """Offer each worker beside the server (those not ready marked so)."""
        message.stop()
        if message.error is not None:
            self.say(f"only the server's folders: {message.error.message}", error=True)
        options = [("on the server", SERVER)] + [
            (f"on {name}" if state == READY else f"on {name} ({state})", name)
            for name, state in message.workers
        ]
        select = self.query_one(f"#{self.input_id}-where", Select)
        current = select.value
        select.set_options(options)
        select.value = current if current in {v for _, v in options} else SERVER

    def on_select_changed(self, event: Select.Changed) -> None:
        """Another place to look: list the typed folder there."""
        if event.select.id == f"{self.input_id}-where":
            self.refresh_completions()

    # -- listing ----------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter the listing at once; list the folder when it is a new one."""
        if event.input.id == self.input_id:
            self.refresh_completions()

    def refresh_completions(self) -> None:
        """Show what completes the field now, listing its folder (after a pause) if needed."""
        if not self.query(f"#{self.input_id}-note"):
            return  # the field's first value, before its siblings are mounted
        parts = split_path(self.input.value)
        if parts is None:
            self.show([], "")
            self.say("type an absolute path (starting with / or ~/) to see completions")
            return
        folder, prefix = parts
        key = (self.where, folder)
        if key in self.listings:
            self.show(matches(self.listings[key]["entries"], prefix), folder)
            if time.monotonic() - self._listed_at.get(key, 0.0) < FRESH_FOR:
                return
        self.pending = key
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(LIST_DELAY, self._start_listing)

    def _start_listing(self) -> None:
        self._timer = None
        if self.pending is None:
            return
        where, folder = self.pending
        self.seq += 1
        place = "the server" if where == SERVER else f"worker {where}"
        self.say(f"listing {folder} on {place}…")
        if self._slow is not None:
            self._slow.stop()
        self._slow = self.set_timer(SLOW_AFTER, lambda: self._still_waiting(self.seq, place))
        self._list(self.seq, self.pending)

    def _still_waiting(self, seq: int, place: str) -> None:
        if seq == self.seq and self.pending is not None:
            self.say(f"{place} is slow to answer; keep typing, or look on the server instead")

    @work(thread=True, exclusive=True, exit_on_error=False, group="path-listing")
    def _list(self, seq: int, key: tuple[str, str]) -> None:
        where, folder = key
        worker = None if where == SERVER else where
        client = self.app.client  # type: ignore[attr-defined]
        try:
            listing = client.list_files(folder, worker=worker, timeout=LIST_TIMEOUT)
        except Exception as exc:
            self.post_message(Listed(seq, key, None, as_api_error(exc)))
            return
        self.post_message(Listed(seq, key, listing, None))

    def on_listed(self, message: Listed) -> None:
        """Keep the listing; show its completions if it is still the folder typed."""
        message.stop()
        if message.seq != self.seq:
            return
        self.pending = None
        if self._slow is not None:
            self._slow.stop()
        if message.error is not None:
            self.show([], "")
            self.say(message.error.message, error=True)
            return
        assert message.listing is not None
        self.listings[message.key] = message.listing
        self._listed_at[message.key] = time.monotonic()
        self.refresh_completions()
        value = self.input.value
        suggestion = self.first_completion(value)
        if suggestion is not None:
            self.input.post_message(SuggestionReady(value, suggestion))

    def first_completion(self, value: str) -> str | None:
        """The first completion of `value` from a listing already fetched, or None."""
        parts = split_path(value)
        if parts is None:
            return None
        folder, prefix = parts
        listing = self.listings.get((self.where, folder))
        if listing is None or not prefix:
            return None
        found = matches(listing["entries"], prefix)
        return completion(folder, found[0]) if found else None

    def show(self, found: list[dict[str, Any]], folder: str) -> None:
        """Fill the completions list (hidden when empty) and say how many there are."""
        self.choices.clear_options()
        options = []
        for entry in found[:MAX_SHOWN]:
            name = sanitize_terminal_text(str(entry["name"]))
            label = f"{name}/" if entry["is_dir"] else name
            options.append(Option(label, id=completion(folder, entry)))
        self.choices.add_options(options)
        self.choices.set_class(bool(options) and self._focus_inside(), "-shown")
        if folder:
            listing = self.listings.get((self.where, folder), {})
            more = " (the folder holds more than were listed)" if listing.get("truncated") else ""
            count = f"{len(found)} completion(s)" if found else "nothing here matches"
            self.say(f"{count}: ↓ to pick, → takes the first{more}" if found else count + more)

    # -- keys and focus -----------------------------------------------------------------------

    def action_choices(self) -> None:
        """Into the completions list."""
        if self.choices.option_count and self.input.has_focus:
            self.choices.add_class("-shown")
            self.choices.can_focus = True
            self.choices.focus()
            self.choices.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Take a completion: into the field, cursor at its end, listing the next folder."""
        event.stop()
        value = event.option.id or ""
        self.input.value = value
        self.input.cursor_position = len(value)
        self.input.focus()

    def _focus_inside(self) -> bool:
        focused = self.app.focused
        return focused is not None and (focused is self or self in focused.ancestors)

    def on_descendant_focus(self, _event: DescendantFocus) -> None:
        """Show the completions while the field is used."""
        for choices in self.query(PathChoices):
            choices.set_class(choices.option_count > 0, "-shown")

    def on_descendant_blur(self, _event: DescendantBlur) -> None:
        """Hide them once the focus has left the field."""
        self.call_after_refresh(self._hide_unless_focused)

    def _hide_unless_focused(self) -> None:
        if not self._focus_inside():
            self.query(PathChoices).remove_class("-shown")  # none once the screen is gone
