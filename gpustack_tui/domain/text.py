"""Making text from workers safe to show in a terminal."""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte escapes, and the 8-bit C1 forms.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|[\x80-\x9f]"
)
# Control characters but tab and newline (a carriage return would let one line overwrite another).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def sanitize_terminal_text(text: str) -> str:
    """Remove escape sequences and control characters, keeping tabs and newlines.

    Log text comes from programs we do not control; without this a line could move the cursor,
    retitle the window or write to the clipboard of the operator's terminal.
    """
    return _CONTROLS.sub("", _ESCAPES.sub("", text))
