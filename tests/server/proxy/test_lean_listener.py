"""What only the lean listener does itself: TLS, pipelining, HTTP/1.0, 100-continue, chunked
uploads handed to the app, bad request lines, instances that close every connection.

Everything else it serves is tested through `start_proxy`, which runs each test on both paths.
"""

from __future__ import annotations

import itertools
import json
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest

from gpustack_tui.server.proxy.lean_server import tls_context
from tests.fixtures.tls import self_signed
from tests.server.proxy.support import read_request_head, route

CHAT = {"model": "m", "messages": [{"role": "user", "content": "one two three"}]}


def _raw(
    url: str,
    data: bytes,
    *,
    until_closed: bool = False,
    until_seen: bytes = b"",
    timeout: float = 5,
) -> bytes:
    """Send raw bytes to the listener; read until the peer closes or `timeout` of silence, or
    (unless `until_closed`) two answers have begun and `until_seen` has arrived."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    break
                received += piece
                two = received.count(b"HTTP/1.1 200") >= 2
                if not until_closed and two and until_seen in received:
                    break
        except TimeoutError:
            assert not until_closed, f"the listener kept the connection open: {received!r}"
        return received


def _post(path: str, body: bytes, *, version: str = "1.1", extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/{version}\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def test_tls_on_the_lean_path_whole_and_streamed(tmp_path: Path, openai_backend, lean) -> None:
    cert, key = self_signed(tmp_path)
    backend = openai_backend("m", chunk_delay=0.2)
    served = lean(route("m", backend.url), tls=tls_context(str(cert), str(key)))
    assert served.url.startswith("https://")
    verify = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=served.url, verify=verify, timeout=10) as client:
        whole = client.post("/v1/completions", json={"model": "m", "prompt": "a b"})
        assert whole.status_code == 200 and whole.json()["choices"][0]["text"] == "a b"
        assert whole.headers["x-backend-port"] == str(backend.port)
        arrivals: list[float] = []
        with client.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as r:
            assert r.headers["content-type"] == "text/event-stream"
            for line in r.iter_lines():
                if line.startswith("data: "):
                    arrivals.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(arrivals[:4])]
    assert len(arrivals) >= 4 and all(gap > 0.1 for gap in gaps), gaps
    with pytest.raises(httpx.HTTPError):  # no cleartext on the TLS port
        httpx.post(served.url.replace("https", "http") + "/v1/completions", json=CHAT, timeout=3)


def test_pipelined_requests_are_answered_in_order(shared_backends, lean) -> None:
    served = lean(route("m", shared_backends[0].url))
    first = json.dumps({"model": "m", "prompt": "first"}).encode()
    second = json.dumps({"model": "m", "prompt": "second"}).encode()
    both = _post("/v1/completions", first) + _post("/v1/completions", second)
    answer = _raw(served.url, both, until_seen=b'"second"')
    assert answer.count(b"HTTP/1.1 200 OK") == 2, answer
    assert answer.index(b'"first"') < answer.index(b'"second"'), answer


def test_http10_is_served_and_the_connection_closed(shared_backends, lean) -> None:
    served = lean(route("m", shared_backends[0].url))
    body = json.dumps({"model": "m", "prompt": "old client"}).encode()
    answer = _raw(served.url, _post("/v1/completions", body, version="1.0"), until_closed=True)
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer
    assert b"connection: close" in head.lower()
    assert json.loads(rest)["choices"][0]["text"] == "old client"


def test_expect_100_continue_gets_continue_then_the_answer(shared_backends, lean) -> None:
    served = lean(route("m", shared_backends[0].url))
    body = json.dumps({"model": "m", "prompt": "after continue"}).encode()
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        request = _post("/v1/completions", b"", extra="Expect: 100-continue\r\n")
        sock.sendall(request.replace(b"Content-Length: 0", b"Content-Length: %d" % len(body)))
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        answer = b""
        while b"after continue" not in answer:
            piece = sock.recv(65536)
            assert piece, answer
            answer += piece
    assert answer.startswith(b"HTTP/1.1 200"), answer


def test_a_chunked_upload_streams_through_the_app(shared_backends, lean) -> None:
    served = lean(route("m", shared_backends[0].url, generic_proxy=True))
    pieces = [b'{"model": ', b'"m", "data": "', b"x" * 300_000, b'"}']
    response = httpx.post(
        served.url + "/model/proxy/upload",
        content=iter(pieces),  # no length: sent chunked, so the lean path hands it on
        headers={"X-GPUStack-Model": "m"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    echo = response.json()
    assert echo["path"] == "/upload"
    assert echo["body"] == b"".join(pieces).decode()


def test_a_bad_request_is_400_and_the_connection_closed(lean) -> None:
    served = lean(route("m", "http://127.0.0.1:1"))
    answer = _raw(served.url, b"NOT HTTP AT ALL\r\n\r\n", until_closed=True)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    # The listener still serves others.
    assert httpx.post(served.url + "/v1/completions", json={"prompt": "x"}).status_code == 400


class OneShotUpstream:
    """An instance that closes each connection right after its answer, without saying so;
    `answer` (raw bytes) replaces the numbered JSON answer."""

    def __init__(self, answer: bytes | None = None) -> None:
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                read_request_head(conn)
                body = b'{"n": %d}' % self.connections
                conn.sendall(
                    self.answer
                    or b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s"
                    % (len(body), body)
                )


def test_an_instance_that_closes_every_connection_still_serves_each_request(lean) -> None:
    upstream = OneShotUpstream()
    served = lean(route("m", upstream.url, generic_proxy=True))
    try:
        with httpx.Client(base_url=served.url, timeout=5) as client:
            for n in range(1, 21):
                answer = client.get("/model/proxy/x", headers={"X-GPUStack-Model": "m"})
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"n": n}
    finally:
        upstream.sock.close()


def test_the_answer_loses_hop_by_hop_headers_and_those_connection_names(lean) -> None:
    events = b'data: {"a": 1}\n\ndata: [DONE]\n\n'
    upstream = OneShotUpstream(
        b"HTTP/1.1 200 OK\r\nServer: instance\r\nX-Before: 0\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT"
        b"\r\nConnection: close, X-Private\r\nKeep-Alive: timeout=5\r\nX-Private: secret\r\n"
        b"X-Kept: 1\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(events), events)
    )
    served = lean(route("m", upstream.url, generic_proxy=True))
    try:
        answer = httpx.get(served.url + "/model/proxy/x", headers={"X-GPUStack-Model": "m"})
        assert answer.status_code == 200 and answer.content == events
        assert answer.headers["x-kept"] == "1"
        assert answer.headers.get_list("x-before") == ["0"]  # once, not again
        assert answer.headers["server"] == "gpustack-tui"
        assert answer.headers["transfer-encoding"] == "chunked"  # framed again for the client
        for gone in ("x-private", "keep-alive", "connection"):
            assert gone not in answer.headers, gone
        plain = OneShotUpstream(
            b"HTTP/1.1 200 OK\r\nServer: instance\r\nKeep-Alive: timeout=5\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        )
        served = lean(route("m", plain.url, generic_proxy=True))
        answer = httpx.get(served.url + "/model/proxy/x", headers={"X-GPUStack-Model": "m"})
        assert answer.json() == {} and answer.headers["content-length"] == "2"
        assert "keep-alive" not in answer.headers and answer.headers["server"] == "gpustack-tui"
        plain.sock.close()
    finally:
        upstream.sock.close()


def test_silent_connections_are_closed_but_answers_in_progress_are_not(
    openai_backend, lean
) -> None:
    """An idle keep-alive connection, and a client that stops in the middle of its request,
    are closed after the idle time; a stream slower than that is not cut."""
    backend = openai_backend("m", chunk_delay=0.3)
    served = lean(route("m", backend.url), idle=0.6)
    host, port = served.url.removeprefix("http://").split(":")
    idle = socket.create_connection((host, int(port)), timeout=5)
    idle.sendall(_post("/v1/completions", json.dumps({"model": "m", "prompt": "x"}).encode()))
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")  # its body may follow in a moment
    stalled = socket.create_connection((host, int(port)), timeout=5)
    stalled.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    started = time.monotonic()
    # A stream whose chunks come 0.3 s apart for about 1.5 s: longer than the idle time.
    body = {"model": "m", "prompt": "one two three four five", "stream": True}
    with httpx.stream("POST", served.url + "/v1/completions", json=body, timeout=10) as streamed:
        events = [line for line in streamed.iter_lines() if line.startswith("data:")]
    assert events[-1] == "data: [DONE]" and len(events) >= 5
    for sock in (idle, stalled):
        while sock.recv(65536):  # what is left of an answer, then the end (or TimeoutError)
            pass
        sock.close()
    assert time.monotonic() - started < 5
