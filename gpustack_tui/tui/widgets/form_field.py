"""Building blocks of forms: a labelled field row with hint and error, and a radio choice."""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, RadioButton, RadioSet, Static

Choice = tuple[str, str, str]
"""(key, label, reason it is disabled or "")."""


def form_field(field_id: str, label: str, widget: Widget, hint: str = "") -> Horizontal:
    """A row: the label on the left; the widget, its hint and its error on the right.

    The hint is `#<field_id>-hint` (it also carries why a field is disabled) and the error
    `#<field_id>-error`; the row is `#field-<field_id>` and gets `-invalid` while in error."""
    note = Static(hint, id=f"{field_id}-hint", classes="hint", markup=False)
    note.display = bool(hint)
    parts: list[Widget] = [
        widget,
        note,
        Static("", id=f"{field_id}-error", classes="field-error", markup=False),
    ]
    return Horizontal(Label(label), Vertical(*parts), id=f"field-{field_id}", classes="field")


def choices(set_id: str, options: tuple[Choice, ...], selected: str = "") -> RadioSet:
    """A compact radio set `#<set_id>` with buttons `#<set_id>-<key>`; a choice with a reason
    is disabled and shows the reason; `selected` (default: the first) is pressed."""
    chosen = selected or options[0][0]
    buttons = [
        RadioButton(
            f"{label} ({reason})" if reason else label,
            value=key == chosen,
            id=f"{set_id}-{key}",
            disabled=bool(reason),
        )
        for key, label, reason in options
    ]
    return RadioSet(*buttons, id=set_id, compact=True)


def chosen(radio_set: RadioSet, default: str) -> str:
    """The key of the pressed button of a set made by `choices`."""
    pressed = radio_set.pressed_button
    if pressed is None or not pressed.id:
        return default
    return pressed.id.removeprefix(f"{radio_set.id}-")
