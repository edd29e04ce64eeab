"""The footer every screen shows: its keys, `:` Jump among them."""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's footer without its right-hand command-palette key: the app's own `:` binding
    already names the palette (as Jump), and showing it twice wasted a slot at 80 columns."""

    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact, show_command_palette=False)
