"""Asks for a deployment's new replica count, validated as you type."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Button, Input, Label, Static

MAX_REPLICAS = 64


class ScaleModal(ModalScreen[int | None]):
    """Dismisses with the new replica count, or None when cancelled."""

    DEFAULT_CSS = """
    ScaleModal {
        align: center middle;
    }
    ScaleModal > Vertical {
        width: 56;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    ScaleModal #scale-error {
        color: $error;
        height: auto;
    }
    ScaleModal Horizontal {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ScaleModal Button {
        margin-left: 2;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="back")]

    def __init__(self, deployment: str, current: int) -> None:
        super().__init__()
        self.deployment = deployment
        self.current = current

    def compose(self) -> ComposeResult:
        """The question, the number, the error, the buttons."""
        with Vertical():
            yield Label(f"Scale {self.deployment} (now {self.current} replicas) to:", markup=False)
            yield Input(
                str(self.current),
                type="integer",
                id="replicas",
                validators=[Integer(minimum=0, maximum=MAX_REPLICAS)],
                validate_on=["changed", "submitted"],
            )
            yield Static("", id="scale-error")
            yield Static("0 stops every instance and keeps the deployment.", classes="hint")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Scale", id="scale", variant="primary")

    def on_mount(self) -> None:
        """Focus the number with its text selected, ready to be replaced."""
        field = self.query_one("#replicas", Input)
        field.focus()
        field.select_all()

    def _show_error(self, failures: list[str]) -> None:
        text = f"enter a whole number from 0 to {MAX_REPLICAS}" if failures else ""
        self.query_one("#scale-error", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        """Say at once when the number is not acceptable."""
        result = event.validation_result
        self._show_error(result.failure_descriptions if result and not result.is_valid else [])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter scales when the number is valid."""
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Scale or cancel."""
        event.stop()
        if event.button.id == "scale":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        field = self.query_one("#replicas", Input)
        result = field.validate(field.value)
        if not field.value.strip() or (result is not None and not result.is_valid):
            self._show_error(["invalid"])
            field.focus()
            return
        self.dismiss(int(field.value))

    def action_cancel(self) -> None:
        """Leave without scaling."""
        self.dismiss(None)
