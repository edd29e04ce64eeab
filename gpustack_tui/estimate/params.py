"""Reading the backend parameters the estimate cares about (no I/O).

Parameters come as a list in any of the three forms users write: `--max-model-len=4096`,
`--max-model-len 4096` (one item), or `--max-model-len`, `4096` (two items). Underscores and
dashes in names are the same to the backends, so they are the same here.
"""

from __future__ import annotations

from collections.abc import Sequence


def _norm(name: str) -> str:
    return "--" + name.lstrip("-").replace("_", "-")


def parse_parameters(parameters: Sequence[str]) -> dict[str, str]:
    """`--name` -> value ('' for a bare flag); the last occurrence wins."""
    result: dict[str, str] = {}
    items = [p.strip() for p in parameters if p and p.strip()]
    i = 0
    while i < len(items):
        item = items[i]
        if not item.startswith("-"):
            i += 1
            continue
        if "=" in item:
            name, _, value = item.partition("=")
        elif " " in item:
            name, _, value = item.partition(" ")
        elif i + 1 < len(items) and not items[i + 1].startswith("--"):
            name, value = item, items[i + 1]
            i += 1
        else:
            name, value = item, ""
        result[_norm(name)] = value.strip()
        i += 1
    return result


class BackendParameters:
    """Typed look-ups over parsed parameters; a malformed number raises ValueError that names
    the parameter."""

    def __init__(self, parameters: Sequence[str] = ()) -> None:
        self.values = parse_parameters(parameters)

    def has(self, *names: str) -> bool:
        """Whether any of `names` is given."""
        return any(_norm(n) in self.values for n in names)

    def _raw(self, names: tuple[str, ...]) -> tuple[str, str] | None:
        for name in names:
            if _norm(name) in self.values:
                return _norm(name), self.values[_norm(name)]
        return None

    def integer(self, *names: str) -> int | None:
        """The first given of `names` as a positive integer (k/K and m/M suffixes allowed, as
        vLLM's --max-model-len accepts), or None."""
        found = self._raw(names)
        if found is None:
            return None
        name, raw = found
        text = raw.lower().replace("_", "")
        scale = 1
        if text.endswith("k"):
            scale, text = 1024, text[:-1]
        elif text.endswith("m"):
            scale, text = 1024**2, text[:-1]
        try:
            value = int(float(text) * scale)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {raw!r}") from None
        if value <= 0:
            raise ValueError(f"{name} must be at least 1, not {raw!r}")
        return value

    def fraction(self, *names: str) -> float | None:
        """The first given of `names` as a fraction in (0, 1], or None."""
        found = self._raw(names)
        if found is None:
            return None
        name, raw = found
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a fraction such as 0.85, not {raw!r}") from None
        if not 0 < value <= 1:
            raise ValueError(f"{name} must be above 0 and at most 1, not {raw!r}")
        return value

    def text(self, *names: str) -> str | None:
        """The first given of `names` as text, or None."""
        found = self._raw(names)
        return None if found is None else found[1]
