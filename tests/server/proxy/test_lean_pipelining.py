"""Requests pipelined behind a slow answer on the lean listener: they are not read (and buffered)
while it is answered; once it is done they are read and answered, all of them, in order."""

from __future__ import annotations

import json
import socket
import threading
import time

from tests.server.proxy.support import read_request_head, route

PIECE = 64 * 1024
COUNT = 128
PADDING = 256 * 1024
"""Each pipelined request's body carries this much padding: COUNT of them make 32 MiB."""


class HeldUpstream:
    """An instance that answers nothing until `release()`, then answers each request at once."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.asked = threading.Event()
        self._released = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def release(self) -> None:
        self._released.set()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            read_request_head(conn)
            self.asked.set()
            self._released.wait(30)
            body = b'{"choices": [{"text": "slow"}]}'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            conn.recv(65536)

    def close(self) -> None:
        self.sock.close()


def _request(model: str, prompt: str, padding: int = 0) -> bytes:
    body = json.dumps({"model": model, "prompt": prompt, "padding": "x" * padding}).encode()
    head = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


class Pipeliner:
    """Sends `data` on `sock` from a thread, counting what the kernel has taken so far."""

    def __init__(self, sock: socket.socket, data: bytes) -> None:
        self.sock = sock
        self.data = data
        self.sent = 0
        self.thread = threading.Thread(target=self._send, daemon=True)
        self.thread.start()

    def _send(self) -> None:
        view = memoryview(self.data)
        while self.sent < len(view):
            self.sent += self.sock.send(view[self.sent : self.sent + PIECE])


def _answers(sock: socket.socket, count: int) -> list[bytes]:
    """Read `count` answers (each with a Content-Length) off `sock`; their bodies."""
    buffer, bodies = b"", []
    while len(bodies) < count:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = buffer[:end].lower()
            assert head.startswith(b"http/1.1 200"), head
            at = head.index(b"content-length:") + len(b"content-length:")
            length = int(head[at:].split(b"\r\n", 1)[0])
            if len(buffer) >= end + 4 + length:
                bodies.append(buffer[end + 4 : end + 4 + length])
                buffer = buffer[end + 4 + length :]
                continue
        piece = sock.recv(1 << 20)
        assert piece, f"the connection closed after {len(bodies)} answers"
        buffer += piece
    return bodies


def test_requests_pipelined_behind_a_slow_one_wait_unread_then_are_answered_in_order(
    shared_backends, lean
) -> None:
    slow = HeldUpstream()
    served = lean(route("slow", slow.url), route("m", shared_backends[0].url))
    host, port = served.url.removeprefix("http://").split(":")
    behind = b"".join(_request("m", f"n{n}", PADDING) for n in range(COUNT))
    try:
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            # A small send buffer of our own: what the kernel holds on this side stays small.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIECE)
            sock.sendall(_request("slow", "first"))
            assert slow.asked.wait(10), "the first request never reached its instance"
            pipeliner = Pipeliner(sock, behind)
            time.sleep(1.5)  # ample time to read everything, if the listener kept reading
            stalled = pipeliner.sent
            time.sleep(0.3)
            assert pipeliner.sent == stalled, "the listener went on reading behind the answer"
            # Kernel buffers and one read, not the 32 MiB behind the slow answer.
            assert stalled < len(behind) // 4, (stalled, len(behind))
            slow.release()
            bodies = _answers(sock, COUNT + 1)
            pipeliner.thread.join(10)
            assert pipeliner.sent == len(behind)
    finally:
        slow.close()
    texts = [json.loads(body)["choices"][0]["text"] for body in bodies]
    assert texts == ["slow"] + [f"n{n}" for n in range(COUNT)]
