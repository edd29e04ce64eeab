"""Command lines given by users (the custom backend's command)."""

from __future__ import annotations

import shlex


def split_command(command: str) -> list[str]:
    """Split a command line as a POSIX shell would; ValueError that says what is wrong."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"command line cannot be split ({exc}): check its quotes") from exc
    if not argv:
        raise ValueError("command line is empty")
    return argv
