"""The user's keymap (`keymap.toml`) and TUI settings (`tui.toml`), checked before use.

Every binding of gpustack-tui has an id (`?` lists them). `keymap.toml` in the config folder
maps ids to keys::

    "deployments.delete" = "ctrl+x"
    "deployments.describe" = ["d", "i"]

An unknown id, a key that would clash with another key of the same view, or a file that does not
parse is reported (the status line shows it at start) and left out: the app always starts, with
the default key for anything not remapped. `tui.toml` holds `theme = "nord"` (Textual's built-in
themes).
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import _character_to_key
from textual.screen import Screen
from textual.theme import BUILTIN_THEMES

from gpustack_tui.tui.screens.base import ServerScreen

if TYPE_CHECKING:
    from gpustack_tui.tui.screen_registry import KeymapOwners

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover  (the same parser, as a package)
    import tomli as tomllib

KEYMAP_FILE = "keymap.toml"
SETTINGS_FILE = "tui.toml"

# Keys a terminal multiplexer takes before the app sees them (tmux and screen prefixes).
_MULTIPLEXER_KEYS = {"ctrl+a": "screen", "ctrl+b": "tmux"}
_F_KEY = re.compile(r"^f\d{1,2}$")


@dataclass
class TuiSettings:
    """What the config folder asks for: a keymap (id -> comma-separated keys), a theme, and a
    sentence for every entry that was left out or looks wrong."""

    keymap: dict[str, str] = field(default_factory=dict)
    theme: str | None = None
    problems: list[str] = field(default_factory=list)


def normalize_key(key: str) -> str:
    """A key as Textual names it: `?` -> `question_mark`, `ctrl+x` unchanged."""
    key = key.strip()
    return _character_to_key(key) if len(key) == 1 else key


def _merged(cls: type[DOMNode]) -> list[Binding]:
    """The bindings `cls` answers to, its base classes' included (one Binding per key)."""
    merged = cls._merge_bindings()  # Textual's own merge, so inheritance rules match
    return [b for bindings in merged.key_to_bindings.values() for b in bindings if not b.system]


def binding_scopes(owners: KeymapOwners) -> dict[str, list[Binding]]:
    """Per owner class name, every binding active together in it: a screen's own and the
    app's, and for the server views the table's (it has the focus there)."""
    from_app = _merged(owners.app)
    from_table = _merged(owners.table)
    scopes: dict[str, list[Binding]] = {}
    for cls in owners.all():
        own = _merged(cls)
        if not any(b.id for b in own):
            continue
        if issubclass(cls, ServerScreen):
            own = own + from_app + from_table
        elif issubclass(cls, Screen):
            own = own + from_app
        scopes[cls.__name__] = own
    return scopes


def known_ids(scopes: Mapping[str, list[Binding]]) -> set[str]:
    """Every binding id a keymap may name."""
    return {b.id for bindings in scopes.values() for b in bindings if b.id}


def _keys_of(value: object) -> list[str] | None:
    """`"x"`, `"x,y"` or `["x", "y"]` as normalized keys; None when not keys at all."""
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = [p for v in value for p in v.split(",")]
    else:
        return None
    keys = [normalize_key(p) for p in parts]
    if not keys or any(not k or " " in k for k in keys):
        return None
    return keys


def _suggest(binding_id: str, ids: set[str]) -> str | None:
    """The id the user probably meant: a near name in the same view (`deployments.delet`), or
    a near id when the view part itself is misspelt."""
    view, _, name = binding_id.rpartition(".")
    same_view = {i.rpartition(".")[2]: i for i in ids if i.rpartition(".")[0] == view}
    if same_view:
        near = difflib.get_close_matches(name, sorted(same_view), n=1, cutoff=0.75)
        return same_view[near[0]] if near else None
    near = difflib.get_close_matches(binding_id, sorted(ids), n=1, cutoff=0.8)
    return near[0] if near else None


def check_keymap(
    raw: Mapping[str, object], scopes: Mapping[str, list[Binding]]
) -> tuple[dict[str, str], list[str]]:
    """The usable part of `raw` (id -> keys) and a sentence per entry left out or doubtful;
    `scopes` are `binding_scopes` of the app's keymap owners."""
    ids = known_ids(scopes)
    problems: list[str] = []
    wanted: dict[str, list[str]] = {}
    for binding_id, value in raw.items():
        if binding_id not in ids:
            near = _suggest(binding_id, ids)
            hint = f" (did you mean {near}?)" if near else " (? lists the ids)"
            problems.append(f"{KEYMAP_FILE}: unknown binding id {binding_id!r}{hint}")
            continue
        keys = _keys_of(value)
        if keys is None:
            problems.append(
                f"{KEYMAP_FILE}: {binding_id} = {value!r} is not a key: write e.g. "
                '"ctrl+x" or ["d", "i"]'
            )
            continue
        wanted[binding_id] = keys
    clashing = _clashes(wanted, scopes)
    for binding_id, text in clashing.items():
        problems.append(f"{KEYMAP_FILE}: {binding_id} kept its default key: {text}")
    keymap = {i: ",".join(k) for i, k in wanted.items() if i not in clashing}
    for binding_id, joined in keymap.items():
        for key in joined.split(","):
            if key in _MULTIPLEXER_KEYS:
                problems.append(
                    f"{KEYMAP_FILE}: {binding_id} = {key} never arrives under "
                    f"{_MULTIPLEXER_KEYS[key]} (its prefix key)"
                )
            elif _F_KEY.match(key):
                problems.append(f"{KEYMAP_FILE}: {binding_id} = {key}: some keyboards lack F-keys")
    return keymap, problems


def _clashes(
    wanted: Mapping[str, list[str]], scopes: Mapping[str, list[Binding]]
) -> dict[str, str]:
    """Remapped ids whose new key another action of the same view already has."""
    found: dict[str, str] = {}
    for scope, bindings in scopes.items():
        holders: dict[str, set[tuple[str, str]]] = {}
        for binding in bindings:
            keys = wanted.get(binding.id, [binding.key]) if binding.id else [binding.key]
            who = (binding.id or f"{scope}:{binding.action}", binding.description or binding.action)
            for key in keys:
                holders.setdefault(key, set()).add(who)
        for binding_id, keys in wanted.items():
            for key in keys:
                others = {desc for who, desc in holders.get(key, set()) if who != binding_id}
                if binding_id in {who for who, _ in holders.get(key, set())} and others:
                    found.setdefault(
                        binding_id,
                        f"{key} is already {', '.join(sorted(others))} in {scope}",
                    )
    return found


def _read_toml(path: Path, problems: list[str]) -> dict[str, object]:
    """The file's table; {} when absent, and a problem when unreadable or malformed."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path.name} ignored: {exc}")
        return {}


def load_settings(keymap_file: Path, settings_file: Path, owners: KeymapOwners) -> TuiSettings:
    """Read the keymap and settings files (`Paths.keymap_file`, `Paths.tui_settings_file`) for
    an app whose remappable bindings belong to `owners`; never raises for their content."""
    settings = TuiSettings()
    raw_keymap = _read_toml(keymap_file, settings.problems)
    if raw_keymap:
        settings.keymap, problems = check_keymap(raw_keymap, binding_scopes(owners))
        settings.problems += problems
    raw = _read_toml(settings_file, settings.problems)
    for name, value in raw.items():
        if name != "theme":
            settings.problems.append(f"{SETTINGS_FILE}: unknown setting {name!r} (known: theme)")
        elif not isinstance(value, str) or value not in BUILTIN_THEMES:
            choices = ", ".join(sorted(BUILTIN_THEMES))
            settings.problems.append(f"{SETTINGS_FILE}: unknown theme {value!r}; one of {choices}")
        else:
            settings.theme = value
    return settings
