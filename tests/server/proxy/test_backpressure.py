"""A client that reads slowly slows the instance down: the proxy never buffers a stream whole."""

from __future__ import annotations

import socket
import threading
import time

import httpx

from tests.server.proxy.support import read_request_head, route

CHUNK = b"data: " + b"x" * (64 * 1024 - 8) + b"\n\n"
TOTAL = 400 * 1024 * 1024
"""What the instance would send if nothing held it back."""


class FloodingUpstream:
    """An instance that streams as fast as its socket lets it, counting what it got out."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sent = 0
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            read_request_head(conn)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            frame = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
            conn.settimeout(30)
            try:
                while self.sent < TOTAL:
                    conn.sendall(frame)
                    self.sent += len(CHUNK)
            except OSError:
                pass  # the proxy closed the connection: the client went away

    def close(self) -> None:
        self.sock.close()


def test_a_stalled_client_stalls_the_upstream(start_proxy) -> None:
    upstream = FloodingUpstream()
    proxy = start_proxy(route("m", upstream.url))
    try:
        with (
            httpx.Client(trust_env=False, timeout=10) as client,
            client.stream(
                "POST", proxy.url + "/v1/chat/completions", json={"model": "m", "stream": True}
            ) as response,
        ):
            assert response.status_code == 200
            time.sleep(1.5)  # read nothing: buffers fill, then the upstream must wait
            stalled = upstream.sent
            time.sleep(0.5)
            assert upstream.sent == stalled, "the proxy kept reading with nobody to pass it to"
            # Kernel socket buffers and aiohttp's read buffer: a few MiB, not the whole stream.
            assert stalled < 64 * 1024 * 1024, stalled
            read = 0
            for piece in response.iter_raw():
                read += len(piece)
                if read >= 2 * stalled:
                    break
            assert upstream.sent > stalled  # reading again lets the upstream go on
    finally:
        upstream.close()
