"""The management API's OpenAPI schema, fuzzed with schemathesis against a real server process.

Every operation under /api/v1 gets generated valid and invalid requests (a bounded number, so
the run stays well under a minute); none may answer 5xx or break the connection. Afterwards the
server still answers and its state is consistent. Left out, because tests reach no network:
`POST /api/v1/workers` (connects over SSH to whatever destination it is given) and the
operations that ask public model hubs (`REACHES_OUT`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from tests.fixtures.server import RunningServer, start_server, stop_server

MAX_EXAMPLES = 25
REACHES_OUT = r"^/api/v1/(estimate|plan|models/search|sources)"
"""Operations that read model metadata from public hubs (the network)."""


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the whole fuzz run, checked for consistency at the end."""
    running = start_server(tmp_path_factory.mktemp("fuzz") / "install")
    yield running
    try:
        assert_consistent(running)
    finally:
        stop_server(running)


def _token(server: RunningServer) -> str:
    return server.paths.token_file.read_text().strip()


def management_operations(server: RunningServer) -> list[schemathesis.APIOperation]:
    """The live server's own schema, management operations only."""
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    schema = schema.include(path_regex=r"^/api/v1/").exclude(method="POST", path="/api/v1/workers")
    return [result.ok() for result in schema.exclude(path_regex=REACHES_OUT).get_all_operations()]


def test_management_api_never_fails_on_any_input(fuzzed_server: RunningServer) -> None:
    # schemathesis's pytest plugin does not run under pytest 9 yet, so each operation's strategy
    # drives a plain Hypothesis test here.
    headers = {"Authorization": f"Bearer {_token(fuzzed_server)}"}
    operations = management_operations(fuzzed_server)
    assert len(operations) >= 10, [op.label for op in operations]
    tried: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=fuzzed_server.url,
                headers=headers,
                checks=[not_a_server_error],
                timeout=10,
            )

        fuzz()
        tried.append(operation.label)
    assert "POST /api/v1/keys" in tried and "DELETE /api/v1/keys/{name}" in tried


def assert_consistent(server: RunningServer) -> None:
    """The server answers, every stored row reads back, and SQLite finds no damage."""
    health = httpx.get(f"{server.url}/healthz", timeout=5)
    assert health.status_code == 200
    with server.client() as client:
        client.list_workers()
        views = client.list_deployments()
        client.list_instances()
        keys = client.list_keys()
        client.usage()
    names = {view.name for view in views}
    assert all(i.deployment in names for view in views for i in view.instances)
    assert len({k.name for k in keys}) == len(keys)
    database: Path = server.paths.database
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = db.execute(
            "SELECT COUNT(*) FROM instances WHERE deployment NOT IN (SELECT name FROM deployments)"
        ).fetchone()[0]
        assert orphans == 0
    finally:
        db.close()
