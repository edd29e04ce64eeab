"""The paths the inference routes answer, and where each request goes on the instance."""

from __future__ import annotations

OPENAI_PATHS = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/rerank",
    "/v1/audio/transcriptions",
    "/v1/audio/translations",
    "/v1/audio/speech",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/responses",
)
"""POST routes that go to the same path upstream, routed by the request's model."""

ALIASES = {"/rerank": "/v1/rerank"}
"""Paths some clients use, served as their /v1 twin."""

PROXY_PREFIX = "/model/proxy"
"""The generic proxy's prefix, stripped before forwarding."""

PROXY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
"""The methods the generic proxy passes on."""

_PREFIX = PROXY_PREFIX.encode()

OPENAI_UPSTREAM = {
    **{path.encode(): path.encode() for path in OPENAI_PATHS},
    **{alias.encode(): path.encode() for alias, path in ALIASES.items()},
}
"""The instance's path for a POST to each OpenAI route or alias (raw path bytes)."""


def proxied_path(raw_path: bytes) -> bytes | None:
    """The instance's path for a generic-proxy request: what follows /model/proxy (and any
    mount prefix before it), still percent-encoded as the client sent it; None when the raw
    path does not hold the prefix."""
    at = raw_path.find(_PREFIX)
    if at < 0:
        return None
    rest = raw_path[at + len(_PREFIX) :]
    return rest if rest.startswith(b"/") else b"/" + rest
