"""Which headers cross the proxy, in each direction."""

from __future__ import annotations

from collections.abc import Iterable

RawHeaders = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
"""Headers that describe one connection, never forwarded (RFC 9110 section 7.6.1)."""

CLIENT_CREDENTIALS = frozenset({b"authorization", b"x-api-key"})
"""The client's key for this server: instances never see it."""

_REQUEST_DROPPED = HOP_BY_HOP | CLIENT_CREDENTIALS | {b"host", b"content-length", b"expect"}
RESPONSE_DROPPED = HOP_BY_HOP | {b"date", b"server"}
"""Response headers never passed on (this server sets Date and Server itself)."""


def _connection_listed(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Header names the `Connection` header marks hop-by-hop as well (names lower-case)."""
    listed: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            listed.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return listed


def upstream_request_headers(
    raw: Iterable[tuple[bytes, bytes]],
    *,
    client_host: str | None = None,
    scheme: str = "http",
    keep_content_length: bool = False,
    lowered: bool = False,
) -> RawHeaders:
    """The client's headers as the instance gets them.

    Drops hop-by-hop headers (and those `Connection` names), Host, Expect, Authorization and
    X-API-Key; drops Content-Length unless `keep_content_length` (the body is then streamed as the
    client sent it; otherwise httpx sets it from the body). Appends the client to
    X-Forwarded-For, sets X-Forwarded-Proto and X-Forwarded-Host when absent, and asks for
    `Accept-Encoding: identity` when the client named no encoding (the body is passed on raw, so
    the instance must not compress what the client cannot decode). `lowered`: the names are
    lower-case already.
    """
    if not lowered:
        raw = [(name.lower(), value) for name, value in raw]
    listed = _connection_listed(raw)
    dropped = _REQUEST_DROPPED | listed if listed else _REQUEST_DROPPED
    if keep_content_length:
        dropped = dropped - {b"content-length"}
    out: RawHeaders = []
    forwarded_for: list[bytes] = []
    host: bytes | None = None
    for name, value in raw:
        if name == b"host":
            host = value
        if name == b"x-forwarded-for":
            forwarded_for.append(value)
        elif name not in dropped:
            out.append((name, value))
    names = {name for name, _ in out}
    if client_host:
        forwarded_for.append(client_host.encode("latin-1"))
    if forwarded_for:
        out.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    if b"x-forwarded-proto" not in names:
        out.append((b"x-forwarded-proto", scheme.encode("latin-1")))
    if host is not None and b"x-forwarded-host" not in names:
        out.append((b"x-forwarded-host", host))
    if b"accept-encoding" not in names:
        out.append((b"accept-encoding", b"identity"))
    return out


_BLOCK_SPECIAL = _REQUEST_DROPPED | {
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"accept-encoding",
}


def upstream_request_block(
    raw: list[tuple[bytes, bytes]], *, client_host: str | None, scheme: bytes
) -> bytes:
    """`upstream_request_headers(raw, lowered=True, ...)` as `name: value\r\n` lines, in one
    pass (the lean listener's hot path; a test keeps the two equal)."""
    lines: list[bytes] = []
    forwarded_for: list[bytes] = []
    host = listed = None
    proto = forwarded_host = encoding = False
    for name, value in raw:
        if name not in _BLOCK_SPECIAL:
            lines.append(name + b": " + value + b"\r\n")
        elif name == b"x-forwarded-for":
            forwarded_for.append(value)
        elif name in _REQUEST_DROPPED:
            if name == b"host":
                host = value
            elif name == b"connection":
                listed = _connection_listed(raw)
        else:
            proto = proto or name == b"x-forwarded-proto"
            forwarded_host = forwarded_host or name == b"x-forwarded-host"
            encoding = encoding or name == b"accept-encoding"
            lines.append(name + b": " + value + b"\r\n")
    if listed:  # rare: names the client's Connection header made hop-by-hop
        kept = upstream_request_headers(
            raw, client_host=client_host, scheme=scheme.decode(), lowered=True
        )
        return b"".join(name + b": " + value + b"\r\n" for name, value in kept)
    if client_host:
        forwarded_for.append(client_host.encode("latin-1"))
    if forwarded_for:
        lines.append(b"x-forwarded-for: " + b", ".join(forwarded_for) + b"\r\n")
    if not proto:
        lines.append(b"x-forwarded-proto: " + scheme + b"\r\n")
    if host is not None and not forwarded_host:
        lines.append(b"x-forwarded-host: " + host + b"\r\n")
    if not encoding:
        lines.append(b"accept-encoding: identity\r\n")
    return b"".join(lines)


def downstream_response_headers(
    raw: Iterable[tuple[bytes, bytes]], *, lowered: bool = False
) -> RawHeaders:
    """The instance's response headers as the client gets them (ASGI: lower-case names).

    Drops hop-by-hop headers (and those `Connection` names), plus Date and Server, which this
    server sets itself. Content-Length stays when the instance sent one: the body is relayed raw,
    byte for byte, so it stays exact; chunked answers have none and go out chunked. `lowered`:
    the names are lower-case already.
    """
    if not lowered:
        raw = [(name.lower(), value) for name, value in raw]
    listed = _connection_listed(raw)
    dropped = RESPONSE_DROPPED | listed if listed else RESPONSE_DROPPED
    return [(name, value) for name, value in raw if name not in dropped]


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a request carries: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None
