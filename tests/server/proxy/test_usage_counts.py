"""Usage counted by the routes: requests, errors, latency and tokens, per deployment and key."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.api_key import ApiKeyCreate
from gpustack_tui.server.access.keys import KeyRing
from gpustack_tui.server.proxy.usage import UsageBook, tokens_from_body
from tests.server.proxy.support import route

CHAT = {"model": "m", "messages": [{"role": "user", "content": "one two three"}]}


@pytest.fixture
def counted(shared_backends, start_proxy, keyring: KeyRing):
    book = UsageBook()
    key = keyring.create(ApiKeyCreate(name="app")).key
    proxy = start_proxy(route("m", shared_backends[0].url), route("idle"), keys=keyring, usage=book)
    proxy.client.headers["Authorization"] = f"Bearer {key}"
    return proxy, book


def test_tokens_from_json_and_from_the_last_stream_chunk(counted) -> None:
    proxy, book = counted
    assert proxy.client.post("/v1/chat/completions", json=CHAT).status_code == 200
    streamed = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    assert "data: [DONE]" in proxy.client.post("/v1/chat/completions", json=streamed).text
    plain_stream = {**CHAT, "stream": True}
    assert proxy.client.post("/v1/chat/completions", json=plain_stream).status_code == 200
    (row,) = book.snapshot()["pairs"]
    assert row["deployment"] == "m" and row["key"] == "app"
    assert row["requests"] == 3 and row["errors"] == 0
    # 3 prompt + 3 completion tokens, twice (the stream without usage adds none).
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (6, 6, 12)
    assert 0 < row["p50_ms"] <= row["p99_ms"]


def test_errors_are_counted_for_the_deployment(counted) -> None:
    proxy, book = counted
    assert proxy.client.post(
        "/v1/chat/completions", json={**CHAT, "model": "idle"}
    ).status_code == (503)
    assert proxy.client.post("/v1/chat/completions", json={**CHAT, "messages": 3}).status_code == (
        400
    )
    rows = {r["deployment"]: r for r in book.snapshot()["deployments"]}
    assert rows["idle"]["requests"] == 1 and rows["idle"]["errors"] == 1
    assert rows["m"]["requests"] == 1 and rows["m"]["errors"] == 1  # the backend's own 400
    metrics = book.metrics().decode()
    assert 'gpustack_inference_errors_total{deployment="idle",key="app"} 1.0' in metrics
    assert 'gpustack_inference_requests_total{deployment="m",key="app"} 1.0' in metrics


def test_usage_parsing_ignores_what_is_not_usage() -> None:
    assert tokens_from_body(b"not json", streamed=False) is None
    assert tokens_from_body(b'{"usage": "x"}', streamed=False) is None
    assert tokens_from_body(b'{"usage": {"prompt_tokens": -4}}', streamed=False).total_tokens == 0
    responses = b'{"response": {"usage": {"input_tokens": 2, "output_tokens": 5}}}'
    counts = tokens_from_body(responses, streamed=False)
    assert (counts.prompt_tokens, counts.completion_tokens, counts.total_tokens) == (2, 5, 7)
    sse = b'data: {"usage": {"total_tokens": 1}}\n\ndata: {"usage": {"total_tokens": 9}}\n\n'
    assert tokens_from_body(sse, streamed=True).total_tokens == 9
    assert tokens_from_body(b"data: {broken usage\n\n", streamed=True) is None
