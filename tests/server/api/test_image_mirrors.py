"""Image mirrors through the management API: the installation's (a file in the config folder)
and a worker's own, each checked rule by rule (422 naming the malformed one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gpustack_tui.config import single_folder
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.api import image_mirrors, workers
from gpustack_tui.server.api.errors import install_error_handlers
from gpustack_tui.server.state.image_settings import (
    ImageSettingsError,
    read_mirrors,
    write_mirrors,
)
from gpustack_tui.server.state.store import Store

RULE = {"docker.io/gpustack/": "registry.lab:5000/mirror/gpustack/"}


class NoSessions:
    """Sessions that must not be asked: a malformed body is refused before connecting."""

    async def connect_new(self, *args: object, **kwargs: object) -> Worker:
        raise AssertionError("connected despite a malformed body")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Store, Path]]:
    """The workers and image-mirrors routers over a store with the worker w1."""
    paths = single_folder(tmp_path).ensure()
    store = Store(paths.database)
    store.add_worker(Worker(name="w1", destination="root@w1"))
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(workers.router)
    app.include_router(image_mirrors.router)
    app.state.context = SimpleNamespace(
        paths=paths, store=store, sessions=NoSessions(), reconciler=SimpleNamespace(wake=None)
    )
    try:
        with TestClient(app) as client:
            yield client, store, paths.image_settings_file
    finally:
        store.close()


def test_the_installations_mirrors_are_kept_in_its_settings_file(
    api: tuple[TestClient, Store, Path],
) -> None:
    client, _store, file = api
    assert client.get("/image-mirrors").json() == {}
    answer = client.put("/image-mirrors", json=RULE)
    assert answer.status_code == 200, answer.text
    assert read_mirrors(file) == RULE
    assert client.get("/image-mirrors").json() == RULE
    assert client.put("/image-mirrors", json={}).json() == {}
    assert read_mirrors(file) == {}


def test_a_malformed_installation_rule_is_refused_naming_it(
    api: tuple[TestClient, Store, Path],
) -> None:
    client, _store, file = api
    answer = client.put("/image-mirrors", json={**RULE, "gpustack/": "registry.lab/gpustack/"})
    assert answer.status_code == 422
    assert "gpustack/=registry.lab/gpustack/" in answer.json()["error"]["message"]
    assert not file.exists()


def test_a_malformed_settings_file_is_named(api: tuple[TestClient, Store, Path]) -> None:
    client, _store, file = api
    file.write_text('[mirrors]\n"docker.io/" = "nowhere"\n')
    answer = client.get("/image-mirrors")
    assert answer.status_code == 409
    assert str(file) in answer.json()["error"]["message"]


def test_a_workers_own_mirrors_are_replaced_and_checked(
    api: tuple[TestClient, Store, Path],
) -> None:
    client, store, _file = api
    answer = client.put("/workers/w1/image-mirrors", json=RULE)
    assert answer.status_code == 200, answer.text
    assert answer.json()["image_mirrors"] == RULE
    assert store.get_worker("w1").image_mirrors == RULE
    refused = client.put("/workers/w1/image-mirrors", json={"docker.io/": ""})
    assert refused.status_code == 422
    assert "'docker.io/='" in refused.json()["error"]["message"]
    assert store.get_worker("w1").image_mirrors == RULE
    assert client.put("/workers/nope/image-mirrors", json=RULE).status_code == 404


def test_adding_a_worker_with_a_malformed_mirror_is_refused_before_connecting(
    api: tuple[TestClient, Store, Path],
) -> None:
    client, _store, _file = api
    body = {"destination": "root@w2", "image_mirrors": {"docker.io/": "mirror"}}
    answer = client.post("/workers", json=body)
    assert answer.status_code == 422
    assert "docker.io/=mirror" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[mirrors\n", "images.toml"),
        ('mirrors = "docker.io/"\n', "must map prefixes"),
        ('[mirrors]\n"docker.io/" = 1\n', "must map prefixes"),
        ('[mirrors]\n"gpustack/" = "registry.lab/"\n', "'gpustack/=registry.lab/'"),
    ],
)
def test_read_mirrors_names_the_file_and_the_problem(tmp_path: Path, text: str, why: str) -> None:
    file = tmp_path / "images.toml"
    file.write_text(text)
    with pytest.raises(ImageSettingsError, match=why) as caught:
        read_mirrors(file)
    assert str(file) in str(caught.value)


def test_write_then_read_mirrors(tmp_path: Path) -> None:
    file = tmp_path / "config" / "images.toml"
    assert read_mirrors(file) == {}
    rules = {**RULE, "docker.io/": "localhost:5000/hub/", "quay.io/a@b": "q.lab/x+y-z"}
    write_mirrors(file, rules)
    assert read_mirrors(file) == rules
    assert file.read_text().startswith("# Image mirrors")
