"""API keys on the inference routes: real keys in a real store, real uvicorn, real backends."""

from __future__ import annotations

import time

import pytest

from gpustack_tui.domain.api_key import ApiKeyCreate
from gpustack_tui.server.access import keys as keys_module
from gpustack_tui.server.access.keys import KeyRing
from tests.server.proxy.support import assert_openai_error, route

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def guarded(shared_backends, start_proxy, keyring: KeyRing):
    backend = shared_backends[0]
    return start_proxy(
        route("m", backend.url, generic_proxy=True),
        route("other", backend.url, generic_proxy=True),
        keys=keyring,
    )


def test_missing_key_is_401_on_every_route(guarded) -> None:
    for response in (
        guarded.client.get("/v1/models"),
        guarded.client.get("/v1/models/m"),
        guarded.client.post("/v1/chat/completions", json=CHAT),
        guarded.client.post("/v1/embeddings", json=CHAT),
        guarded.client.get("/model/proxy/x", headers={"X-GPUStack-Model": "m"}),
        guarded.client.post(
            "/v1/chat/completions", json=CHAT, headers={"Authorization": "Basic x"}
        ),
    ):
        error = assert_openai_error(response, 401, "invalid_api_key")
        assert "gpustack-tui keys create" in error["message"]
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "key",
    ["nonsense", "gpustack_abc_def", "gpustack__", "gpustack_" + "x" * 5000, "gpustack_é_ü"],
)
def test_unknown_key_is_401(guarded, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}".encode("latin-1")}  # raw bytes, not only ASCII
    response = guarded.client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert_openai_error(response, 401, "invalid_api_key")


def test_valid_key_by_bearer_or_x_api_key(guarded, keyring: KeyRing) -> None:
    key = keyring.create(ApiKeyCreate(name="app")).key
    for headers in (_bearer(key), {"X-API-Key": key}, {"authorization": f"bearer  {key}"}):
        response = guarded.client.post("/v1/chat/completions", json=CHAT, headers=headers)
        assert response.status_code == 200, response.text
        # The instance never sees the client's key.
        echo = guarded.client.post("/v1/rerank", json={"model": "m"}, headers=headers).json()
        assert "authorization" not in echo["headers"] and "x-api-key" not in echo["headers"]


def test_wrong_secret_of_a_real_id_is_401(guarded, keyring: KeyRing) -> None:
    key = keyring.create(ApiKeyCreate(name="app")).key
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    response = guarded.client.post("/v1/chat/completions", json=CHAT, headers=_bearer(forged))
    assert_openai_error(response, 401, "invalid_api_key")


def test_revoked_key_is_401_at_once(guarded, keyring: KeyRing) -> None:
    key = keyring.create(ApiKeyCreate(name="app")).key
    assert guarded.client.get("/v1/models", headers=_bearer(key)).status_code == 200
    keyring.revoke("app")
    error = assert_openai_error(
        guarded.client.get("/v1/models", headers=_bearer(key)), 401, "invalid_api_key"
    )
    assert "revoked" in error["message"]


class ShiftedClock:
    """`time.time` moved forward by `ahead` seconds: expiry is tested without sleeping (a
    short real expiry raced the first request on a loaded machine)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def time(self) -> float:
        return time.time() + self.ahead


def test_expired_key_is_401(guarded, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ShiftedClock()
    monkeypatch.setattr(keys_module, "time", clock)
    key = keyring.create(ApiKeyCreate(name="brief", expires_in_days=60 / 86400)).key
    assert guarded.client.get("/v1/models", headers=_bearer(key)).status_code == 200
    clock.ahead = 61
    error = assert_openai_error(
        guarded.client.post("/v1/chat/completions", json=CHAT, headers=_bearer(key)),
        401,
        "invalid_api_key",
    )
    assert "expired" in error["message"]


def test_scope_hides_other_deployments_as_404(guarded, keyring: KeyRing) -> None:
    key = keyring.create(ApiKeyCreate(name="only-m", deployments=["m"])).key
    headers = _bearer(key)
    assert [m["id"] for m in guarded.client.get("/v1/models", headers=headers).json()["data"]] == [
        "m"
    ]
    assert guarded.client.post("/v1/chat/completions", json=CHAT, headers=headers).status_code == (
        200
    )
    for response in (
        guarded.client.post(
            "/v1/chat/completions", json={**CHAT, "model": "other"}, headers=headers
        ),
        guarded.client.get("/v1/models/other", headers=headers),
        guarded.client.get("/model/proxy/x", headers={"X-GPUStack-Model": "other", **headers}),
    ):
        error = assert_openai_error(response, 404, "model_not_found")
        assert "other" in error["message"]
    # Out of scope reads exactly like a deployment that does not exist.
    ghost = guarded.client.post(
        "/v1/chat/completions", json={**CHAT, "model": "ghost"}, headers=headers
    )
    assert_openai_error(ghost, 404, "model_not_found")


def test_keys_are_stored_hashed_and_listed_without_secrets(keyring: KeyRing, store) -> None:
    created = keyring.create(ApiKeyCreate(name="app", deployments=["b", "a", "a"]))
    assert created.key.startswith(f"gpustack_{created.id}_")
    assert created.deployments == ["a", "b"]
    secret = created.key.split("_", 2)[2]
    rows = store.list_api_keys()
    assert len(rows) == 1 and secret not in repr(rows)
    raw = store.path.read_bytes() + (store.path.parent / "state.db-wal").read_bytes()
    assert secret.encode() not in raw
    (listed,) = keyring.list()
    assert "key" not in listed.model_dump() and listed.name == "app"


def test_last_use_is_recorded(keyring: KeyRing) -> None:
    key = keyring.create(ApiKeyCreate(name="app")).key
    assert keyring.list()[0].last_used_at is None
    before = time.time()
    keyring.authenticate(key)
    assert keyring.list()[0].last_used_at >= before


def test_header_check_remembers_only_what_stays_valid(
    keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lean listener checks raw header values; a remembered check still ends at once with
    a revocation, at the expiry, and never lends one key's grant to other header bytes."""
    from gpustack_tui.server.proxy.errors import ProxyError

    clock = ShiftedClock()
    monkeypatch.setattr(keys_module, "time", clock)
    lasting = keyring.create(ApiKeyCreate(name="lasting", deployments=["m"])).key
    brief = keyring.create(ApiKeyCreate(name="brief", expires_in_days=60 / 86400)).key
    bearer = f"Bearer {lasting}".encode()
    for _ in range(2):  # the second time from memory
        assert keyring.authenticate_headers(bearer, None).name == "lasting"
        assert keyring.authenticate_headers(None, lasting.encode()).name == "lasting"
    # Not a bearer: the X-API-Key header carries the key.
    assert keyring.authenticate_headers(b"Basic Zm9v", brief.encode()).name == "brief"
    with pytest.raises(ProxyError) as missing:
        keyring.authenticate_headers(b"Basic Zm9v", None)
    assert missing.value.status_code == 401 and "required" in missing.value.message
    with pytest.raises(ProxyError):
        keyring.authenticate_headers(bearer[:-1] + b"x", None)
    clock.ahead = 61
    with pytest.raises(ProxyError) as expired:
        keyring.authenticate_headers(b"Basic Zm9v", brief.encode())
    assert "expired" in expired.value.message
    keyring.revoke("lasting")
    with pytest.raises(ProxyError) as revoked:
        keyring.authenticate_headers(bearer, None)
    assert "revoked" in revoked.value.message


def test_revoked_key_stops_on_the_post_routes_at_once(guarded, keyring: KeyRing) -> None:
    key = keyring.create(ApiKeyCreate(name="app")).key
    for _ in range(2):
        ok = guarded.client.post("/v1/chat/completions", json=CHAT, headers=_bearer(key))
        assert ok.status_code == 200, ok.text
    keyring.revoke("app")
    error = assert_openai_error(
        guarded.client.post("/v1/chat/completions", json=CHAT, headers=_bearer(key)),
        401,
        "invalid_api_key",
    )
    assert "revoked" in error["message"]
