"""One request on a lean connection, as httptools parsed it, and whether the lean path answers it.

The common requests (a POST to an OpenAI route with a JSON body of known length, the generic
proxy with a body of known length) are answered on the lean path; everything else (multipart
forms, chunked request bodies, `Expect: 100-continue`, HTTP/1.0, HEAD, large bodies) goes to the
ASGI app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpustack_tui.server.proxy.paths import ALIASES, OPENAI_PATHS, PROXY_PREFIX

if TYPE_CHECKING:
    from gpustack_tui.server.proxy.lean_asgi import AsgiExchange

LEAN_BODY_LIMIT = 16 * 1024 * 1024
"""A body up to this size is read whole on the lean path; a larger one streams through ASGI."""
LEAN_METHODS = frozenset({b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"})
"""Generic-proxy methods on the lean path (HEAD's answer has no body: ASGI handles it)."""
OPENAI_POST = frozenset(p.encode() for p in (*OPENAI_PATHS, *ALIASES))
_PREFIX = PROXY_PREFIX.encode()
_FORMS = (b"multipart/form-data", b"application/x-www-form-urlencoded")
_NOTED = frozenset(
    {
        b"authorization",
        b"x-api-key",
        b"content-length",
        b"content-type",
        b"transfer-encoding",
        b"expect",
    }
)
"""Headers `is_lean` looks at."""


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

    @property
    def ready(self) -> bool:
        """Whether it can be answered: the app takes it from its head on (the body streams in),
        the lean path once its body is whole."""
        return self.asgi is not None or self.complete


def is_lean(request: Incoming) -> bool:
    """Whether the lean path answers `request` (its head is parsed); notes on the way whether it
    is for an OpenAI route, and the key it presents."""
    if request.http_version != "1.1":
        return False
    path = request.path
    if request.method == b"POST" and path in OPENAI_POST:
        request.openai = True
    elif not (
        request.method in LEAN_METHODS
        and path.startswith(_PREFIX)
        and (len(path) == len(_PREFIX) or path[len(_PREFIX)] == 0x2F)
    ):
        return False
    length = None
    for name, value in request.headers:
        if name not in _NOTED:
            continue
        if name == b"authorization":
            if request.authorization is None:
                request.authorization = value
        elif name == b"x-api-key":
            if request.api_key is None:
                request.api_key = value
        elif name == b"content-length":
            length = value
        elif name != b"content-type" or (request.openai and value.lower().startswith(_FORMS)):
            return False  # transfer-encoding, expect, or a form
    if length is not None:
        try:
            if int(length) > LEAN_BODY_LIMIT:
                return False
        except ValueError:
            return False
    return True
