"""Edits a worker's labels as `key=value` pairs; deployments select workers by them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


def parse_labels(text: str) -> dict[str, str]:
    """`gpu=a100 zone=b` (spaces or commas between pairs) -> dict; ValueError naming the item."""
    labels: dict[str, str] = {}
    for item in text.replace(",", " ").split():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{item!r} must look like key=value")
        labels[key] = value
    return labels


def format_labels(labels: dict[str, str]) -> str:
    """The inverse of parse_labels, sorted."""
    return " ".join(f"{k}={v}" for k, v in sorted(labels.items()))


class LabelsModal(ModalScreen[dict[str, str] | None]):
    """Dismisses with the new labels, or None when cancelled."""

    DEFAULT_CSS = """
    LabelsModal {
        align: center middle;
    }
    LabelsModal > Vertical {
        width: 72;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    LabelsModal #labels-error {
        color: $error;
        height: auto;
    }
    LabelsModal Horizontal {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    LabelsModal Button {
        margin-left: 2;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="back")]

    def __init__(self, worker: str, labels: dict[str, str]) -> None:
        super().__init__()
        self.worker = worker
        self.labels = labels

    def compose(self) -> ComposeResult:
        """The pairs, the error, the buttons."""
        with Vertical():
            yield Label(f"Labels of {self.worker}:", markup=False)
            yield Input(format_labels(self.labels), id="labels", placeholder="gpu=a100 zone=b")
            yield Static("", id="labels-error")
            yield Static(
                "key=value pairs separated by spaces; empty removes every label. "
                "A deployment's worker selector must match all of its pairs.",
                classes="hint",
            )
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        """Focus the pairs."""
        self.query_one("#labels", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter saves."""
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save or cancel."""
        event.stop()
        if event.button.id == "save":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        try:
            labels = parse_labels(self.query_one("#labels", Input).value)
        except ValueError as exc:
            self.query_one("#labels-error", Static).update(str(exc))
            return
        self.dismiss(labels)

    def action_cancel(self) -> None:
        """Leave without saving."""
        self.dismiss(None)
