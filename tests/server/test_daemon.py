"""Starting, finding and stopping the server; its state survives a restart."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from gpustack_tui.config import resolve_paths
from gpustack_tui.launcher import ensure_server, server_answers
from gpustack_tui.server.daemon import running_pid, stop_server
from gpustack_tui.server.state.migrations import SCHEMA_VERSION
from tests.fixtures.ports import free_port
from tests.fixtures.server import RunningServer, cli, start_server


def run_server_cmd(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gpustack_tui", "server", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_one_server_per_data_dir(server: RunningServer) -> None:
    result = run_server_cmd(server.data_dir, "--port", str(free_port()))
    assert result.returncode != 0
    assert "another server already runs" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_explained(server: RunningServer, tmp_path: Path) -> None:
    port = server.url.rsplit(":", 1)[1]
    result = run_server_cmd(tmp_path / "other", "--port", port)
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr


def test_server_stop_stops_it(server: RunningServer) -> None:
    assert running_pid(server.paths) == server.process.pid
    cli(server, "server", "stop")
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why.
    assert server.process.wait(timeout=20) in (0, -15)
    assert not server_answers(server.url)
    assert not server.paths.server_file.exists(), "a stopped server must not leave its address"
    again = cli(server, "server", "stop", check=False)
    assert "no server" in (again.stdout + again.stderr).lower()


def test_state_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "install"
    first = start_server(data_dir)
    try:
        cli(first, "apply", "-f", "-", check=False)  # nothing on stdin: a clear error, no change
        with first.client() as client:
            token = first.paths.token_file.read_text()
            from gpustack_tui.domain.deployment import DeploymentSpec

            client.apply_deployment(
                DeploymentSpec.model_validate(
                    {
                        "name": "kept",
                        "source": {"local_path": "/nowhere"},
                        "replicas": 0,
                        "advanced": {"command": "serve {port}"},
                    }
                )
            )
    finally:
        stop_server(first.paths)
        first.process.wait(timeout=20)
    second = start_server(data_dir)
    try:
        with second.client() as client:
            assert [d.name for d in client.list_deployments()] == ["kept"]
        assert second.paths.token_file.read_text() == token
    finally:
        stop_server(second.paths)
        second.process.wait(timeout=20)
    db = sqlite3.connect(resolve_paths(data_dir).database)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION


def test_launcher_starts_a_background_server(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path / "install")
    url = f"http://127.0.0.1:{free_port()}"
    try:
        found, started = ensure_server(paths, url)
        assert (found, started) == (url, True)
        assert server_answers(url)
        assert paths.server_log.exists()
        assert ensure_server(paths, url) == (url, False)
    finally:
        assert stop_server(paths)
    assert not server_answers(url)


def test_main_port_is_the_lean_listener_and_stops_within_its_grace(tmp_path: Path) -> None:
    """One front door: /v1 and the management API answer on the main port from the lean
    listener; a stop closes idle keep-alive connections at once and cuts an answer that never
    ends (a followed log, here a request the app has not finished reading) after the grace."""
    import socket
    import time

    from gpustack_tui.server.daemon import GRACEFUL_STOP_SECONDS

    server = start_server(tmp_path / "install")
    try:
        with server.client() as client:
            assert client.list_workers() == []
        health = httpx.get(f"{server.url}/healthz")
        assert health.headers["server"] == "gpustack-tui"  # not uvicorn's own protocol
        refused = httpx.post(f"{server.url}/v1/chat/completions", json={"model": "m"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        host, port = server.url.removeprefix("http://").split(":")
        idle = socket.create_connection((host, int(port)))
        idle.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        hanging = socket.create_connection((host, int(port)))
        partial = b"PUT /api/v1/deployments/x HTTP/1.1\r\nhost: x\r\ncontent-length: 99\r\n\r\n{"
        hanging.sendall(partial)
        time.sleep(0.3)
        started = time.monotonic()
        stop_server(server.paths)
        assert server.process.wait(timeout=GRACEFUL_STOP_SECONDS + 10) in (0, -15)
        took = time.monotonic() - started
        assert took < GRACEFUL_STOP_SECONDS + 5, f"the stop took {took:.1f} s"
        idle.settimeout(5)
        while idle.recv(4096):  # what is left of the answer, then the end (or TimeoutError)
            pass
        idle.close()
        hanging.close()
    finally:
        if server.process.poll() is None:
            server.process.kill()
