"""`inventory`: simulated GPUs (inline or from a file), errors for bad values, CPUs and RAM."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.conftest import AgentCallError, AgentProcess

GIB = 1024**3
SIMULATED = [
    {"name": "NVIDIA A100 80GB", "memory_total": 80 * GIB},
    {"name": "T4", "memory_total": 16 * GIB},
]


def _check_machine(inventory: dict) -> None:
    assert inventory["cpu_count"] >= 1
    assert inventory["memory_total"] > 0
    assert 0 < inventory["memory_available"] <= inventory["memory_total"]


def test_inventory_inline_simulated_gpus(start_agent: Callable[..., AgentProcess]) -> None:
    agent = start_agent({"GPUSTACK_AGENT_SIMULATED_GPUS": json.dumps(SIMULATED)})
    inventory = agent.call("inventory")
    _check_machine(inventory)
    gpus = inventory["gpus"]
    assert [g["index"] for g in gpus] == [0, 1]
    assert [g["name"] for g in gpus] == ["NVIDIA A100 80GB", "T4"]
    assert [g["memory_total"] for g in gpus] == [80 * GIB, 16 * GIB]
    assert all(g["simulated"] is True for g in gpus)
    assert all(g["memory_used"] == 0 and g["vendor"] == "nvidia" for g in gpus)
    assert set(gpus[0]) == {
        "index",
        "name",
        "vendor",
        "uuid",
        "memory_total",
        "memory_used",
        "utilization",
        "temperature",
        "simulated",
    }
    assert gpus[0]["uuid"] != gpus[1]["uuid"]


def test_inventory_simulated_gpus_from_a_file(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    gpu_file = tmp_path / "gpus.json"
    gpu_file.write_text(json.dumps(SIMULATED[:1]))
    agent = start_agent({"GPUSTACK_AGENT_SIMULATED_GPUS": str(gpu_file)})
    gpus = agent.call("inventory")["gpus"]
    assert len(gpus) == 1
    assert gpus[0]["name"] == "NVIDIA A100 80GB"
    assert gpus[0]["simulated"] is True

    gpu_file.write_text("[]")  # read on each call
    assert agent.call("inventory")["gpus"] == []


@pytest.mark.parametrize(
    "value",
    [
        "[{not json",
        '{"name": "A100", "memory_total": 1}',
        '[{"name": "A100"}]',
        '[{"name": "A100", "memory_total": "80GB"}]',
        '[{"memory_total": 1024}]',
        "[1]",
        "/no/such/file.json",
    ],
)
def test_inventory_malformed_simulated_value_is_an_error(
    start_agent: Callable[..., AgentProcess], value: str
) -> None:
    agent = start_agent({"GPUSTACK_AGENT_SIMULATED_GPUS": value})
    with pytest.raises(AgentCallError) as caught:
        agent.call("inventory")
    assert caught.value.code == "internal"
    assert "GPUSTACK_AGENT_SIMULATED_GPUS" in caught.value.message
    assert agent.call("hello")["protocol"] == 1  # still serving


def test_inventory_without_simulation_reports_real_or_no_gpus(agent_proc: AgentProcess) -> None:
    inventory = agent_proc.call("inventory")
    _check_machine(inventory)
    assert isinstance(inventory["gpus"], list)
    assert all(g["simulated"] is False for g in inventory["gpus"])
    assert all(g["vendor"] in ("nvidia", "amd", "ascend") for g in inventory["gpus"])
    assert isinstance(inventory["drivers"], dict)
    assert isinstance(inventory["gpu_errors"], list)
