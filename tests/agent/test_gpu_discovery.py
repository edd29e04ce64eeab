"""`inventory` of a real agent whose PATH holds GPU tools that print recorded output.

The tools are the boundary that cannot exist here (no GPU): each fake prints a file of
tests/agent/samples/ and exits with the real tool's code. NVML does not load (no driver), so
NVIDIA GPUs come from the nvidia-smi fallback, as on a worker without pynvml.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.conftest import AgentProcess

SAMPLES = Path(__file__).parent / "samples"
MIB = 1024**2


def fake_tool(folder: Path, name: str, cases: dict[str, tuple[str, int]]) -> None:
    """An executable `name` printing sample files: `cases` maps its first argument ("*" for
    any) to (sample file, exit code)."""
    lines = ["#!/bin/sh", 'case "$1" in']
    for argument, (sample, code) in cases.items():
        pattern = "*" if argument == "*" else f'"{argument}"'
        lines.append(f"  {pattern}) cat '{SAMPLES / sample}'; exit {code};;")
    lines.append("esac")
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """An empty folder of fake tools, first on the agent's PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    return folder


def agent_with(start_agent: Callable[..., AgentProcess], tools: Path, tmp: Path) -> AgentProcess:
    # Only the fakes and the basic system tools: a real nvidia-smi or amd-smi must not leak in.
    system_bin = tmp / "sysbin"
    system_bin.mkdir(exist_ok=True)
    for tool in ("sh", "cat"):
        found = shutil.which(tool)
        assert found is not None
        if not (system_bin / tool).exists():
            (system_bin / tool).symlink_to(found)
    rocm = tmp / "rocm"
    (rocm / ".info").mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES / "rocm-info-version.txt", rocm / ".info" / "version")
    ascend = tmp / "ascend"
    ascend.mkdir(exist_ok=True)
    shutil.copy(SAMPLES / "ascend-toolkit-install.info", ascend / "ascend_toolkit_install.info")
    env = {
        "PATH": f"{tools}{os.pathsep}{system_bin}",
        "ROCM_PATH": str(rocm),
        "ASCEND_HOME_PATH": str(ascend),
        "GPUSTACK_AGENT_RUNTIME": "process",
    }
    return start_agent(env)


def test_no_gpu_tools_means_no_gpus(
    start_agent: Callable[..., AgentProcess], tools: Path, tmp_path: Path
) -> None:
    inventory = agent_with(start_agent, tools, tmp_path).call("inventory")
    assert (inventory["gpus"], inventory["drivers"], inventory["gpu_errors"]) == ([], {}, [])
    assert inventory["runtime"] == "process"


def test_nvidia_smi_without_devices(
    start_agent: Callable[..., AgentProcess], tools: Path, tmp_path: Path
) -> None:
    fake_tool(tools, "nvidia-smi", {"*": ("nvidia-smi-no-devices.txt", 6)})
    inventory = agent_with(start_agent, tools, tmp_path).call("inventory")
    assert (inventory["gpus"], inventory["gpu_errors"]) == ([], [])


def test_mixed_vendors_on_one_machine(
    start_agent: Callable[..., AgentProcess], tools: Path, tmp_path: Path
) -> None:
    fake_tool(tools, "nvidia-smi", {"*": ("nvidia-smi-8x-a100.csv", 0)})
    fake_tool(
        tools,
        "rocm-smi",
        {
            "--showdriverversion": ("rocm-smi-driver.json", 0),
            "*": ("rocm-smi-2x-mi210.json", 0),
        },
    )
    fake_tool(tools, "npu-smi", {"info": ("npu-smi-910b3-single.txt", 0)})
    inventory = agent_with(start_agent, tools, tmp_path).call("inventory")
    gpus = inventory["gpus"]
    assert [(g["vendor"], g["index"]) for g in gpus] == [
        *(("nvidia", i) for i in range(8)),
        ("amd", 0),
        ("amd", 1),
        ("ascend", 0),
    ]
    assert all(g["simulated"] is False for g in gpus)
    assert gpus[8]["name"] == "Aldebaran/MI200 [Instinct MI210]"
    assert gpus[10]["memory_total"] == 65536 * MIB
    assert inventory["drivers"] == {
        "nvidia": {"driver": "550.127.05"},
        "amd": {"driver": "6.8.5", "rocm": "6.2.4"},
        "ascend": {"driver": "24.1.rc2", "cann": "8.0.RC2"},
    }
    assert inventory["gpu_errors"] == []


def test_amd_smi_is_preferred_to_rocm_smi(
    start_agent: Callable[..., AgentProcess], tools: Path, tmp_path: Path
) -> None:
    fake_tool(
        tools,
        "amd-smi",
        {
            "static": ("amd-smi-static-2x-r9700.json", 0),
            "metric": ("amd-smi-metric-2x-r9700.json", 0),
        },
    )
    fake_tool(tools, "rocm-smi", {"*": ("rocm-smi-2x-mi210.json", 0)})
    inventory = agent_with(start_agent, tools, tmp_path).call("inventory")
    assert [g["name"] for g in inventory["gpus"]] == ["AMD Radeon AI PRO R9700"] * 2
    assert inventory["gpus"][0]["memory_used"] == 29777 * MIB
    assert inventory["drivers"] == {"amd": {"driver": "6.16.6", "rocm": "6.2.4"}}


def test_a_broken_tool_costs_only_its_own_gpus(
    start_agent: Callable[..., AgentProcess], tools: Path, tmp_path: Path
) -> None:
    fake_tool(tools, "nvidia-smi", {"*": ("nvidia-smi-no-driver.txt", 9)})
    fake_tool(tools, "amd-smi", {"*": ("amd-smi-broken.txt", 1)})
    fake_tool(tools, "rocm-smi", {"*": ("rocm-smi-rx7800xt.json", 0)})
    fake_tool(tools, "npu-smi", {"*": ("npu-smi-device-busy.txt", 0)})
    agent = agent_with(start_agent, tools, tmp_path)
    inventory = agent.call("inventory")
    assert [(g["vendor"], g["name"]) for g in inventory["gpus"]] == [
        ("amd", "Navi 32 [Radeon RX 7700 XT / 7800 XT]")  # amd-smi failed; rocm-smi answered
    ]
    errors = inventory["gpu_errors"]
    assert len(errors) == 3
    assert errors[0].startswith("nvidia-smi: exited with 9: NVIDIA-SMI has failed")
    assert errors[1].startswith("amd-smi: exited with 1: Traceback")
    assert errors[2].startswith("npu-smi: no 'npu-smi ... Version:' header")
    assert agent.call("hello")["protocol"] == 1  # still serving
