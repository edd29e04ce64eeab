"""API keys end to end: a real server process, the CLI, the management API and /v1."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from gpustack_tui.client import ApiError
from tests.fixtures.server import RunningServer, cli, deployment_body, start_server, stop_server


def _key_rows(server: RunningServer) -> list[tuple]:
    db = sqlite3.connect(f"file:{server.paths.database}?mode=ro", uri=True)
    try:
        return list(db.execute("SELECT * FROM api_keys ORDER BY name"))
    finally:
        db.close()


def test_cli_create_list_revoke(server: RunningServer) -> None:
    created = cli(server, "keys", "create", "app", "-d", "m", "--expires-in-days", "30")
    key = created.stdout.strip()
    assert key.startswith("gpustack_") and "not shown again" in created.stderr
    assert f"Send it to {server.url}/v1 " in created.stderr
    listed = cli(server, "keys", "ls").stdout
    assert "app" in listed and "active" in listed and key not in listed and "m" in listed
    as_json = json.loads(cli(server, "keys", "ls", "--json").stdout)
    assert [k["name"] for k in as_json] == ["app"] and as_json[0]["deployments"] == ["m"]
    assert all("key" not in k for k in as_json)
    assert all(key.split("_", 2)[2] not in repr(row) for row in _key_rows(server))

    assert cli(server, "keys", "rm", "app").stdout.strip() == "revoked key app"
    assert "revoked" in cli(server, "keys", "ls").stdout
    response = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]


def test_bad_key_requests_are_refused_and_change_nothing(server: RunningServer) -> None:
    cli(server, "keys", "create", "app")
    before = _key_rows(server)
    for args in (
        ["keys", "create", "app"],  # taken
        ["keys", "create", "Bad Name!"],
        ["keys", "create", "x", "--expires-in-days", "0"],
        ["keys", "rm", "ghost"],
    ):
        result = cli(server, *args, check=False)
        assert result.returncode != 0 and "rror" in result.stderr, result
        assert "Traceback" not in result.stderr
    assert _key_rows(server) == before
    token = server.paths.token_file.read_text().strip()
    for body in (
        {"name": "y", "deployments": []},
        {"name": "y", "expires_in_days": -1},
        {"name": "y", "extra": 1},
        {"name": 5},
        [],
    ):
        response = httpx.post(
            f"{server.url}/api/v1/keys", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 422 and response.json()["error"]["message"], body
    assert _key_rows(server) == before
    with server.client() as client, pytest.raises(ApiError) as missing:
        client.revoke_key("../etc")
    assert missing.value.status == 404


def test_token_and_keys_never_stand_in_for_each_other(server: RunningServer) -> None:
    token = server.paths.token_file.read_text().strip()
    key = server.api_key("app")
    for headers in ({"Authorization": f"Bearer {token}"}, {"X-API-Key": token}):
        response = httpx.get(f"{server.url}/v1/models", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.json()["error"]["type"] == "invalid_request_error"
    for path in ("/api/v1/deployments", "/api/v1/keys", "/metrics", "/api/v1/usage"):
        response = httpx.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401, path


def test_scope_and_no_instance(server: RunningServer, tmp_path) -> None:
    with server.client() as client:
        for name in ("m", "other"):
            client.create_deployment(client_spec(name, tmp_path))
    headers = server.inference_headers(server.api_key("only-m", deployments=["m"]))
    body = {"model": "m", "messages": []}
    inside = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers)
    assert inside.status_code == 503 and inside.headers["retry-after"]
    outside = httpx.post(
        f"{server.url}/v1/chat/completions", json={**body, "model": "other"}, headers=headers
    )
    assert outside.status_code == 404
    assert outside.json()["error"]["code"] == "model_not_found"
    assert httpx.get(f"{server.url}/v1/models", headers=headers).json()["data"] == []


def client_spec(name: str, tmp_path):
    from gpustack_tui.domain.deployment import DeploymentSpec

    return DeploymentSpec.model_validate(deployment_body(name, str(tmp_path)))


def test_usage_and_metrics_need_the_token_and_count(server: RunningServer, tmp_path) -> None:
    with server.client() as client:
        client.create_deployment(client_spec("m", tmp_path))
    headers = server.inference_headers(server.api_key("app"))
    for _ in range(2):
        httpx.post(f"{server.url}/v1/embeddings", json={"model": "m"}, headers=headers)
    with server.client() as client:
        usage = client.usage()
    (row,) = usage["pairs"]
    assert (row["deployment"], row["key"], row["requests"], row["errors"]) == ("m", "app", 2, 2)
    token = server.paths.token_file.read_text().strip()
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    metrics = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'gpustack_inference_errors_total{deployment="m",key="app"} 2.0' in metrics.text


def test_keys_survive_a_restart(tmp_path) -> None:
    first = start_server(tmp_path / "install")
    try:
        key = first.api_key("app")
    finally:
        stop_server(first)
    second = start_server(tmp_path / "install")
    try:
        response = httpx.get(f"{second.url}/v1/models", headers={"X-API-Key": key})
        assert response.status_code == 200 and response.json() == {"object": "list", "data": []}
        assert second.client().list_keys()[0].last_used_at is not None
    finally:
        stop_server(second)


def test_a_database_from_before_keys_gains_the_table(tmp_path) -> None:
    from gpustack_tui.server.state.migrations import STEPS
    from gpustack_tui.server.state.store import Store

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(STEPS[0])
    old.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
    old.execute("INSERT INTO workers (name, data, created_at) VALUES ('w', '{}', 0)")
    old.commit()
    old.close()
    store = Store(path)
    try:
        assert not store.created
        assert store.list_api_keys() == []
        version = store._query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0]
        assert int(version) == len(STEPS)
        assert store._query("SELECT name FROM workers")[0][0] == "w"  # nothing lost
    finally:
        store.close()
