"""Compare the agent's GPU report with `nvidia-smi`, on a machine with an NVIDIA GPU.

Run from the repository root: `python3 scripts/gpu_check.py`. Prints both views side by side and
exits non-zero when they disagree (index, UUID, name, total memory; used memory within 5 %).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIELDS = "index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,driver_version"
MIB = 1024**2


def agent_inventory() -> dict:
    """Ask the real agent (no simulated GPUs) for its inventory."""
    env = {k: v for k, v in os.environ.items() if k != "GPUSTACK_AGENT_SIMULATED_GPUS"}
    env["GPUSTACK_AGENT_HOME"] = "/tmp/gpustack-gpu-check"
    request = json.dumps({"id": 1, "method": "inventory", "params": {}}) + "\n"
    out = subprocess.run(
        [sys.executable, "-u", "-m", "agent"],
        cwd=REPO,
        env=env,
        input=request,
        capture_output=True,
        text=True,
        timeout=60,
    )
    answer = json.loads(out.stdout.splitlines()[0])
    if "error" in answer:
        raise SystemExit(f"agent error: {answer['error']}")
    return answer["result"]


def smi_inventory() -> list[dict]:
    """`nvidia-smi --query-gpu` as dicts."""
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={FIELDS}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = []
    for line in out.strip().splitlines():
        values = [v.strip() for v in line.split(",")]
        rows.append(dict(zip(FIELDS.split(","), values, strict=True)))
    return rows


def main() -> int:
    """Print both reports and the differences; 0 when they agree."""
    agent = agent_inventory()
    smi = smi_inventory()
    print(f"agent: {len(agent['gpus'])} GPU(s), nvidia-smi: {len(smi)} GPU(s)")
    problems = []
    if len(agent["gpus"]) != len(smi):
        problems.append("GPU count differs")
    for gpu, row in zip(agent["gpus"], smi, strict=False):
        print(json.dumps(gpu))
        print(json.dumps(row))
        total_mib = gpu["memory_total"] // MIB
        used_mib = gpu["memory_used"] // MIB
        checks = {
            "index": gpu["index"] == int(row["index"]),
            "uuid": gpu.get("uuid") == row["uuid"],
            "name": gpu["name"] == row["name"],
            "memory.total": abs(total_mib - int(row["memory.total"])) <= 1,
            "memory.used": abs(used_mib - int(row["memory.used"])) <= max(64, total_mib * 0.05),
            "simulated": gpu.get("simulated") is False,
        }
        problems += [f"GPU {row['index']}: {k} differs" for k, ok in checks.items() if not ok]
    nvidia = agent.get("drivers", {}).get("nvidia", {})
    print(f"agent drivers: {json.dumps(agent.get('drivers', {}))}")
    if agent.get("gpu_errors"):
        print(f"agent GPU errors: {agent['gpu_errors']}")
    if smi and nvidia.get("driver") != smi[0]["driver_version"]:
        problems.append(f"driver version differs: {nvidia.get('driver')} != nvidia-smi's")
    print("\n".join(problems) if problems else "agent and nvidia-smi agree")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
