"""`/api/v1/keys`: create (the secret is shown once), list and revoke inference API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from gpustack_tui.domain.api_key import KEY_NAME, ApiKeyCreate, ApiKeyCreated, ApiKeyInfo
from gpustack_tui.server.access.keys import KeyRing
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.state.store import AlreadyExists, NotFound

router = APIRouter(prefix="/keys", tags=["keys"])


def get_keys() -> KeyRing:
    """FastAPI dependency, overridden by the app with its key ring."""
    raise RuntimeError("the app did not provide its key ring")


Keys = Annotated[KeyRing, Depends(get_keys)]


@router.get("")
def list_keys(keys: Keys) -> list[ApiKeyInfo]:
    """Every key (revoked and expired ones too), without secrets."""
    return keys.list()


@router.post("", status_code=201)
def create_key(body: ApiKeyCreate, keys: Keys) -> ApiKeyCreated:
    """A new key. The answer's `key` is the only copy of it: it is stored hashed."""
    try:
        return keys.create(body)
    except AlreadyExists as exc:
        raise ApiException(409, "exists", f"{exc}: choose another name") from exc


@router.delete("/{name}", status_code=204)
def revoke_key(name: str, keys: Keys) -> Response:
    """Revoke a key: requests with it are refused from now on. It stays listed as revoked."""
    try:
        if not KEY_NAME.match(name):
            raise NotFound(name)
        keys.revoke(name)
    except NotFound as exc:
        raise ApiException(
            404, "not_found", f"no API key named {name[:64]!r} (see `gpustack-tui keys ls`)"
        ) from exc
    return Response(status_code=204)
