"""Asks where a new worker is: an SSH destination, an optional name and identity file."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


@dataclass(frozen=True)
class AddWorkerRequest:
    """What the operator typed; empty optional fields become None."""

    destination: str
    name: str | None = None
    identity_file: str | None = None


class AddWorkerModal(ModalScreen[AddWorkerRequest | None]):
    """Dismisses with the request, or None when cancelled. Reopened with the last request and
    the server's error when adding failed, so nothing has to be typed again."""

    DEFAULT_CSS = """
    AddWorkerModal {
        align: center middle;
    }
    AddWorkerModal > Vertical {
        width: 76;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    AddWorkerModal .title {
        text-style: bold;
    }
    AddWorkerModal Label {
        margin-top: 1;
    }
    AddWorkerModal .error {
        color: $error;
        height: auto;
    }
    AddWorkerModal .hint {
        color: $text-muted;
    }
    AddWorkerModal Horizontal {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    AddWorkerModal Button {
        margin-left: 2;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="back"),
        Binding("ctrl+s", "submit", "Add", id="form.submit"),
    ]

    def __init__(self, initial: AddWorkerRequest | None = None, error: str = "") -> None:
        super().__init__()
        self.initial = initial or AddWorkerRequest("")
        self.error = error

    def compose(self) -> ComposeResult:
        """Three fields and the buttons."""
        with Vertical():
            yield Static("Add a worker (reached over SSH)", classes="title")
            yield Static(self.error, id="add-error", classes="error", markup=False)
            yield Label("Destination")
            yield Input(
                self.initial.destination,
                id="destination",
                placeholder="user@host, user@host:port, or a Host alias from ~/.ssh/config",
            )
            yield Static("", id="destination-error", classes="error")
            yield Label("Name (optional)")
            yield Input(self.initial.name or "", id="name", placeholder="defaults to the host name")
            yield Label("Identity file (optional)")
            yield Input(
                self.initial.identity_file or "",
                id="identity_file",
                placeholder="~/.ssh/id_ed25519; empty: your SSH agent and ~/.ssh/config",
            )
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Add", id="add", variant="primary")

    def on_mount(self) -> None:
        """Start in the destination field."""
        self.query_one("#destination", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on, and adds from the last field."""
        event.stop()
        if event.input.id == "identity_file":
            self.action_submit()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Add or cancel."""
        event.stop()
        if event.button.id == "add":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        """Dismiss with the request if a destination was given."""
        destination = self.query_one("#destination", Input).value.strip()
        if not destination:
            self.query_one("#destination-error", Static).update(
                "give an SSH destination, e.g. root@10.0.0.12"
            )
            self.query_one("#destination", Input).focus()
            return
        name = self.query_one("#name", Input).value.strip() or None
        identity = self.query_one("#identity_file", Input).value.strip() or None
        self.dismiss(AddWorkerRequest(destination, name, identity))

    def action_cancel(self) -> None:
        """Leave without adding."""
        self.dismiss(None)
