"""Bad input gets a clear error and leaves the stored state as it was."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from gpustack_tui.client import ApiError
from gpustack_tui.domain.deployment import DeploymentSpec
from tests.fixtures.ports import free_port
from tests.fixtures.server import RunningServer, cli, deployment_body


def dump_state(server: RunningServer) -> list[tuple]:
    """Every row of every table, read straight from SQLite (read-only)."""
    db = sqlite3.connect(f"file:{server.paths.database}?mode=ro", uri=True)
    try:
        rows = []
        for table in ("workers", "deployments", "instances"):
            rows += [(table, *r) for r in db.execute(f"SELECT * FROM {table} ORDER BY 1")]
        return rows
    finally:
        db.close()


def test_unreachable_worker_is_refused_and_not_stored(server: RunningServer) -> None:
    before = dump_state(server)
    result = cli(server, "workers", "add", f"root@127.0.0.1:{free_port()}", check=False)
    assert result.returncode == 1
    assert "cannot reach 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr
    assert dump_state(server) == before


def test_worker_with_wrong_fingerprint_is_refused(server: RunningServer, sshd_server) -> None:
    before = dump_state(server)
    wrong = "SHA256:" + "A" * 43
    result = cli(
        server,
        "workers",
        "add",
        sshd_server.destination,
        "--identity",
        str(sshd_server.identity_file),
        "--accept-host-key",
        wrong,
        check=False,
    )
    assert result.returncode == 1
    assert sshd_server.host_key_fingerprint in result.stdout + result.stderr
    assert dump_state(server) == before
    assert not server.paths.known_hosts.exists() or (
        sshd_server.host_key_fingerprint not in server.paths.known_hosts.read_text()
    )


def test_missing_model_path_is_refused(server: RunningServer, tmp_path) -> None:
    server.client().add_worker("local")
    before = dump_state(server)
    with server.client() as client, pytest.raises(ApiError) as refused:
        client.create_deployment(
            DeploymentSpec.model_validate(deployment_body("ghost", str(tmp_path / "no-such-model")))
        )
    assert refused.value.code == "model_path_missing"
    assert "no-such-model" in refused.value.message and "local" in refused.value.message
    assert dump_state(server) == before


@pytest.mark.parametrize("bad", ["FOO", "1X=2", "=value"])
def test_malformed_env_on_the_cli_sends_nothing(server: RunningServer, tmp_path, bad) -> None:
    before = dump_state(server)
    result = cli(
        server,
        "deploy",
        "m",
        "--local-path",
        str(tmp_path),
        "--command",
        "x {port}",
        "--env",
        bad,
        check=False,
    )
    assert result.returncode == 2
    assert bad in result.stderr and "Traceback" not in result.stderr
    assert dump_state(server) == before


def test_malformed_env_in_the_api_body_is_422(server: RunningServer, tmp_path) -> None:
    before = dump_state(server)
    token = server.paths.token_file.read_text().strip()
    response = httpx.post(
        f"{server.url}/api/v1/deployments",
        json=deployment_body("m", str(tmp_path), env={"BAD NAME": "1"}),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid" and "BAD NAME" in error["message"]
    assert dump_state(server) == before


def test_unbalanced_quote_in_the_command_is_refused(server: RunningServer, tmp_path) -> None:
    token = server.paths.token_file.read_text().strip()
    response = httpx.post(
        f"{server.url}/api/v1/deployments",
        json={**deployment_body("m", str(tmp_path)), "advanced": {"command": "serve 'oops {port}"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert "quote" in response.json()["error"]["message"]


def test_unknown_deployment_in_the_proxy_is_404(server: RunningServer) -> None:
    key = server.inference_headers()
    for response in (
        httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"model": "ghost", "messages": []},
            headers=key,
        ),
        httpx.get(f"{server.url}/model/proxy/x", headers={"X-GPUStack-Model": "ghost", **key}),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "model_not_found"


def test_management_api_needs_the_token(server: RunningServer) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.get(f"{server.url}/api/v1/deployments", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert oct(server.paths.token_file.stat().st_mode & 0o777) == "0o600"


def test_a_malformed_hub_repository_is_refused_before_any_network_call(
    server: RunningServer,
) -> None:
    token = server.paths.token_file.read_text().strip()
    for path, body in (
        ("/api/v1/estimate", {"source": {"modelscope": "(garbage) id"}}),
        ("/api/v1/deployments", {**deployment_body("m", "/x"), "source": {"huggingface": "a/b/c"}}),
    ):
        response = httpx.post(
            f"{server.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 422, response.text
        assert "must look like ORG/NAME" in response.json()["error"]["message"]


def test_missing_things_are_404_with_the_name(server: RunningServer) -> None:
    token = server.paths.token_file.read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    for method, path, message in (
        ("GET", "/api/v1/workers/ghost", "no worker named 'ghost'"),
        ("PUT", "/api/v1/workers/ghost/labels", "no worker named 'ghost'"),
        ("DELETE", "/api/v1/workers/ghost", "no worker named 'ghost'"),
        ("DELETE", "/api/v1/deployments/ghost", "no deployment named 'ghost'"),
        ("DELETE", "/api/v1/instances/ghost", "no instance named 'ghost'"),
    ):
        body = {} if method == "PUT" else None
        response = httpx.request(method, f"{server.url}{path}", headers=headers, json=body)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"] == {"code": "not_found", "message": message, "details": {}}
