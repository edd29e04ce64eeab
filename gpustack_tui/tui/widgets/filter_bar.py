"""The `/` filter line of a table view: hidden until opened, filters as you type.

Enter keeps the filter and hands the keys back to the table; `escape` clears it and closes the
line. The view listens to `FilterBar.Applied` (every change) and `FilterBar.Done`.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    """A one-line filter field (`!term` inverts: the view decides what that means)."""

    DEFAULT_CSS = """
    FilterBar {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    FilterBar.-open {
        display: block;
    }
    FilterBar:focus {
        border: none;
        background: $accent 20%;
    }
    """

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", id="filter.clear")]

    class Applied(Message):
        """The filter text changed (possibly to empty)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Done(Message):
        """The user finished with the line (Enter or escape); the view takes the focus back."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="filter: name, backend, worker, state, reason (!term hides matches)",
            id=id,
            compact=True,
            select_on_focus=False,
        )

    def open(self) -> None:
        """Show the line and focus it, keeping any text already there."""
        self.add_class("-open")
        self.focus()
        self.cursor_position = len(self.value)

    def close(self) -> None:
        """Hide the line when it is empty; a kept filter stays visible."""
        if not self.value:
            self.remove_class("-open")

    def on_input_changed(self, event: Input.Changed) -> None:
        """Re-filter on every keystroke."""
        event.stop()
        self.post_message(self.Applied(self.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: keep the filter, back to the table."""
        event.stop()
        self.close()
        self.post_message(self.Done())

    def action_clear_filter(self) -> None:
        """Escape: no filter, line closed, back to the table."""
        self.value = ""
        self.remove_class("-open")
        self.post_message(self.Applied(""))
        self.post_message(self.Done())
