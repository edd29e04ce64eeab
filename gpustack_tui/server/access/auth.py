"""The management token: created on the server's first start, stored 0600, checked per request."""

from __future__ import annotations

import hmac
import os
import secrets

from fastapi import Request

from gpustack_tui.config import Paths
from gpustack_tui.server.api.errors import ApiException


def ensure_token(paths: Paths) -> str:
    """The installation's token, created (mode 0600) if there is none yet."""
    try:
        token = paths.token_file.read_text().strip()
    except FileNotFoundError:
        token = ""
    if token:
        os.chmod(paths.token_file, 0o600)
        return token
    token = secrets.token_urlsafe(32)
    fd = os.open(paths.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


class TokenGuard:
    """FastAPI dependency: the request must carry `Authorization: Bearer <token>`."""

    def __init__(self, token: str):
        self._token = token.encode()

    async def __call__(self, request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self._token
        ):
            raise ApiException(
                401,
                "unauthorized",
                "a valid management token is required (Authorization: Bearer <token>); "
                "the token is in the installation's config folder, file `token`",
            )
