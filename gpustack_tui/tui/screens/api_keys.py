"""API keys for the inference routes: list, create (the key is shown once), revoke."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from gpustack_tui.domain.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyInfo
from gpustack_tui.tui.messages import RequestDone
from gpustack_tui.tui.presentation import one_line
from gpustack_tui.tui.screens.base import ServerScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.widgets.key_footer import KeyFooter
from gpustack_tui.tui.widgets.keyed_table import KeyedTable, TableRow
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

KEY_COLUMNS = (
    ("name", "NAME"),
    ("state", "STATE"),
    ("scope", "SCOPE"),
    ("created", "CREATED"),
    ("expires", "EXPIRES"),
    ("used", "LAST USED"),
)

_MODAL_CSS = """
{name} {{
    align: center middle;
}}
{name} > Vertical {{
    width: 84;
    height: auto;
    border: thick $accent;
    background: $surface;
    padding: 1 2;
}}
{name} .error {{
    color: $error;
    height: auto;
}}
{name} Horizontal {{
    height: auto;
    margin-top: 1;
    align-horizontal: right;
}}
{name} Button {{
    margin-left: 2;
}}
"""


def _when(at: float | None) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M") if at else "-"


def key_rows(keys: list[ApiKeyInfo], now: float) -> list[TableRow]:
    """One row per key, active ones first, then by name."""
    order = sorted(keys, key=lambda k: (k.state(now) != "active", k.name))
    return [
        TableRow(
            f"key:{k.name}",
            (
                one_line(k.name),
                k.state(now),
                one_line(", ".join(k.deployments)) if k.deployments is not None else "all",
                _when(k.created_at),
                _when(k.expires_at),
                _when(k.last_used_at),
            ),
        )
        for k in order
    ]


@dataclass(frozen=True)
class NewKey:
    """What the create form asks for."""

    name: str
    deployments: list[str] | None
    expires_in_days: float | None


def parse_new_key(name: str, deployments: str, days: str) -> NewKey:
    """The form's fields, checked as the server will; ValueError saying what to fix."""
    scope = [d for d in deployments.replace(",", " ").split() if d] or None
    try:
        expiry = float(days) if days.strip() else None
    except ValueError:
        raise ValueError("expires in: a number of days, or empty for never") from None
    try:
        checked = ApiKeyCreate(name=name.strip(), deployments=scope, expires_in_days=expiry)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "key"
        raise ValueError(f"{field}: {str(first['msg']).removeprefix('Value error, ')}") from None
    return NewKey(checked.name, checked.deployments, checked.expires_in_days)


class CreateKeyModal(ModalScreen[NewKey | None]):
    """Name, scope and expiry of a new key; dismisses with them, or None when cancelled."""

    DEFAULT_CSS = _MODAL_CSS.format(name="CreateKeyModal")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="back")]

    def compose(self) -> ComposeResult:
        """The three fields, the error line, the buttons."""
        with Vertical():
            yield Label("New API key")
            yield Input(id="key-name", placeholder="name, e.g. chat-app")
            yield Input(id="key-scope", placeholder="deployments (space separated; empty: all)")
            yield Input(id="key-days", placeholder="expires in days (empty: never)")
            yield Static("", id="key-error", classes="error", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Create", id="create", variant="primary")

    def on_mount(self) -> None:
        """Focus the name."""
        self.query_one("#key-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter creates."""
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Create or cancel."""
        event.stop()
        if event.button.id == "create":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        values = [self.query_one(f"#key-{f}", Input).value for f in ("name", "scope", "days")]
        try:
            self.dismiss(parse_new_key(*values))
        except ValueError as exc:
            self.query_one("#key-error", Static).update(str(exc))

    def action_cancel(self) -> None:
        """Leave without creating."""
        self.dismiss(None)


class ShownOnceModal(ModalScreen[None]):
    """The new key, shown this once, selectable for copying."""

    DEFAULT_CSS = _MODAL_CSS.format(name="ShownOnceModal")
    BINDINGS = [Binding("escape", "close", "Close", id="back")]

    def __init__(self, created: ApiKeyCreated) -> None:
        super().__init__()
        self.created = created

    def compose(self) -> ComposeResult:
        """The key in a read-only field, and how to use it."""
        with Vertical():
            yield Label(f"API key {one_line(self.created.name)} created", markup=False)
            yield Input(self.created.key, id="new-key")
            yield Static(
                "Copy it now: it is not shown again (the server keeps only a hash). "
                "Applications send it as `Authorization: Bearer <key>`.",
                markup=False,
            )
            with Horizontal():
                yield Button("Done", id="done", variant="primary")

    def on_mount(self) -> None:
        """Select the key so that it can be copied at once."""
        field = self.query_one("#new-key", Input)
        field.focus()
        field.select_all()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Read-only: typing puts the key back."""
        if event.value != self.created.key:
            event.input.value = self.created.key

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close."""
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        """Close."""
        self.dismiss(None)


class ApiKeysScreen(ServerScreen):
    """The keys table; `n` creates a key, `d` revokes the selected one, `u` shows usage."""

    BINDINGS = [
        Binding("n", "create", "New key", id="keys.create"),
        Binding("d,ctrl+d", "revoke", "Revoke", id="keys.revoke"),
        Binding("u", "usage", "Usage", id="keys.usage"),
        Binding("r", "refresh", "Refresh", id="keys.refresh"),
        Binding("escape", "back", "Back", id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.keys_by_name: dict[str, ApiKeyInfo] = {}

    def compose(self) -> ComposeResult:
        """Title, table, status line, key hints."""
        yield TitleBar("API keys", self.client.base_url)
        yield KeyedTable(KEY_COLUMNS, flex="used", id="keys")
        yield StatusLine(id="status")
        yield KeyFooter()

    @property
    def table(self) -> KeyedTable:
        """The keys table."""
        return self.query_one("#keys", KeyedTable)

    def fetch(self) -> list[ApiKeyInfo]:
        """Every key (thread)."""
        return self.client.list_keys()

    def show_data(self, data: list[ApiKeyInfo]) -> None:
        """Update the rows in place."""
        self.keys_by_name = {k.name: k for k in data}
        self.table.sync(key_rows(data, time.time()))
        self.query_one(TitleBar).set_view(f"API keys[{len(data)}]")
        if not data and not self.failing and not self.status.message:
            self.status.show("no API keys yet: press n to create one for an application")

    def selected(self) -> ApiKeyInfo | None:
        """The key under the cursor."""
        key = self.table.cursor_key
        return self.keys_by_name.get(key.removeprefix("key:")) if key else None

    def action_usage(self) -> None:
        """Requests, errors, latency and tokens per deployment and per key."""
        self.gs_app.open_screen("usage")

    def action_create(self) -> None:
        """Ask for the new key's name, scope and expiry, then create it."""

        def answered(new: NewKey | None) -> None:
            if new is not None:
                self.request(
                    f"creating key {new.name}",
                    lambda: self.client.create_key(new.name, new.deployments, new.expires_in_days),
                    lambda created: f"created key {created.name}",
                )

        self.app.push_screen(CreateKeyModal(), answered)

    def request_succeeded(self, message: RequestDone) -> None:
        """A new key is shown once, in its own window."""
        super().request_succeeded(message)
        if isinstance(message.result, ApiKeyCreated):
            self.app.push_screen(ShownOnceModal(message.result))

    def action_revoke(self) -> None:
        """Revoke the selected key, after confirmation."""
        key = self.selected()
        if key is None:
            self.status.error("no key selected: press n to create one")
            return
        name = key.name

        def answered(yes: bool | None) -> None:
            if yes:
                self.request(
                    f"revoking key {name}",
                    lambda: self.client.revoke_key(name),
                    f"revoked key {name}",
                )

        self.app.push_screen(
            ConfirmModal(
                f"Revoke key {name}?",
                "Applications that use it are refused from now on. This cannot be undone: "
                "create a new key to let them in again.",
                confirm_label="Revoke",
            ),
            answered,
        )
