"""`?`: every key the current view answers to, with what it does and its id (for remapping).

Keys changed by the user's keymap.toml are shown as they are now, marked `(remapped)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


@dataclass(frozen=True)
class HelpEntry:
    """One action: its keys, what it does, its binding id (empty if it has none), and whether
    the user's keymap changed its keys."""

    keys: str
    description: str
    binding_id: str
    remapped: bool = False


def bindings_of(screen: Screen) -> list[HelpEntry]:
    """The active bindings of `screen` (focused widget, screen and app), one entry per action."""
    grouped: dict[object, tuple[int, list[str], str, str]] = {}
    keymap = getattr(screen.app, "user_keymap", {})
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.system:
            continue
        # gpustack-tui's own keys (they have ids) first, then Textual's, the focused widget last.
        rank = 0 if binding.id else 1 if active.node in (screen, screen.app) else 2
        # One line per binding id (the same action may be bound by the view and the app).
        group = binding.id or (id(active.node), binding.action)
        _, keys, _, _ = grouped.setdefault(
            group,
            (rank, [], binding.description or _humanize(binding.action), binding.id or ""),
        )
        shown = screen.app.get_key_display(Binding(key, binding.action))
        if shown not in keys:
            keys.append(shown)
    ordered = sorted(grouped.values(), key=lambda entry: entry[0])
    return [HelpEntry(" / ".join(keys), desc, bid, bid in keymap) for _, keys, desc, bid in ordered]


def _humanize(action: str) -> str:
    name = action.split(".")[-1].split("(")[0]
    return name.replace("_", " ").capitalize()


class HelpScreen(ModalScreen[None]):
    """A table of keys for the view it was opened from; `escape`, `q` or `?` closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > Vertical {
        width: 100%;
        max-width: 84;
        height: 80%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen .title {
        text-style: bold;
        padding: 1 0;
    }
    HelpScreen DataTable {
        height: 1fr;
    }
    """

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="back")]

    def __init__(self, view: str, entries: list[HelpEntry]) -> None:
        super().__init__()
        self.view = view
        self.entries = entries

    def compose(self) -> ComposeResult:
        """Title and the keys table."""
        with Vertical():
            yield Static(f"Keys: {self.view}   (escape closes)", classes="title", markup=False)
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        """Fill the table."""
        table = self.query_one(DataTable)
        table.add_columns("KEYS", "ACTION", "ID")
        for entry in self.entries:
            keys = f"{entry.keys} (remapped)" if entry.remapped else entry.keys
            table.add_row(keys, entry.description, entry.binding_id)
        table.focus()

    def action_close(self) -> None:
        """Back to the view."""
        self.dismiss(None)
