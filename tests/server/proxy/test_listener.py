"""A separate inference listener, with TLS, beside the loopback management API (one process)."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

from tests.fixtures.ports import free_port
from tests.fixtures.server import start_server, stop_server
from tests.fixtures.tls import self_signed


def test_tls_inference_listener_serves_only_inference(tmp_path: Path) -> None:
    cert, key_file = self_signed(tmp_path)
    port = free_port()
    server = start_server(
        tmp_path / "install",
        [
            "--inference-host",
            "127.0.0.1",
            "--inference-port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key_file),
        ],
    )
    try:
        key = server.api_key("app")
        recorded = json.loads(server.paths.server_file.read_text())
        assert recorded["inference_url"] == f"https://127.0.0.1:{port}"
        context = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=context) as tls:
            models = tls.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
            assert models.status_code == 200 and models.json()["object"] == "list"
            assert tls.get("/v1/models").status_code == 401
            # POSTs take the lean path: the same key check and errors.
            missing = tls.post(
                "/v1/chat/completions",
                json={"model": "nope"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert missing.status_code == 404
            assert missing.json()["error"]["code"] == "model_not_found"
            assert tls.post("/v1/chat/completions", json={"model": "nope"}).status_code == 401
            token = server.paths.token_file.read_text().strip()
            # The management API is not on the network-facing listener, token or not.
            hidden = tls.get("/api/v1/deployments", headers={"Authorization": f"Bearer {token}"})
            assert hidden.status_code == 404
            assert tls.get(
                "/metrics", headers={"Authorization": f"Bearer {token}"}
            ).status_code == (404)
        # ...and the inference routes are not on the management listener.
        assert httpx.get(f"{server.url}/v1/models", headers={"X-API-Key": key}).status_code == 404
        assert server.client().list_keys()[0].name == "app"
        # Plain HTTP to the TLS port fails: there is no cleartext fallback.
        try:
            plain = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"X-API-Key": key})
        except httpx.HTTPError:
            pass
        else:
            assert plain.status_code == 400
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) in (0, -signal.SIGTERM)
        assert not server.paths.server_file.exists()
    finally:
        stop_server(server)


def test_bad_listener_options_are_refused_clearly(tmp_path: Path) -> None:
    cert, _key = self_signed(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = str(taken.getsockname()[1])
        for extra, words in (
            (["--tls-cert", str(cert)], "both --tls-cert"),
            (["--inference-host", "127.0.0.1", "--inference-port", busy], "--inference-port"),
        ):
            command = [sys.executable, "-m", "gpustack_tui", "server"]
            command += ["--data-dir", str(tmp_path / "d"), "--port", str(free_port())]
            result = subprocess.run(
                [*command, "--no-local-worker", *extra], capture_output=True, text=True, timeout=30
            )
            assert result.returncode != 0, result
            assert words in result.stderr and "Traceback" not in result.stderr, result.stderr
