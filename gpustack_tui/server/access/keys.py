"""API keys for the inference routes: created once, stored hashed, checked on every request.

A key reads `gpustack_<id>_<secret>`. The store keeps the id and a SHA-256 of the secret: the
secret is 32 random bytes, so a fast hash is as safe as a slow one and keeps the check cheap.
Checks run against an in-memory copy of the table, refreshed whenever the store changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gpustack_tui.domain.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyInfo
from gpustack_tui.server.proxy.errors import ProxyError
from gpustack_tui.server.proxy.headers import presented_key
from gpustack_tui.server.proxy.rules import Grant
from gpustack_tui.server.state.store import Store

__all__ = ["Grant", "KeyRing"]  # Grant is the proxy's (rules.py): keys make them

PREFIX = "gpustack"
_ID_BYTES = 6
_SECRET_BYTES = 32
VALID_KEYS_KEPT = 1024
"""Checked keys remembered (by the full key) until the key table changes."""
LAST_USED_FLUSH_SECONDS = 30.0
"""How often key use is written to the store: never once per request."""


@dataclass(frozen=True)
class _Entry:
    info: ApiKeyInfo
    secret_hash: bytes
    grant: Grant
    expires: float
    """expires_at, or infinity."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _unauthorized(message: str) -> ProxyError:
    return ProxyError(
        401, "invalid_api_key", message, headers={"WWW-Authenticate": 'Bearer realm="inference"'}
    )


class KeyRing:
    """Creates, lists and revokes keys in the store, and authenticates inference requests."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._seen = -1
        self._entries: dict[str, _Entry] = {}
        self._valid: dict[object, _Entry] = {}
        self._valid_for: dict[str, _Entry] | None = None
        self._used: dict[str, float] = {}
        self._flushed_at = time.time()

    # -- management -------------------------------------------------------------------------

    def create(self, request: ApiKeyCreate) -> ApiKeyCreated:
        """Store a new key and return it with its secret (never shown again).
        Raises store.AlreadyExists when the name is taken."""
        key_id = secrets.token_hex(_ID_BYTES)
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        now = time.time()
        expires = now + request.expires_in_days * 86400 if request.expires_in_days else None
        self._store.add_api_key(
            {
                "id": key_id,
                "name": request.name,
                "secret_hash": _hash(secret),
                "scope": json.dumps(request.deployments),
                "expires_at": expires,
                "created_at": now,
            }
        )
        return ApiKeyCreated(
            id=key_id,
            name=request.name,
            deployments=request.deployments,
            created_at=now,
            expires_at=expires,
            key=f"{PREFIX}_{key_id}_{secret}",
        )

    def list(self) -> list[ApiKeyInfo]:
        """Every key, revoked ones too, with use not yet written to the store."""
        self.flush()
        return [entry.info for entry in self._snapshot().values()]

    def revoke(self, name: str) -> None:
        """Revoke a key by name; it stops working at once. Raises store.NotFound."""
        self._store.revoke_api_key(name)

    # -- requests ---------------------------------------------------------------------------

    def authenticate(self, key: str | None) -> Grant:
        """The grant of a presented key; ProxyError 401 when it is missing or not valid."""
        return self._grant(key, lambda: key)

    def authenticate_headers(self, authorization: bytes | None, api_key: bytes | None) -> Grant:
        """`authenticate` of the key in raw `Authorization` / `X-API-Key` values (the lean
        listener): header bytes already seen on a valid request cost one dict lookup."""
        return self._grant(
            (authorization, api_key),
            lambda: presented_key(
                authorization.decode("latin-1") if authorization is not None else None,
                api_key.decode("latin-1") if api_key is not None else None,
            ),
        )

    def _grant(self, seen: object, key_of: Callable[[], str | None]) -> Grant:
        """The grant remembered for `seen` while the key table is unchanged and the key not
        expired; else the check of the key `key_of()` gives, remembered when it passes."""
        entries = self._snapshot()
        if entries is self._valid_for:
            entry = self._valid.get(seen)
            if entry is not None and entry.expires > (now := time.time()):
                self._note_use(entry.info.id, now)
                return entry.grant
        entry = self._check(entries, key_of())
        self._remember(entries, seen, entry)
        return entry.grant

    def _check(self, entries: dict[str, _Entry], key: str | None) -> _Entry:
        """The entry of a valid, active key; ProxyError 401 otherwise. Notes the use."""
        if not key:
            raise _unauthorized(
                "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"
                " (create one with `gpustack-tui keys create NAME`)"
            )
        prefix, _, rest = key.partition("_")
        key_id, _, secret = rest.partition("_")
        entry = entries.get(key_id) if prefix == PREFIX else None
        given = hashlib.sha256(secret.encode("utf-8", "replace")).digest()
        expected = entry.secret_hash if entry else b"\0" * len(given)
        if not hmac.compare_digest(given, expected) or entry is None:
            raise _unauthorized(
                "the API key is not valid (note: the management token is not an API key)"
            )
        now = time.time()
        state = entry.info.state(now)
        if state != "active":
            raise _unauthorized(f"the API key {entry.info.name!r} is {state}: create a new one")
        self._note_use(entry.info.id, now)
        return entry

    def _remember(self, entries: dict[str, _Entry], seen: object, entry: _Entry) -> None:
        """Keep a checked key (or the header values that carried it) for the next request
        while the key table is unchanged: a dict lookup instead of a hash (expiry still
        applies; a revocation changes the table)."""
        if entries is not self._valid_for or len(self._valid) >= VALID_KEYS_KEPT:
            self._valid, self._valid_for = {}, entries
        self._valid[seen] = entry

    def _note_use(self, key_id: str, now: float) -> None:
        self._used[key_id] = now
        if now - self._flushed_at > LAST_USED_FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write when keys were last used to the store."""
        used, self._used = self._used, {}
        self._flushed_at = time.time()
        if used:
            self._store.touch_api_keys(used)

    def _snapshot(self) -> dict[str, _Entry]:
        version = self._store.change_count()
        if version == self._seen:
            return self._entries
        with self._lock:
            if version != self._seen:
                entries = {}
                for row in self._store.list_api_keys():
                    scope = json.loads(str(row["scope"]))
                    info = ApiKeyInfo(
                        id=row["id"],
                        name=row["name"],
                        deployments=scope,
                        created_at=row["created_at"],
                        expires_at=row["expires_at"],
                        last_used_at=row["last_used_at"],
                        revoked_at=row["revoked_at"],
                    )
                    grant = Grant(
                        info.id, info.name, frozenset(scope) if scope is not None else None
                    )
                    secret_hash = bytes.fromhex(str(row["secret_hash"]))
                    expires = info.expires_at if info.expires_at is not None else math.inf
                    entries[info.id] = _Entry(info, secret_hash, grant, expires)
                self._entries, self._seen = entries, version
        return self._entries
