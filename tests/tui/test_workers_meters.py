"""The Workers view's live GPU meters, against a real server whose worker is a real local agent
with simulated GPUs (`local:NAME`, its list in the agent home's simulated-gpus.json)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len

from gpustack_tui.client import Client
from gpustack_tui.domain.units import GIB
from gpustack_tui.domain.worker import Gpu, GpuHolder, Worker, WorkerState, WorkerStats
from gpustack_tui.tui.screens.workers import WorkersScreen
from gpustack_tui.tui.widgets.gpu_meter import (
    CRITICAL,
    HIGH,
    OK,
    USAGE_THRESHOLDS,
    bar,
    gpu_line,
    level,
)
from tests.fixtures.server import RunningServer
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE, StubClient

SMALL = (80, 24)


def write_simulated(server: RunningServer, worker: str, gpus: list[dict]) -> None:
    home = server.data_dir / f"local-agent-{worker}"
    home.mkdir(parents=True, exist_ok=True)
    (home / "simulated-gpus.json").write_text(json.dumps(gpus))


FIRST = [
    {
        "name": "Sim H100",
        "memory_total": 80 * GIB,
        "memory_used": 30 * GIB,
        "utilization": 41,
        "temperature": 62,
    },
    {
        "name": "Sim H100",
        "memory_total": 80 * GIB,
        "memory_used": 75 * GIB,
        "utilization": 97,
        "temperature": 88,
    },
]


@pytest.fixture
def live_client(server: RunningServer) -> Iterator[Client]:
    write_simulated(server, "sim1", FIRST)
    client = server.client()
    client.add_worker("local:sim1", "sim1")
    yield client
    client.close()


async def open_workers(app, pilot) -> WorkersScreen:
    await pilot.press("w")
    await pilot_wait_until(
        pilot, "the workers view", lambda: isinstance(app.screen, WorkersScreen), timeout=15
    )
    return app.screen


def panel_lines(screen: WorkersScreen) -> list[str]:
    return screen.gpu_panel.text.splitlines()


async def test_meters_show_what_the_agent_reports_and_follow_it_live(make_app, live_client, server):
    agent_view = live_client.worker_stats()[0]
    assert [g.utilization for g in agent_view.gpus] == [41, 97]
    assert [g.memory_used for g in agent_view.gpus] == [30 * GIB, 75 * GIB]
    assert agent_view.at > 0 and agent_view.cpu_count > 0 and agent_view.memory_available
    # At most one `inventory` per worker per second, however often views ask.
    started = time.monotonic()
    answers = {live_client.worker_stats()[0].at for _ in range(10)}
    assert len(answers) <= 1 + math.ceil(time.monotonic() - started)  # unbounded: 10
    time.sleep(1.1)
    assert live_client.worker_stats()[0].at > max(answers)

    app = make_app(live_client, refresh_interval=1.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workers(app, pilot)
        await pilot_wait_until(
            pilot, "the meters", lambda: len(panel_lines(screen)) >= 3, timeout=15
        )
        heading, first, second = panel_lines(screen)[:3]
        assert heading.startswith("▶ sim1 ● ready") and "simulated" in heading
        assert "41% " in first and "30.0/80.0G " in first and "62°C " in first
        assert first.rstrip().endswith("SIM")
        assert "97%‼" in second and "75.0/80.0G‼" in second and "88°C‼" in second
        cells = screen.table.get_cell("worker:sim1", "gpus").plain
        assert cells == "2x Sim H100 simulated"
        assert "/" in screen.table.get_cell("worker:sim1", "ram").plain  # used/total from RAM

        write_simulated(
            server,
            "sim1",
            [{**FIRST[0], "utilization": 12, "memory_used": 5 * GIB}, FIRST[1]],
        )
        await pilot_wait_until(
            pilot, "the new figures", lambda: "12% " in panel_lines(screen)[1], timeout=10
        )
        assert " 5.0/80.0G " in panel_lines(screen)[1]


async def test_meters_fit_80x24_from_a_real_server(make_app, live_client):
    app = make_app(live_client)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_workers(app, pilot)
        await pilot_wait_until(
            pilot, "the meters", lambda: len(panel_lines(screen)) >= 3, timeout=15
        )
        panel = screen.gpu_panel
        width = panel.scrollable_content_region.width
        assert all(cell_len(line) <= width for line in panel_lines(screen))
        assert "97%‼" in panel_lines(screen)[2]
        table = screen.table
        assert table.get_cell("worker:sim1", "gpus").plain == "2x Sim H100 SIM"  # compact
        assert table.virtual_size.width <= table.size.width  # no sideways scrolling
        assert table.region.bottom <= panel.region.y  # the table leaves room for the meters
        assert panel.region.height >= 5


class StatsClient(StubClient):
    """Workers and their live figures from memory, one GPU held by two instances."""

    def worker_stats(self) -> list[WorkerStats]:
        gpu = Gpu(index=0, name="A100", memory_total=80 * GIB, memory_used=44 * GIB)
        holders = [
            GpuHolder(gpu_index=0, instance="chat-x1", deployment="chat", claim=20 * GIB),
            GpuHolder(gpu_index=0, instance="embed-y2", deployment="embed", claim=4 * GIB),
        ]
        return [
            WorkerStats(
                name="w1",
                state=WorkerState.READY,
                at=time.time(),
                gpus=[gpu.model_copy(update={"utilization": 73.0, "temperature": None})],
                cpu_count=16,
                load_average=15.0,
                memory_total=64 * GIB,
                memory_available=8 * GIB,
                holders=holders,
            )
        ]


def stats_workers() -> list[Worker]:
    gpu = Gpu(index=0, name="A100", memory_total=80 * GIB, memory_used=1 * GIB, utilization=0)
    return [Worker(name="w1", destination="root@w1", state=WorkerState.READY, gpus=[gpu])]


async def test_holders_claims_load_and_ram_with_levels_not_colour_alone(make_app):
    app = make_app(StatsClient(workers=stats_workers()))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workers(app, pilot)
        await pilot_wait_until(
            pilot, "the meters", lambda: len(panel_lines(screen)) >= 3, timeout=15
        )
        lines = panel_lines(screen)
        assert "73%!" in lines[1] and "44.0/80.0G " in lines[1]  # live, not the stored 1 GiB
        assert "--°C" in lines[1]  # temperature not reported
        assert lines[2].strip() == "└ chat-x1 20.0G, embed-y2 4.0G"
        assert screen.table.get_cell("worker:w1", "cpu").plain.endswith("15.0/16‼")
        assert screen.table.get_cell("worker:w1", "ram").plain.endswith("56.0/64.0G!")
        assert screen.status.message == ""


def test_levels_and_bars() -> None:
    assert [level(x, USAGE_THRESHOLDS) for x in (0.0, 0.69, 0.70, 0.89, 0.90, 1.0)] == [
        OK,
        OK,
        HIGH,
        HIGH,
        CRITICAL,
        CRITICAL,
    ]
    assert len({OK.glyph, HIGH.glyph, CRITICAL.glyph}) == 3
    assert bar(0.5, 10, "green").plain == "█████     "
    assert bar(0.55, 10, "green").plain == "█████▌    "
    assert bar(1.7, 4, "green").plain == "████"
    assert bar(None, 4, "green").plain == "····"


@pytest.mark.parametrize("total", [60, 80, 120, 200])
def test_a_gpu_line_fits_its_width(total: int) -> None:
    gpu = Gpu(
        index=7,
        name="x",
        memory_total=141 * GIB,
        memory_used=140 * GIB,
        utilization=100,
        temperature=101,
        simulated=True,
    )
    assert cell_len(gpu_line(gpu, total).plain) <= max(total, 60)


def test_simulated_gpus_file_in_the_agent_home_is_checked(tmp_path: Path) -> None:
    """A bad value in the file is refused with a message naming the entry and the field."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "simulated-gpus.json").write_text(
        json.dumps([{"name": "g", "memory_total": GIB, "utilization": 140}])
    )
    request = json.dumps({"id": 1, "method": "inventory", "params": {}}) + "\n"
    env = {**os.environ, "GPUSTACK_AGENT_HOME": str(home)}
    env.pop("GPUSTACK_AGENT_SIMULATED_GPUS", None)
    answer = subprocess.run(
        [sys.executable, "-m", "agent"],
        input=request,
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=30,
    )
    error = json.loads(answer.stdout.splitlines()[0])["error"]
    assert "entry 0: 'utilization' must be a number from 0 to 100" in error["message"]
