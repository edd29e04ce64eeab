"""A worker added twice at once: the loser of the race gets 409, as a plain duplicate does."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.api import workers
from gpustack_tui.server.api.errors import install_error_handlers
from gpustack_tui.server.state.store import Store


class RacingSessions:
    """Sessions whose connect_new loses a race: another add stores the same name first."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def connect_new(
        self,
        destination: str,
        name: str | None,
        identity_file: str | None,
        accept_host_key: str | None,
        image_mirrors: dict[str, str] | None = None,
    ) -> Worker:
        """Store the racer's worker, then ours under the same name (the store refuses it)."""
        wanted = name or destination
        self.store.add_worker(Worker(name=wanted, destination="racer@elsewhere"))
        worker = Worker(name=wanted, destination=destination)
        self.store.add_worker(worker)
        return worker


def test_a_racing_duplicate_add_answers_409(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    woken: list[bool] = []
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(workers.router)
    app.state.context = SimpleNamespace(
        store=store,
        sessions=RacingSessions(store),
        reconciler=SimpleNamespace(wake=lambda: woken.append(True)),
    )
    try:
        with TestClient(app) as client:
            answer = client.post("/workers", json={"destination": "root@gpu1", "name": "gpu1"})
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "exists"
        assert [w.destination for w in store.list_workers()] == ["racer@elsewhere"]
        assert woken == []
    finally:
        store.close()
