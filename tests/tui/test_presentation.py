"""Glyphs, colours and text of table cells (no terminal needed)."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.instance import Follower, Instance, InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.presentation import (
    deployment_cells,
    deployment_state,
    gpu_line,
    instance_cells,
    instance_detail,
    instance_state,
    one_line,
    worker_cells,
)
from tests.tui.samples import instance, sample_workers, spec


@pytest.mark.parametrize(
    ("state", "glyph", "colour"),
    [
        (InstanceState.RUNNING, "●", "green"),
        (InstanceState.PENDING, "◐", "yellow"),
        (InstanceState.SCHEDULED, "◐", "yellow"),
        (InstanceState.STARTING, "◐", "yellow"),
        (InstanceState.DOWNLOADING, "◐", "yellow"),
        (InstanceState.ERROR, "✖", "red"),
        (InstanceState.UNREACHABLE, "?", "magenta"),
    ],
)
def test_instance_state_has_glyph_word_and_colour(state, glyph, colour):
    cell = instance_state(instance("x-1", "x", state))
    assert cell.plain == f"{glyph} {state.value}"
    assert str(cell.style) == colour


def test_instance_state_shows_its_phase_and_the_time_in_it():
    loading = instance("x-1", "x", InstanceState.STARTING).model_copy(
        update={"phase": "loading", "phase_since": 1000.0}
    )
    cell = instance_state(loading, now=1134.0)
    assert cell.plain == "◐ loading 2m14s" and str(cell.style) == "yellow"


def test_deployment_state_is_its_worst_instance():
    view = DeploymentView(
        spec=spec("x", 2),
        instances=[instance("x-1", "x"), instance("x-2", "x", InstanceState.ERROR)],
    )
    assert deployment_state(view).plain == "✖ error"
    assert deployment_state(DeploymentView(spec=spec("x", 0))).plain == "○ stopped"
    assert deployment_state(DeploymentView(spec=spec("x", 1))).plain == "◐ pending"
    short = DeploymentView(spec=spec("x", 2), instances=[instance("x-1", "x")])
    assert deployment_state(short).plain == "◐ scaling"


def test_deployment_row_shows_ready_backend_and_source():
    view = DeploymentView(spec=spec("chat", 2), instances=[instance("chat-1", "chat")])
    cells = deployment_cells(view)
    assert cells[0].plain == "chat"
    assert cells[1].plain == "◐ scaling 1/2"
    assert cells[-1].plain == "custom local:/models/qwen2.5-0.5b"
    stopped = DeploymentView(spec=spec("chat", 0), stopped_replicas=2)
    assert deployment_cells(stopped)[1].plain == "○ stopped (2)"


def test_instance_row_is_indented_with_worker_gpus_port_restarts_message():
    cells = instance_cells(
        instance("chat-1", "chat", InstanceState.ERROR, "boom", restarts=2), last=True
    )
    assert cells[0].plain == " └─ chat-1"
    assert [c.plain for c in cells[2:5]] == ["gpu-a", "0 12G", "40001"]
    assert cells[5].plain == "2" and str(cells[5].style) == "yellow"
    assert cells[6].plain == "boom" and str(cells[6].style) == "red"


def test_worker_text_cannot_reach_the_terminal():
    hostile = "oops\x1b]52;c;ZXZpbA==\x07\x1b[2J\nsecond line\r"
    assert one_line(hostile) == "oops second line"
    detail = instance_detail(instance("a-1", "a", InstanceState.ERROR, hostile))
    assert "\x1b" not in detail.plain and "\x07" not in detail.plain


def test_long_messages_are_cut_in_the_table_but_whole_in_the_detail():
    message = "x" * 200
    cells = instance_cells(instance("a-1", "a", message=message), last=False)
    assert len(cells[6].plain) == 160 and cells[6].plain.endswith("…")
    assert cells[6].overflow == "ellipsis"  # the table cuts it to the terminal's width
    assert message in instance_detail(instance("a-1", "a", message=message)).plain


def test_worker_cells_mark_simulated_gpus_and_list_each_gpu():
    real, local, lost = sample_workers()
    gpus = worker_cells(real)[3]
    assert gpus.plain.splitlines() == ["0 H100 30.0/80.0G 41%", "1 H100 75.0/80.0G 97%"]
    assert "simulated" in worker_cells(local)[3].plain
    assert worker_cells(local)[2].plain == "local (head node)"
    assert worker_cells(lost)[1].plain == "? unreachable"
    assert worker_cells(lost)[3].plain == "none"


def test_names_with_brackets_are_not_markup():
    worker = sample_workers()[0].model_copy(update={"labels": {"zone": "[bold]x[/]"}})
    assert all(not isinstance(c, str) for c in worker_cells(worker))
    assert worker_cells(worker)[6].plain == "zone=[bold]x[/]"


def test_full_gpu_memory_turns_red():
    _, full = sample_workers()[0].gpus
    assert any("red" in str(span.style) for span in gpu_line(full).spans)


def test_zero_replicas_say_stopped_with_the_remembered_count_or_stopping():
    remembered = DeploymentView(spec=spec("x", 0), stopped_replicas=3)
    assert deployment_state(remembered).plain == "○ stopped (3)"
    going = DeploymentView(spec=spec("x", 0), instances=[instance("x-1", "x")])
    assert deployment_state(going).plain == "◐ stopping"


def test_an_instance_spanning_workers_names_every_worker() -> None:
    wide = Instance(
        name="wide-abcde",
        deployment="wide",
        worker="w1",
        gpu_indexes=[0, 1],
        followers=[Follower(worker="w2", rank=1, gpu_indexes=[2, 3])],
    )
    assert wide.placement_text == "w1+w2"
    assert "on w1 GPUs 0,1, w2 GPUs 2,3 (rank 1)" in instance_detail(wide).plain
    assert Instance(name="n-abcde", deployment="n").placement_text == "-"
