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
_RESPONSE_DROPPED = HOP_BY_HOP | {b"date", b"server"}


def _connection_listed(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Header names the `Connection` header marks hop-by-hop as well."""
    listed: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            listed.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return listed


def upstream_request_headers(
    raw: Iterable[tuple[bytes, bytes]],
    *,
    client_host: str | None = None,
    scheme: str = "http",
    keep_content_length: bool = False,
) -> RawHeaders:
    """The client's headers as the instance gets them.

    Drops hop-by-hop headers (and those `Connection` names), Host, Expect, Authorization and
    X-API-Key; drops Content-Length unless `keep_content_length` (the body is then streamed as the
    client sent it; otherwise httpx sets it from the body). Appends the client to
    X-Forwarded-For, sets X-Forwarded-Proto and X-Forwarded-Host when absent, and asks for
    `Accept-Encoding: identity` when the client named no encoding (the body is passed on raw, so
    the instance must not compress what the client cannot decode).
    """
    raw = [(name.lower(), value) for name, value in raw]
    dropped = _REQUEST_DROPPED | _connection_listed(raw)
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


def downstream_response_headers(raw: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    """The instance's response headers as the client gets them (ASGI: lower-case names).

    Drops hop-by-hop headers (and those `Connection` names), plus Date and Server, which this
    server sets itself. Content-Length stays when the instance sent one: the body is relayed raw,
    byte for byte, so it stays exact; chunked answers have none and go out chunked.
    """
    raw = [(name.lower(), value) for name, value in raw]
    dropped = _RESPONSE_DROPPED | _connection_listed(raw)
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
