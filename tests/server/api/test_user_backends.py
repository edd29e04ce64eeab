"""Backends defined by users, through a real server process and its SQLite state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from gpustack_tui.client import ApiError
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.user_backend import UserBackend
from gpustack_tui.server.state.migrations import SCHEMA_VERSION, migrate
from gpustack_tui.server.state.store import BackendInUse, NotFound, Store
from tests.fixtures.server import RunningServer, start_server, stop_server

LLAMA = {
    "name": "llama-cpp",
    "image": "ghcr.io/ggml-org/llama.cpp:server",
    "command": "-m {model_path} --host 0.0.0.0 --port {port} --alias {model_name}",
    "health_path": "/v1/models",
    "versions": [{"version": "b5000"}, {"version": "b4000", "image": "ghcr.io/x/llama:b4000"}],
}


def spec(name: str = "chat", backend: str = "llama-cpp", version: str = "auto") -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": name, "source": {"local_path": "/models/m"}, "backend": backend,
         "backend_version": version}
    )  # fmt: skip


def rows(data_dir: Path) -> list[tuple]:
    db = sqlite3.connect(data_dir / "state.db")
    try:
        return db.execute("SELECT name, data FROM user_backends ORDER BY name").fetchall()
    finally:
        db.close()


def test_add_list_get_replace_delete(server: RunningServer) -> None:
    with server.client() as client:
        added = client.add_backend(UserBackend.model_validate(LLAMA))
        assert added.default_version == "b5000"
        assert [b.name for b in client.list_backends()] == ["llama-cpp"]
        assert client.get_backend("llama-cpp") == added
        with pytest.raises(ApiError) as taken:
            client.add_backend(added)
        assert (taken.value.status, taken.value.code) == (409, "exists")

        changed = added.model_copy(update={"health_path": "/health"})
        assert client.put_backend(changed).health_path == "/health"
        assert client.get_backend("llama-cpp").health_path == "/health"

        client.delete_backend("llama-cpp")
        assert client.list_backends() == []
        with pytest.raises(ApiError) as builtin:
            client.delete_backend("vllm")
        assert builtin.value.code == "builtin" and "cannot be removed" in builtin.value.message
        with pytest.raises(ApiError) as gone:
            client.get_backend("llama-cpp")
        assert gone.value.status == 404 and "no backend named 'llama-cpp'" in gone.value.message


def test_put_creates_with_201_and_checks_the_url(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.paths.token_file.read_text().strip()}"}
    url = f"{server.url}/api/v1/backends/llama-cpp"
    assert httpx.put(url, json=LLAMA, headers=headers).status_code == 201
    assert httpx.put(url, json=LLAMA, headers=headers).status_code == 200
    other = httpx.put(f"{server.url}/api/v1/backends/other", json=LLAMA, headers=headers)
    assert other.status_code == 422 and "URL names 'other'" in other.json()["error"]["message"]


def test_the_management_token_is_needed(server: RunningServer) -> None:
    assert httpx.get(f"{server.url}/api/v1/backends").status_code == 401
    refused = httpx.post(f"{server.url}/api/v1/backends", json=LLAMA)
    assert refused.status_code == 401
    assert rows(server.data_dir) == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": "vllm"}, "built-in backend"),
        ({"command": "srv --port {port} --gpu {device}"}, "unknown placeholder(s) {device}"),
        ({"command": "srv 'oops"}, "quotes"),
        ({"env": {"A B": "1"}}, "'A B'"),
        ({"default_version": "nope"}, "not among the versions"),
        ({"gpus": 1}, "gpus"),
    ],
)
def test_bad_definitions_are_refused_and_nothing_is_stored(
    server: RunningServer, change: dict, words: str
) -> None:
    headers = {"Authorization": f"Bearer {server.paths.token_file.read_text().strip()}"}
    answer = httpx.post(f"{server.url}/api/v1/backends", json={**LLAMA, **change}, headers=headers)
    assert answer.status_code == 422
    assert words in answer.json()["error"]["message"]
    assert rows(server.data_dir) == []


def test_a_deployment_must_name_a_known_backend_and_version(server: RunningServer) -> None:
    with server.client() as client:
        with pytest.raises(ApiError) as unknown:
            client.create_deployment(spec(backend="llama-cpp"))
        assert (unknown.value.status, unknown.value.code) == (422, "unknown_backend")
        assert "vllm, sglang, mindie, voxbox, custom" in unknown.value.message
        assert "backends add" in unknown.value.message

        client.add_backend(UserBackend.model_validate(LLAMA))
        with pytest.raises(ApiError) as version:
            client.apply_deployment(spec(version="b1"))
        assert version.value.code == "unknown_version"
        assert "known: b5000, b4000" in version.value.message

        offload = spec()
        offload.advanced.allow_cpu_offloading = True
        with pytest.raises(ApiError) as cpu:
            client.create_deployment(offload)
        assert "cannot offload to the CPU" in cpu.value.message
        assert client.list_deployments() == []


def test_delete_while_deployments_use_it_is_refused_by_name(server: RunningServer) -> None:
    with server.client() as client:
        client.add_backend(UserBackend.model_validate(LLAMA))
        client.create_deployment(spec("chat"))
        client.apply_deployment(spec("code", version="b4000"))
        with pytest.raises(ApiError) as refused:
            client.delete_backend("llama-cpp")
        assert refused.value.status == 409
        assert refused.value.details["deployments"] == ["chat", "code"]
        assert "chat, code" in refused.value.message

        # Dropping the version `code` pins is refused too; the definition stays as it was.
        narrowed = UserBackend.model_validate({**LLAMA, "versions": [{"version": "b5000"}]})
        with pytest.raises(ApiError) as pinned:
            client.put_backend(narrowed)
        assert pinned.value.status == 409 and "code (b4000)" in pinned.value.message
        assert client.get_backend("llama-cpp").version_names() == ["b5000", "b4000"]

        client.delete_deployment("chat")
        client.delete_deployment("code")
        client.delete_backend("llama-cpp")
        assert client.list_backends() == []


def test_backends_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "install"
    first = start_server(data_dir)
    try:
        with first.client() as client:
            client.add_backend(UserBackend.model_validate(LLAMA))
    finally:
        stop_server(first)
    second = start_server(data_dir)
    try:
        with second.client() as client:
            assert client.get_backend("llama-cpp") == UserBackend.model_validate(LLAMA)
    finally:
        stop_server(second)


def test_store_methods_on_real_sqlite(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    try:
        backend = UserBackend.model_validate(LLAMA)
        assert store.put_user_backend(backend) is True
        assert store.put_user_backend(backend) is False
        assert store.get_user_backend("llama-cpp") == backend
        with pytest.raises(NotFound, match="no backend named 'nope'"):
            store.get_user_backend("nope")
        store.create_deployment(spec())
        with pytest.raises(BackendInUse) as caught:
            store.delete_user_backend("llama-cpp")
        assert caught.value.deployments == ["chat"]
        assert store.deployments_using_backend("llama-cpp") == {"chat": "auto"}
        with pytest.raises(NotFound):
            store.delete_user_backend("nope")
    finally:
        store.close()


def test_step_four_upgrades_an_older_database(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    from gpustack_tui.server.state import migrations

    for step in migrations.STEPS[:3]:
        for statement in step.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '3')")
    db.execute("INSERT INTO workers (name, data, created_at) VALUES ('w', '{}', 0)")
    assert migrate(db) is False
    assert SCHEMA_VERSION >= 4
    assert db.execute("SELECT count(*) FROM user_backends").fetchone() == (0,)
    assert db.execute("SELECT name FROM workers").fetchall() == [("w",)]
    db.close()


def test_step_five_keeps_the_backends_of_a_schema_four_database(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    from gpustack_tui.server.state import migrations

    for step in migrations.STEPS[:4]:
        for statement in step.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '4')")
    data = UserBackend.model_validate(LLAMA).model_dump_json()
    db.execute(
        "INSERT INTO custom_backends (name, data, created_at, updated_at) VALUES (?, ?, 0, 0)",
        ("llama-cpp", data),
    )
    assert migrate(db) is False
    assert db.execute("SELECT name, data FROM user_backends").fetchall() == [("llama-cpp", data)]
    db.close()
