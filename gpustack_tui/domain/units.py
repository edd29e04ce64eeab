"""Byte units and how byte counts are shown to people."""

from __future__ import annotations

MIB = 1024**2
GIB = 1024**3


def format_bytes(value: int) -> str:
    """Bytes as a short figure: '512.0 MiB', '23.5 GiB'."""
    if abs(value) >= GIB:
        return f"{value / GIB:.1f} GiB"
    return f"{value / MIB:.1f} MiB"
