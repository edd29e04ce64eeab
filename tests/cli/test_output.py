"""Human tables and JSON output, from model objects."""

from __future__ import annotations

import json
import time

from gpustack_tui.cli.output import (
    GIB,
    deployments_table,
    format_gpus,
    instances_table,
    render_table,
    workers_table,
)
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import Gpu, Worker, WorkerState


def sim(index: int, name: str = "sim-A100", gib: int = 24) -> Gpu:
    return Gpu(index=index, name=name, memory_total=gib * GIB, simulated=True)


def worker(**kw) -> Worker:
    base = dict(
        name="gpu1",
        destination="ops@10.0.0.5",
        address="10.0.0.5",
        state=WorkerState.READY,
        gpus=[sim(0), sim(1)],
        cpu_count=32,
        memory_total=128 * GIB,
        labels={"zone": "a", "tier": "x"},
    )
    return Worker(**{**base, **kw})


def view() -> DeploymentView:
    spec = DeploymentSpec(
        name="qwen3",
        source={"local_path": "/models/q"},
        replicas=2,
        advanced={"command": "serve {port}"},
    )
    return DeploymentView(
        spec=spec,
        instances=[
            Instance(
                name="qwen3-ab12",
                deployment="qwen3",
                state=InstanceState.RUNNING,
                worker="gpu1",
                gpu_indexes=[0, 1],
                port=40001,
                restart_count=2,
            ),
            Instance(
                name="qwen3-cd34", deployment="qwen3", state_message="no worker has 2 free GPUs"
            ),
        ],
    )


def test_gpus_are_grouped() -> None:
    assert format_gpus([sim(0), sim(1)]) == "2× sim-A100 24.0 GiB (simulated)"  # noqa: RUF001
    real = Gpu(index=2, name="L4", memory_total=int(22.5 * GIB))
    expected = "1× sim-A100 24.0 GiB (simulated), 1× L4 22.5 GiB"  # noqa: RUF001
    assert format_gpus([sim(0), real]) == expected
    assert format_gpus([]) == "none"


def test_columns_are_aligned() -> None:
    lines = render_table(["A", "LONG HEADER", "C"], [["xxxxx", "y", "z"], ["x", "yy", "zz"]])
    assert lines == [
        "A      LONG HEADER  C",
        "xxxxx  y            z",
        "x      yy           zz",
    ]


def test_workers_table() -> None:
    lines = workers_table(
        [
            worker(),
            worker(
                name="w2",
                gpus=[],
                state=WorkerState.UNREACHABLE,
                state_message="ssh: timed out",
                labels={},
            ),
        ]
    )
    assert lines[0].split() == [
        "NAME",
        "STATE",
        "ADDRESS",
        "GPUS",
        "CPU",
        "RAM",
        "LABELS",
        "MESSAGE",
    ]
    assert "2× sim-A100 24.0 GiB (simulated)" in lines[1]  # noqa: RUF001
    assert "128.0 GiB" in lines[1]
    assert "tier=x,zone=a" in lines[1]
    assert lines[2].startswith("w2 ") and lines[2].endswith("ssh: timed out")
    # the GPUS column starts at the same offset on every line
    column = lines[0].index("GPUS")
    assert lines[1][column:].startswith("2×")  # noqa: RUF001
    assert lines[2][column:].startswith("none")


def test_deployments_table_has_instances_beneath() -> None:
    lines = deployments_table([view()])
    assert lines[1].startswith("qwen3 ")
    assert "1/2 running" in lines[1]
    assert "local_path: /models/q" in lines[1]
    assert lines[2].startswith("  qwen3-ab12")
    assert lines[2].split()[1:] == ["running", "gpu1", "0,1", "40001", "2"]
    assert lines[3].split()[1:5] == ["pending", "-", "-", "-"]
    assert lines[3].endswith("no worker has 2 free GPUs")


def test_escape_sequences_never_reach_the_table() -> None:
    evil = worker(state_message="\x1b]0;owned\x07boom\x1b[2J\nline2", name="w\x1b[31m")
    text = "\n".join(workers_table([evil]))
    assert "\x1b" not in text and "\x07" not in text
    assert "boom line2" in text
    inst = Instance(name="x", deployment="d", state_message="\x9b31mred")
    assert "\x9b" not in "\n".join(instances_table([inst]))


def test_ls_json_is_model_dump(run, fake_client) -> None:
    fake_client.responses["list_deployments"] = [view()]
    result = run("ls", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [view().model_dump(mode="json")]
    fake_client.responses["list_workers"] = [worker()]
    result = run("workers", "ls", "--json")
    assert json.loads(result.stdout) == [worker().model_dump(mode="json")]
    fake_client.responses["list_instances"] = view().instances
    result = run("instances", "ls", "--json")
    assert json.loads(result.stdout)[0]["name"] == "qwen3-ab12"


def test_human_ls_without_a_terminal_has_no_colours(run, fake_client) -> None:
    fake_client.responses["list_deployments"] = [view()]
    result = run("ls", env={"NO_COLOR": None})
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "qwen3-ab12" in result.stdout


def test_instance_state_shows_its_phase_and_the_time_in_it(monkeypatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 10_000.0)
    loading = Instance(
        name="qwen3-ab12",
        deployment="qwen3",
        state=InstanceState.STARTING,
        phase="loading",
        phase_since=10_000.0 - 134,
    )
    lines = instances_table([loading])
    assert lines[1].split()[2:4] == ["loading", "2m14s"]
    assert lines[1][lines[0].index("WORKER") :].startswith("- ")  # the columns stay aligned
