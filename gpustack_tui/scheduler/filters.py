"""Filters that drop workers before placement. Pure: they read workers, never reach them."""

from __future__ import annotations


def labels_match(labels: dict[str, str], selector: dict[str, str]) -> bool:
    """Every label of the selector is on the worker with the same value."""
    return all(labels.get(key) == value for key, value in selector.items())


def selector_text(selector: dict[str, str]) -> str:
    """`{gpu=a100, zone=b}`, as an operator reads a selector."""
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) + "}"
