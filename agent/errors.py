"""The one exception type the agent answers with, and the error codes of PROTOCOL.md."""

from __future__ import annotations

from typing import Dict

BAD_REQUEST = "bad_request"
UNKNOWN_METHOD = "unknown_method"
NOT_FOUND = "not_found"
START_FAILED = "start_failed"
INTERNAL = "internal"


class AgentError(Exception):
    """A failure to answer as `{"error": {"code": code, "message": message}}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_json(self) -> Dict[str, str]:
        """The `error` member of the answer."""
        return {"code": self.code, "message": self.message}
