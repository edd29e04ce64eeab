"""GET /api/v1/files and `gpustack-tui files ls`: folders and .gguf files on the server and on a
worker over real SSH, with clear errors for bad paths and unreachable workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpustack_tui.client import ApiError
from tests.fixtures.server import RunningServer, cli, start_server, stop_server
from tests.fixtures.sshd import SshdServer


def model_tree(root: Path) -> Path:
    models = root / "models"
    (models / "Qwen3-0.6B").mkdir(parents=True)
    (models / "qwen-gguf").mkdir()
    (models / "tiny.gguf").write_bytes(b"GGUF" + b"\0" * (2 * 1024 * 1024 - 4))
    (models / "README.md").write_text("not a model")
    (models / ".git").mkdir()
    return models


def names(listing: dict) -> list[str]:
    return [e["name"] + ("/" if e["is_dir"] else "") for e in listing["entries"]]


def refused(call: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_the_server_lists_folders_and_gguf_files(server: RunningServer, tmp_path: Path) -> None:
    models = model_tree(tmp_path)
    listing = server.client().list_files(str(models))
    assert listing["where"] == "server"
    assert listing["path"] == str(models)
    assert names(listing) == ["Qwen3-0.6B/", "qwen-gguf/", "tiny.gguf"]
    assert listing["entries"][2]["size"] == 2 * 1024 * 1024
    every = server.client().list_files(str(models), all_files=True)
    assert "README.md" in names(every) and ".git/" not in names(every)


@pytest.mark.parametrize(
    ("path", "status", "code", "words"),
    [
        ("models", 422, "invalid", "give an absolute path (starting with / or ~)"),
        ("/no/such/dir", 404, "not_found", "on the server: /no/such/dir does not exist"),
        ("FILE", 422, "bad_request", "is a file, not a folder"),
    ],
)
def test_bad_paths_are_refused_with_what_to_do(
    server: RunningServer, tmp_path: Path, path: str, status: int, code: str, words: str
) -> None:
    if path == "FILE":
        path = str(model_tree(tmp_path) / "tiny.gguf")
    error = refused(lambda: server.client().list_files(path))
    assert (error.status, error.code) == (status, code)
    assert words in error.message


def test_the_management_token_is_required(server: RunningServer, tmp_path: Path) -> None:
    from gpustack_tui.client import Client

    error = refused(lambda: Client(server.url, None).list_files(str(tmp_path)))
    assert error.status == 401


def test_a_worker_lists_through_its_agent_and_unknown_workers_are_404(
    server: RunningServer, sshd_server: SshdServer, tmp_path: Path
) -> None:
    models = model_tree(tmp_path)
    sshd_server.add_to(server.client(), "w1")
    listing = server.client().list_files(str(models), worker="w1")
    assert listing["where"] == "worker w1"
    assert names(listing) == ["Qwen3-0.6B/", "qwen-gguf/", "tiny.gguf"]
    missing = refused(lambda: server.client().list_files("/no/such", worker="w1"))
    assert (missing.status, missing.code) == (404, "not_found")
    assert missing.message.startswith("on worker w1: ")
    ghost = refused(lambda: server.client().list_files(str(models), worker="ghost"))
    assert ghost.status == 404 and "ghost" in ghost.message

    out = cli(server, "files", "ls", str(models), "--worker", "w1").stdout
    assert f"{models} on the worker w1" in out
    assert "Qwen3-0.6B/" in out and "tiny.gguf" in out and "2.0 MiB" in out
    data = json.loads(cli(server, "files", "ls", str(models), "--json").stdout)
    assert data["where"] == "server" and len(data["entries"]) == 3
    bad = cli(server, "files", "ls", "relative/path", check=False)
    assert bad.returncode != 0 and "give an absolute path" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_an_unreachable_worker_is_said_at_once(tmp_path: Path, sshd_server: SshdServer) -> None:
    data_dir = tmp_path / "install"
    first = start_server(data_dir)
    try:
        sshd_server.add_to(first.client(), "gone")
    finally:
        stop_server(first)
    sshd_server.stop()
    again = start_server(data_dir)
    try:
        error = refused(lambda: again.client().list_files(str(tmp_path), worker="gone"))
    finally:
        stop_server(again)
    assert (error.status, error.code) == (503, "worker_unreachable")
    assert "worker gone did not answer" in error.message
    assert "list the server's folders instead" in error.message
