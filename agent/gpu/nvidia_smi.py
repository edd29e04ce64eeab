"""NVIDIA GPUs through `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`.

The fallback when NVML cannot load (no pynvml beside the agent). One CSV line per GPU; memory in
MiB; "[N/A]" or "[Not Supported]" where a GPU does not tell.
"""

from __future__ import annotations

from typing import Optional, Tuple

from agent.gpu.common import MIB, GpuList, ToolOutputError, Versions, gpu, number, run_tool, whole

TOOL = "nvidia-smi"
FIELDS = "index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,driver_version"
ARGV = [TOOL, f"--query-gpu={FIELDS}", "--format=csv,noheader,nounits"]
NO_DEVICES_EXIT = 6  # nvidia-smi's "No devices were found"
_COLUMNS = len(FIELDS.split(","))


def parse(text: str) -> Tuple[GpuList, Versions]:
    """The GPUs and `{"driver": ...}` in the CSV output; ToolOutputError when malformed."""
    gpus: GpuList = []
    versions: Versions = {}
    for number_, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.strip().rstrip(".") == "No devices were found":
            return [], {}
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != _COLUMNS or not cells[0].isdigit():
            raise ToolOutputError(
                TOOL, f"line {number_} is not {_COLUMNS} CSV fields ({FIELDS}): {line[:200]!r}"
            )
        total, used = number(cells[3]), number(cells[4])
        gpus.append(
            gpu(
                int(cells[0]),
                cells[2],
                "nvidia",
                uuid=cells[1] or None,
                memory_total=int(total or 0) * MIB,
                memory_used=int(used or 0) * MIB,
                utilization=whole(cells[5]),
                temperature=whole(cells[6]),
            )
        )
        if cells[7] and number(cells[7].split(".")[0]) is not None:
            versions["driver"] = cells[7]
    return gpus, versions


def read() -> Optional[Tuple[GpuList, Versions]]:
    """The GPUs `nvidia-smi` reports, or None when it is not installed."""
    text = run_tool(ARGV, ok_codes=(0, NO_DEVICES_EXIT))
    return None if text is None else parse(text)
