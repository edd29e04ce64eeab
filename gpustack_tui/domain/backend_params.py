"""Backend parameters as users write them, flattened once into argv tokens.

Three formats are accepted, item by item, and may be mixed:
- `--flag=value`
- `--flag value` (split like a shell: quotes group words, JSON after `=` stays whole, a trailing
  backslash continues the line)
- the name and the value as two items: `["--flag", "value"]`
An item that does not start with a flag (a value, JSON, a path, `-0.5`) is one token as it is.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

# Flags the server sets itself on built-in backends; a user value would break routing or auth.
SERVER_OWNED = ("--port", "--host", "--served-model-name", "--api-key")
_JSON_START = re.compile(r"=(?=[\[{])")


class BackendParameterError(ValueError):
    """A backend parameter that cannot be used; the message names the item."""


def is_flag(token: str) -> bool:
    """`--x`, `-x` (not `--` alone, not a negative number)."""
    if not token.startswith("-") or token == "--" or len(token) < 2:
        return False
    try:
        float(token)
    except ValueError:
        return True
    return False


def _mask_json(item: str) -> tuple[str, list[str]]:
    """Replace each JSON value after `=` by a placeholder so that shlex keeps it whole."""
    masked: list[str] = []
    out = []
    position = 0
    for match in _JSON_START.finditer(item):
        start = match.end()
        if start < position:
            continue
        end = _json_end(item, start)
        if end is None:
            continue
        out.append(item[position:start])
        out.append(f"\0{len(masked)}\0")
        masked.append(item[start:end])
        position = end
    out.append(item[position:])
    return "".join(out), masked


def _json_end(text: str, start: int) -> int | None:
    """Index after the JSON object or array starting at `start` (string-aware), or None."""
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _split_item(item: str) -> list[str]:
    """Split one item that starts with a flag, keeping JSON values whole."""
    text = item.replace("\\\n", " ").strip()
    text = text.removesuffix("\\").rstrip()
    masked, values = _mask_json(text)
    try:
        tokens = shlex.split(masked)
    except ValueError as exc:
        raise BackendParameterError(
            f"backend parameter {item!r}: {exc} (check its quotes)"
        ) from exc
    restored = []
    for token in tokens:
        for number, value in enumerate(values):
            token = token.replace(f"\0{number}\0", value)
        restored.append(token)
    return restored


def flatten(items: Iterable[str]) -> list[str]:
    """The argv tokens of `items`, in order."""
    tokens: list[str] = []
    for item in items:
        stripped = item.strip()
        if not stripped:
            continue
        first = stripped.split(None, 1)[0]
        if is_flag(first.split("=", 1)[0]):
            tokens.extend(_split_item(stripped))
        else:
            tokens.append(item)
    return tokens


def flag_names(tokens: Iterable[str]) -> set[str]:
    """The flags present in `tokens`, without their `=value`."""
    return {t.split("=", 1)[0] for t in tokens if is_flag(t.split("=", 1)[0])}


def validate_for_backend(items: list[str], builtin: bool) -> list[str]:
    """Flatten and refuse, on built-in backends, the flags the server must own."""
    tokens = flatten(items)
    if builtin:
        for item in items:
            owned = flag_names(flatten([item])) & set(SERVER_OWNED)
            if owned:
                raise BackendParameterError(
                    f"backend parameter {item!r}: {', '.join(sorted(owned))} is set by "
                    "gpustack-tui (it routes requests to the instance); remove it"
                )
    return tokens


def to_format(tokens: list[str], style: str) -> list[str]:
    """`equal`: `--k v` -> `--k=v`; `space`: `--k=v` -> `--k v`. Values that are several tokens
    stay in space form; single-dash keys keep their single dash."""
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        key, eq, value = token.partition("=")
        if style == "space" and eq and is_flag(key):
            out += [key, value]
        elif (
            style == "equal"
            and not eq
            and is_flag(token)
            and index + 1 < len(tokens)
            and not is_flag(tokens[index + 1])
            and (index + 2 >= len(tokens) or is_flag(tokens[index + 2]))
        ):
            out.append(f"{token}={tokens[index + 1]}")
            index += 1
        else:
            out.append(token)
        index += 1
    return out


def value_of(tokens: list[str], *names: str) -> str | None:
    """The value of the first of `names` present (`--k v` or `--k=v`), else None."""
    for index, token in enumerate(tokens):
        key, eq, value = token.partition("=")
        if key in names:
            if eq:
                return value
            if index + 1 < len(tokens) and not is_flag(tokens[index + 1]):
                return tokens[index + 1]
            return ""
    return None
