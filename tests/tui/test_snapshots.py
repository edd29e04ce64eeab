"""Snapshots of every screen at 120x36 and 80x24 (pytest-textual-snapshot).

A failing test writes `snapshot_report.html` showing the stored picture beside the new one.
After a deliberate change of a screen, look at the report, then accept the new pictures:

    .venv/bin/python -m pytest tests/tui/test_snapshots.py --snapshot-update

The pictures are stored in `tests/tui/__snapshots__/test_snapshots/`; the scenes, shared with
`scripts/export_screenshots.py`, are in `tests/tui/scenes.py`. The clock is frozen
(`showcase.frozen_clock`) and the scenes wait for what they show, so a picture changes only
when its screen does.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension

from tests.tui.scenes import SCENES, SIZES, Scene, make_app, run_before
from tests.tui.showcase import frozen_clock

# pytest-textual-snapshot 1.0.0 names the extension the way syrupy 4 did (`_file_extension`);
# syrupy >= 5 (the first for pytest 9) reads `file_extension`, else the pictures end in .raw.
SVGImageExtension.file_extension = "svg"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every time on screen reads 2026-11-20 14:30:00 UTC, in colour whatever the shell asks."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    with frozen_clock():
        yield


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", SCENES, ids=lambda s: s.name)
def test_screen(snap_compare: Callable[..., bool], scene: Scene, size: tuple[int, int]) -> None:
    """Each screen looks as it did when its picture was accepted."""
    client = scene.client()
    try:
        assert snap_compare(make_app(client), terminal_size=size, run_before=run_before(scene))
    finally:
        client.close()


def test_the_screenshot_script_writes_an_svg_and_a_png(tmp_path: Path) -> None:
    """One command regenerates a picture in both formats (PNG drawn by rsvg-convert)."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "export_screenshots.py"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--only",
            "workers",
            "--size",
            "80x24",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    svg = (tmp_path / "workers.svg").read_text()
    assert svg.startswith("<svg") and "Workers[3]" in svg.replace("&#160;", " ")
    png = (tmp_path / "workers.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    view_box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    assert view_box is not None
    assert (width, height) == (round(float(view_box[1])), round(float(view_box[2])))
    assert len(png) > 20_000  # drawn text and meters, not an empty canvas


def test_the_script_says_what_to_install_without_rsvg_convert(tmp_path: Path) -> None:
    """Without rsvg-convert on PATH it stops with the apt packages to install."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "export_screenshots.py"
    done = subprocess.run(
        [sys.executable, str(script), "--only", "help", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": str(tmp_path)},
    )
    assert done.returncode != 0
    assert "apt-get install librsvg2-bin fonts-dejavu-core" in done.stderr
    assert not list(tmp_path.iterdir())


def test_the_script_takes_pictures_from_a_demo_installation(tmp_path: Path) -> None:
    """`--demo` pictures a real demo server with simulated workers, then stops it; a scene a
    demo cannot show comes from the sample data, and the script says so."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "export_screenshots.py"
    scenes = ["deployments", "workers", "server-unreachable"]
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--demo",
            "--no-png",
            "--only",
            *scenes,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=170,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # where the demo makes its folder
    )
    assert done.returncode == 0, done.stderr
    assert "from the sample data (a demo cannot show them): server-unreachable" in done.stdout
    deployments = (tmp_path / "deployments.svg").read_text().replace("&#160;", " ")
    assert "DEMO" in deployments and "demo-chat" in deployments and "running" in deployments
    workers = (tmp_path / "workers.svg").read_text().replace("&#160;", " ")
    assert "sim-a100" in workers and "SIM" in workers
    unreachable = (tmp_path / "server-unreachable.svg").read_text().replace("&#160;", " ")
    assert "server unreachable" in unreachable and "DEMO" not in unreachable
    assert "demo stopped" in done.stderr or "stopping the demo server" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{s}.svg" for s in scenes)


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    "name", ["deployments", "workers", "api-keys", "usage", "backends", "model-search"]
)
async def test_every_table_fits_80_columns(name: str) -> None:
    """At 80x24 no table scrolls sideways: what does not fit is shortened or said elsewhere."""
    from gpustack_tui.tui.widgets.keyed_table import KeyedTable

    scene = next(s for s in SCENES if s.name == name)
    client = scene.client()
    try:
        app = make_app(client)
        async with app.run_test(size=(80, 24)) as pilot:
            await run_before(scene)(pilot)
            tables = list(app.screen.query(KeyedTable))
            assert tables
            for table in tables:
                assert table.virtual_size.width <= table.size.width, (
                    f"{table.id}: {table.virtual_size.width} columns in {table.size.width}"
                )
    finally:
        client.close()
