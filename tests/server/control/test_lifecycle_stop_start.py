"""Stop and Start: replicas to 0 with the count remembered, and back; through the API, the CLI
and the TUI's keys, against a real server with the local worker running the test backend."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gpustack_tui.client import ApiError
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.screens.confirm import ConfirmModal
from tests.fixtures.backend import BACKEND_TEMPLATE
from tests.fixtures.processes import backend_pids
from tests.fixtures.server import RunningServer, cli
from tests.fixtures.waiting import pilot_wait_until, wait_until
from tests.tui.conftest import SIZE


def deploy(server: RunningServer, name: str, replicas: int, path: Path) -> None:
    spec = {
        "name": name,
        "source": {"local_path": str(path)},
        "replicas": replicas,
        "advanced": {"command": BACKEND_TEMPLATE, "allow_cpu_offloading": True},
    }
    server.client().create_deployment(DeploymentSpec.model_validate(spec))


def running(server: RunningServer, name: str, count: int) -> bool:
    instances = server.client().get_deployment(name).instances
    return len(instances) == count and all(i.state is InstanceState.RUNNING for i in instances)


def test_stop_remembers_the_count_and_start_restores_it(
    server: RunningServer, tmp_path: Path
) -> None:
    server.client().add_worker("local")
    deploy(server, "duo", 2, tmp_path)
    wait_until("two running instances", lambda: running(server, "duo", 2), timeout=30)
    assert len(backend_pids("duo")) == 2

    out = cli(server, "stop", "duo").stdout
    assert "stopped duo" in out and "2 replicas" in out
    view = server.client().get_deployment("duo")
    assert (view.spec.replicas, view.stopped_replicas) == (0, 2)
    wait_until("the processes stopped", lambda: not backend_pids("duo"), timeout=30)
    wait_until(
        "no instances", lambda: not server.client().get_deployment("duo").instances, timeout=30
    )

    cli(server, "stop", "duo")  # stopping again keeps what was remembered
    assert server.client().get_deployment("duo").stopped_replicas == 2

    out = cli(server, "start", "duo").stdout
    assert "started duo with 2 replicas" in out
    view = server.client().get_deployment("duo")
    assert (view.spec.replicas, view.stopped_replicas) == (2, None)
    wait_until("two running again", lambda: running(server, "duo", 2), timeout=30)

    out = cli(server, "start", "duo").stdout
    assert "already runs 2 replicas" in out
    assert server.client().get_deployment("duo").spec.replicas == 2

    cli(server, "stop", "duo")
    out = cli(server, "start", "duo", "--replicas", "1").stdout
    assert "started duo with 1 replica" in out
    wait_until("one running", lambda: running(server, "duo", 1), timeout=30)


def test_start_without_a_remembered_count_starts_one(server: RunningServer, tmp_path: Path) -> None:
    deploy(server, "idle", 0, tmp_path)  # no worker needed: nothing is placed until later
    view = server.client().start_deployment("idle")
    assert (view.spec.replicas, view.stopped_replicas) == (1, None)


def test_scale_to_zero_is_a_stop_and_scaling_up_or_applying_forgets_it(
    server: RunningServer, tmp_path: Path
) -> None:
    deploy(server, "sc", 3, tmp_path)
    client = server.client()
    assert client.scale("sc", 0).stopped_replicas == 3
    assert client.start_deployment("sc").spec.replicas == 3
    client.scale("sc", 0)
    view = client.scale("sc", 2)
    assert (view.spec.replicas, view.stopped_replicas) == (2, None)
    client.stop_deployment("sc")
    applied = client.apply_deployment(view.spec.model_copy(update={"replicas": 4}))
    assert (applied.spec.replicas, applied.stopped_replicas) == (4, None)


def test_unknown_names_and_bad_counts_are_refused_cleanly(
    server: RunningServer, tmp_path: Path
) -> None:
    for command in ("stop", "start"):
        result = cli(server, command, "ghost", check=False)
        assert result.returncode == 1
        assert "no deployment named 'ghost'" in result.stderr
        assert "Traceback" not in result.stderr
    deploy(server, "solo", 1, tmp_path)
    bad = cli(server, "start", "solo", "--replicas", "0", check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    try:
        server.client()._request("POST", "/api/v1/deployments/solo/start", json={"replicas": 99})
    except ApiError as exc:
        assert exc.status == 422
    else:
        raise AssertionError("99 replicas were accepted")
    assert server.client().get_deployment("solo").spec.replicas == 1


def test_the_remembered_count_survives_a_server_restart(
    server: RunningServer, tmp_path: Path
) -> None:
    deploy(server, "kept", 2, tmp_path)
    server.client().stop_deployment("kept")
    db = sqlite3.connect(f"file:{server.paths.database}?mode=ro", uri=True)
    try:
        (row,) = db.execute("SELECT stopped_replicas FROM deployments WHERE name = 'kept'")
    finally:
        db.close()
    assert row == (2,)


async def test_x_stops_and_shift_x_starts_from_the_deployments_view(
    server: RunningServer, tmp_path: Path
) -> None:
    deploy(server, "tui", 2, tmp_path)
    client = server.client()
    app = GpustackApp(server.client(), refresh_interval=0.3)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot_wait_until(
            pilot, "the row", lambda: "dep:tui" in screen.table.row_keys, timeout=20
        )
        screen.table.select_key("dep:tui")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await pilot_wait_until(
            pilot, "stopped", lambda: client.get_deployment("tui").spec.replicas == 0, timeout=20
        )
        await pilot_wait_until(
            pilot, "the status", lambda: "X starts its 2" in screen.status.message, timeout=20
        )
        await pilot_wait_until(
            pilot, "the view updated", lambda: screen.views["tui"].spec.replicas == 0, timeout=20
        )

        await pilot.press("x")  # already stopped: said, nothing sent
        await pilot.pause()
        assert screen.status.level == "error" and "already stopped" in screen.status.message

        await pilot.press("X")
        await pilot_wait_until(
            pilot, "started", lambda: client.get_deployment("tui").spec.replicas == 2, timeout=20
        )
        await pilot_wait_until(
            pilot,
            "the status",
            lambda: "started tui with 2 replica" in screen.status.message,
            timeout=20,
        )
