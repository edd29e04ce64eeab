"""A confirmation that needs the thing's name typed before the destructive button works.

Used when deleting a deployment that still serves: a stray `y` or Enter must not take down
running instances. Focus starts on Cancel (as in every confirmation); typing any character goes
into the name field, so the user can type the name at once.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class TypeToConfirmModal(ModalScreen[bool]):
    """Dismisses True only after `expected` was typed exactly and the confirm button (or Enter
    in the field) was used; False on Cancel or `escape`."""

    DEFAULT_CSS = """
    TypeToConfirmModal {
        align: center middle;
    }
    TypeToConfirmModal > Vertical {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $error;
        background: $surface;
        padding: 1 2;
    }
    TypeToConfirmModal .title {
        text-style: bold;
        margin-bottom: 1;
    }
    TypeToConfirmModal .hint {
        color: $text-muted;
        margin-top: 1;
    }
    TypeToConfirmModal Horizontal {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    TypeToConfirmModal Button {
        margin-left: 2;
    }
    """

    BINDINGS = [Binding("escape", "answer(False)", "Cancel", id="confirm.no")]

    def __init__(self, title: str, body: str, expected: str, confirm_label: str = "Delete") -> None:
        super().__init__()
        self.title_text = title
        self.body_text = body
        self.expected = expected
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        """Title, body, the name field, then [Cancel] [confirm] (disabled)."""
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            if self.body_text:
                yield Static(self.body_text, classes="body", markup=False)
            yield Static(
                f"Type {self.expected} to enable {self.confirm_label}; escape cancels.",
                classes="hint",
                markup=False,
            )
            yield Input(placeholder=self.expected, id="typed", select_on_focus=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error", disabled=True)

    def on_mount(self) -> None:
        """Start on Cancel so a stray Enter does no harm."""
        self.query_one("#cancel", Button).focus()

    @property
    def typed_matches(self) -> bool:
        """Whether the field holds exactly the expected name."""
        return self.query_one("#typed", Input).value == self.expected

    def on_key(self, event: events.Key) -> None:
        """A character typed while a button has focus goes into the name field."""
        typed = self.query_one("#typed", Input)
        if self.focused is typed or not event.is_printable or not (event.character or "").strip():
            return
        event.stop()
        event.prevent_default()
        typed.focus()
        typed.insert_text_at_cursor(event.character or "")

    def on_input_changed(self, event: Input.Changed) -> None:
        """Enable the confirm button only for the exact name."""
        event.stop()
        self.query_one("#confirm", Button).disabled = not self.typed_matches

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the field confirms when the name is right, and otherwise says what is."""
        event.stop()
        if self.typed_matches:
            self.dismiss(True)
        else:
            self.notify(
                f"type {self.expected} exactly to confirm", severity="warning", markup=False
            )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the button that was pressed."""
        event.stop()
        self.dismiss(event.button.id == "confirm" and self.typed_matches)

    def action_answer(self, yes: bool) -> None:
        """Answer from a key."""
        self.dismiss(yes)
