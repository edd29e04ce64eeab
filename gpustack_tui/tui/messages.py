"""Messages that thread workers post back to the screens (worker threads never touch widgets)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from gpustack_tui.client import ApiError


class Fetched(Message):
    """A periodic fetch finished: `data` on success, `error` when the server did not answer."""

    def __init__(self, seq: int, data: Any = None, error: ApiError | None = None) -> None:
        super().__init__()
        self.seq = seq
        self.data = data
        self.error = error


class RequestDone(Message):
    """A one-off request (delete, scale, add...) succeeded; `text` says what happened."""

    def __init__(self, text: str, result: Any = None) -> None:
        super().__init__()
        self.text = text
        self.result = result


class RequestFailed(Message):
    """A one-off request failed; `what` names the attempt, `error` says why."""

    def __init__(self, what: str, error: ApiError, context: Any = None) -> None:
        super().__init__()
        self.what = what
        self.error = error
        self.context = context


def as_api_error(exc: Exception) -> ApiError:
    """Any exception from a worker, as an ApiError a status line can show."""
    if isinstance(exc, ApiError):
        return exc
    return ApiError("internal", f"unexpected {type(exc).__name__}: {exc}")
