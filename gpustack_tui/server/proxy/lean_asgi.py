"""Serving one request of a lean-listener connection through an ASGI app.

For what the lean path leaves alone (see `lean_server`): the request body streams in as it
arrives (reading pauses while the app has not taken it), the response streams out with
back-pressure, chunked when the app gives no length; a client that leaves is an
`http.disconnect`. ASGI spec 2.3, as uvicorn serves it, so that Starlette watches for the
disconnect while it streams.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message

if TYPE_CHECKING:
    from gpustack_tui.server.proxy.lean_request import Incoming
    from gpustack_tui.server.proxy.lean_server import ClientConnection

logger = logging.getLogger(__name__)

READ_AHEAD = 256 * 1024
"""Request bytes buffered for the app before reading from the client pauses."""
_NO_BODY = (204, 304)


class AsgiExchange:
    """One request/response cycle between a `ClientConnection` and an ASGI app."""

    def __init__(self, conn: ClientConnection, request: Incoming, app: ASGIApp) -> None:
        self.conn = conn
        self.request = request
        self.app = app
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._body_done = False
        self._gone = False
        self._event = asyncio.Event()
        self._continue = request.header(b"expect") == b"100-continue"
        self._started = False
        self._finished = False
        self._chunked = False
        self._head_only = request.method == b"HEAD"
        self._status = 200
        self._headers: list[tuple[bytes, bytes]] = []
        self._body_sent = False

    # -- from the connection -----------------------------------------------------------------

    @property
    def backlogged(self) -> bool:
        """Whether more of the body waits than the app should be given ahead (the connection
        stops reading until the app takes it)."""
        return self._buffered > READ_AHEAD and not self._finished

    def feed(self, data: bytes) -> None:
        """A piece of the request body arrived."""
        if self._finished:
            return  # the app answered without it: the rest is read and dropped
        self._chunks.append(data)
        self._buffered += len(data)
        self._event.set()
        if self._buffered > READ_AHEAD:
            self.conn.steer_reading()

    def complete(self) -> None:
        """The request body is whole."""
        self._body_done = True
        self._event.set()

    def disconnected(self) -> None:
        """The client went away."""
        self._gone = True
        self._event.set()

    def start(self) -> None:
        """Run the app for this request (the connection's turn has come)."""
        task = asyncio.ensure_future(self._run())
        self.conn.service.track(task)

    # -- the app -----------------------------------------------------------------------------

    def _scope(self) -> dict[str, Any]:
        request, conn = self.request, self.conn
        raw_path = request.path
        path = raw_path.decode("latin-1")
        if "%" in path:
            path = urllib.parse.unquote(path)
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version,
            "server": conn.server_addr,
            "client": (conn.peer, 0) if conn.peer else None,
            "scheme": conn.service.scheme,
            "method": request.method.decode("latin-1"),
            "root_path": "",
            "path": path,
            "raw_path": raw_path,
            "query_string": request.query,
            "headers": request.headers,
            "state": {},
        }

    async def _run(self) -> None:
        try:
            await self.app(self._scope(), self._receive, self._send)
        except Exception:
            logger.exception("request %s failed", self.request.path.decode("latin-1"))
            if not self._started:
                self._status, self._headers = 500, [(b"content-type", b"text/plain")]
                await self._send({"type": "http.response.body", "body": b"Internal Server Error"})
                return
        if not self._finished:
            self.conn.finish(self.request, close=True)  # half an answer: the client must see it

    async def _receive(self) -> Message:
        if self._continue and not self._body_done and not self._chunks and not self._gone:
            self._continue = False
            if self.conn.transport is not None and not self.conn.closed:
                self.conn.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        while not self._chunks and not self._body_done and not self._gone:
            self._event.clear()
            await self._event.wait()
        if self._chunks:
            body = b"".join(self._chunks)
            self._chunks.clear()
            backlogged, self._buffered = self.backlogged, 0
            if backlogged:
                self.conn.steer_reading()
            self._body_sent = self._body_done
            return {"type": "http.request", "body": body, "more_body": not self._body_done}
        if self._gone or self._finished:
            return {"type": "http.disconnect"}
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        while not self._over():  # then wait for the client to leave
            self._event.clear()
            await self._event.wait()
        return {"type": "http.disconnect"}

    def _over(self) -> bool:
        """Whether the client left or the answer is whole (a call, not an attribute test: the
        awaits in between change both)."""
        return self._gone or self._finished

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._status = message["status"]
            self._headers = list(message.get("headers", []))
            return
        if kind != "http.response.body" or self._finished:
            return
        conn = self.conn
        if conn.closed or conn.transport is None:
            return  # the app learns it from receive()'s http.disconnect
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        out: list[bytes] = []
        if not self._started:
            self._started = True
            out.append(self._head(whole=None if more else len(body)))
        if body and not self._head_only and self._status not in _NO_BODY:
            out.extend((b"%x\r\n" % len(body), body, b"\r\n") if self._chunked else (body,))
        if not more:
            self._finished = True
            if self._chunked:
                out.append(b"0\r\n\r\n")
        conn.transport.writelines(out)
        if self._finished:
            self._event.set()
            conn.finish(self.request)
        else:
            await conn.drain()

    def _head(self, whole: int | None) -> bytes:
        request = self.request
        names = {name.lower() for name, _ in self._headers}
        lines = [status_line(self._status), stock_headers()]
        lines += [b"%s: %s\r\n" % (name, value) for name, value in self._headers]
        if b"content-length" not in names and self._status not in _NO_BODY:
            if whole is not None and not self._head_only:
                lines.append(b"content-length: %d\r\n" % whole)
            elif request.http_version == "1.1" and not self._head_only:
                self._chunked = True
                lines.append(b"transfer-encoding: chunked\r\n")
            elif not self._head_only:
                request.keep_alive = False  # the end of the connection ends the body
        if not request.keep_alive:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)


_stock_second = 0
_stock_lines = b""


def stock_headers() -> bytes:
    """The Date and Server header lines; the date is recomputed once a second."""
    global _stock_second, _stock_lines
    now = int(time.time())
    if _stock_second != now:
        date = formatdate(now, usegmt=True).encode()
        _stock_second, _stock_lines = now, b"date: " + date + b"\r\nserver: gpustack-tui\r\n"
    return _stock_lines


_STATUS_LINES: dict[int, bytes] = {}


def status_line(status: int) -> bytes:
    """`HTTP/1.1 <status> <reason>\r\n`, made once per status (clients ignore the reason)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase.encode()
        except ValueError:
            phrase = b"Status"
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d %s\r\n" % (status, phrase)
    return line
