"""One request on a lean connection, as httptools parsed it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpustack_tui.server.proxy.lean_asgi import AsgiExchange


class Incoming:
    """One request as parsed: target, headers (names lower-case), body."""

    __slots__ = (
        "api_key",
        "asgi",
        "authorization",
        "body",
        "complete",
        "headers",
        "http_version",
        "keep_alive",
        "lean",
        "method",
        "openai",
        "path",
        "query",
        "url",
    )

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.method = b""
        self.path = b""
        self.query = b""
        self.http_version = "1.1"
        self.keep_alive = True
        self.lean = self.openai = self.complete = False
        self.asgi: AsgiExchange | None = None
        self.authorization: bytes | None = None
        self.api_key: bytes | None = None
        """The first `Authorization` / `X-API-Key` values (noted on the lean path only)."""

    def header(self, name: bytes) -> bytes | None:
        """The first value of header `name` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None
