"""The one error every source raises, with a code for scripts and a message for people."""

from __future__ import annotations


class SourceError(Exception):
    """A model that cannot be found, read or reached.

    Codes: not_found, gated, unauthorized, network, invalid.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
