"""Which headers cross the proxy."""

from __future__ import annotations

import pytest

from gpustack_tui.server.proxy.headers import (
    downstream_response_headers,
    upstream_request_block,
    upstream_request_headers,
)


def _names(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    return [name for name, _ in headers]


def test_request_drops_hop_by_hop_host_and_client_credentials() -> None:
    raw = [
        (b"Host", b"proxy:8080"),
        (b"Connection", b"keep-alive, X-Hop"),
        (b"X-Hop", b"1"),
        (b"Keep-Alive", b"timeout=5"),
        (b"Transfer-Encoding", b"chunked"),
        (b"TE", b"trailers"),
        (b"Upgrade", b"h2c"),
        (b"Proxy-Authorization", b"Basic x"),
        (b"Authorization", b"Bearer secret"),
        (b"X-API-Key", b"secret"),
        (b"Content-Length", b"12"),
        (b"Expect", b"100-continue"),
        (b"Content-Type", b"application/json"),
        (b"X-Custom", b"a"),
        (b"X-Custom", b"b"),
        (b"Accept-Encoding", b"gzip"),
    ]
    out = upstream_request_headers(raw, client_host="10.0.0.9", scheme="https")
    assert out == [
        (b"content-type", b"application/json"),
        (b"x-custom", b"a"),
        (b"x-custom", b"b"),
        (b"accept-encoding", b"gzip"),
        (b"x-forwarded-for", b"10.0.0.9"),
        (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-host", b"proxy:8080"),
    ]


def test_request_keeps_content_length_for_streamed_bodies_and_asks_identity() -> None:
    raw = [(b"content-length", b"5"), (b"x-forwarded-for", b"1.2.3.4")]
    out = upstream_request_headers(raw, client_host="5.6.7.8", keep_content_length=True)
    assert (b"content-length", b"5") in out
    assert (b"x-forwarded-for", b"1.2.3.4, 5.6.7.8") in out
    assert (b"accept-encoding", b"identity") in out


def test_response_drops_hop_by_hop_date_server_keeps_the_rest() -> None:
    raw = [
        (b"Content-Type", b"application/json"),
        (b"Content-Length", b"42"),
        (b"Content-Encoding", b"gzip"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
        (b"Connection", b"close, X-Private"),
        (b"X-Private", b"1"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Date", b"Mon, 01 Jan 2024 00:00:00 GMT"),
        (b"Server", b"vllm"),
        (b"X-Request-Id", b"r1"),
    ]
    assert _names(downstream_response_headers(raw)) == [
        b"content-type",
        b"content-length",
        b"content-encoding",
        b"set-cookie",
        b"set-cookie",
        b"x-request-id",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        [(b"host", b"p:1"), (b"content-type", b"application/json"), (b"content-length", b"3")],
        [(b"x-forwarded-for", b"10.0.0.1"), (b"x-forwarded-proto", b"https"), (b"te", b"x")],
        [(b"x-forwarded-host", b"outer"), (b"host", b"p"), (b"accept-encoding", b"gzip")],
        [(b"connection", b"keep-alive, x-hop"), (b"x-hop", b"1"), (b"x-keep", b"2")],
        [(b"x-hop", b"1"), (b"connection", b"x-hop"), (b"authorization", b"Bearer k")],
        [
            (b"x-api-key", b"k"),
            (b"expect", b"100-continue"),
            (b"x-custom", b"a"),
            (b"x-custom", b"b"),
        ],
        [],
    ],
)
@pytest.mark.parametrize("client", ["127.0.0.1", None])
def test_the_lean_block_equals_the_header_list(raw, client) -> None:
    listed = upstream_request_headers(raw, client_host=client, scheme="https", lowered=True)
    expected = b"".join(b"%s: %s\r\n" % pair for pair in listed)
    assert upstream_request_block(raw, client_host=client, scheme=b"https") == expected
