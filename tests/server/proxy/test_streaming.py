"""Streams pass through as they arrive, and a client that leaves stops the instance's stream."""

from __future__ import annotations

import itertools
import json
import time

import httpx
import pytest

from tests.server.proxy.support import route

WORDS = "one two three four five six"


def _stream_request(model: str, text: str, path: str = "/v1/chat/completions") -> dict:
    if path == "/v1/completions":
        return {"model": model, "prompt": text, "stream": True}
    return {"model": model, "messages": [{"role": "user", "content": text}], "stream": True}


def test_chat_stream_arrives_incrementally(openai_backend, start_proxy) -> None:
    backend = openai_backend("m", chunk_delay=0.2)
    proxy = start_proxy(route("m", backend.url))
    arrivals: list[tuple[float, str]] = []
    started = time.monotonic()
    with proxy.client.stream(
        "POST", "/v1/chat/completions", json=_stream_request("m", WORDS)
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert "content-length" not in response.headers
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append((time.monotonic() - started, line[6:]))
    assert arrivals[-1][1] == "[DONE]"
    chunks = [json.loads(data) for _, data in arrivals[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == WORDS
    # 6 words and a finish chunk, 0.2 s apart: the last is sent about 1.2 s after the first.
    first, last = arrivals[0][0], arrivals[-1][0]
    assert last - first >= 0.9, arrivals
    assert first < 0.6, arrivals
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals[:7])]
    assert all(gap > 0.1 for gap in gaps), gaps


def test_completions_stream_passes_through(shared_backends, start_proxy) -> None:
    backend = shared_backends[0]
    proxy = start_proxy(route("m", backend.url))
    response = proxy.client.post(
        "/v1/completions", json=_stream_request("m", "a b c", "/v1/completions")
    )
    events = [b for b in response.text.split("\n\n") if b]
    assert events[-1] == "data: [DONE]"
    pieces = [json.loads(e[6:])["choices"][0]["text"] for e in events[:-1]]
    assert "".join(pieces) == "a b c"


def test_client_disconnect_closes_the_upstream_stream(openai_backend, start_proxy) -> None:
    backend = openai_backend("m", chunk_delay=0.2)
    proxy = start_proxy(route("m", backend.url))
    many = " ".join(f"w{i}" for i in range(50))  # 10 s of streaming if nobody stops it
    with (
        httpx.Client(trust_env=False, timeout=5) as client,
        client.stream(
            "POST", proxy.url + "/v1/chat/completions", json=_stream_request("m", many)
        ) as response,
    ):
        first = next(response.iter_lines())
        assert first.startswith("data: ")
    deadline = time.monotonic() + 3
    while "stream aborted" not in backend.output():
        assert time.monotonic() < deadline, backend.output()
        time.sleep(0.05)
    assert "stream complete" not in backend.output()
    # The proxy still serves afterwards.
    again = proxy.client.post("/v1/completions", json={"model": "m", "prompt": "still here"})
    assert again.json()["choices"][0]["text"] == "still here"


def test_instance_dying_mid_stream_aborts_the_client_stream(openai_backend, start_proxy) -> None:
    backend = openai_backend("m", chunk_delay=0.1)
    proxy = start_proxy(route("m", backend.url))
    many = " ".join(f"w{i}" for i in range(50))
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        proxy.client.stream("POST", "/v1/chat/completions", json=_stream_request("m", many)) as r,
    ):
        for line in r.iter_lines():
            received.append(line)
            if len(received) == 1:
                backend.process.kill()
    # The client sees a broken stream, never a clean end without [DONE].
    assert "data: [DONE]" not in received
