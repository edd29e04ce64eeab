"""The phase formatter shared by `ls`, the TUI tables and the describe pages."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.instance import Instance, InstanceState, Progress
from gpustack_tui.domain.phase_text import duration, progress_text, state_label

GIB = 1024**3


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "0s"),
        (0, "0s"),
        (12.9, "12s"),
        (59, "59s"),
        (60, "1m00s"),
        (62, "1m02s"),
        (134, "2m14s"),
        (599, "9m59s"),
        (600, "10m"),
        (3599, "59m"),
        (3600, "1h00m"),
        (3 * 3600 + 5 * 60, "3h05m"),
        (86399, "23h59m"),
        (86400, "1d00h"),
        (2 * 86400 + 4 * 3600 + 59, "2d04h"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("phase", "progress", "text"),
    [
        ("downloading", None, ""),
        ("downloading", Progress(done=0, total=0), ""),
        ("downloading", Progress(done=37, total=100), "37%"),
        ("downloading", Progress(done=200, total=100), "100%"),
        ("pulling image", Progress(done=int(3.1 * GIB), total=int(9.8 * GIB)), "3.1/9.8 GiB"),
    ],
)
def test_progress_text(phase: str, progress: Progress | None, text: str) -> None:
    assert progress_text(phase, progress) == text


NOW = 1_800_000_000.0


def at(state: InstanceState, phase: str, since: float, **fields: object) -> Instance:
    return Instance.model_validate(
        {"name": "m-a", "deployment": "m", "state": state, "phase": phase, "phase_since": since}
        | fields
    )


@pytest.mark.parametrize(
    ("instance", "text"),
    [
        (at(InstanceState.STARTING, "starting", NOW - 12), "starting 12s"),
        (at(InstanceState.STARTING, "loading", NOW - 134), "loading 2m14s"),
        (
            at(
                InstanceState.DOWNLOADING,
                "downloading",
                NOW - 62,
                progress={"done": 37, "total": 100},
            ),
            "downloading 37% 1m02s",
        ),
        (at(InstanceState.ERROR, "error", NOW - 180), "error 3m00s"),
        (at(InstanceState.RUNNING, "running", NOW - 3 * 3600), "running 3h00m"),
        (at(InstanceState.ANALYZING, "analyzing", NOW), "analyzing 0s"),
        # A row written before phases were recorded: its state, no time.
        (at(InstanceState.STARTING, "", 0.0), "starting"),
    ],
)
def test_state_label(instance: Instance, text: str) -> None:
    assert state_label(instance, NOW) == text
