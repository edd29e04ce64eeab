"""Huawei Ascend NPUs through `npu-smi info` (a text table).

Each chip is two table rows: `| NPU Name | Health | Power Temp Hugepages |` then
`| Chip [Device] | Bus-Id | AICore(%) Memory-Usage(MB) [HBM-Usage(MB)] |`. Training cards
(910, 910B) have one chip per NPU and HBM; inference cards (310, 310P) have several chips per
NPU and a `Device` column: the logical id that ASCEND_RT_VISIBLE_DEVICES takes. The process
table that follows (`| NPU Chip | Process id | ...`) is skipped. The CANN version is read from
the toolkit's `ascend_toolkit_install.info` (`version=8.0.RC2`).
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Optional, Tuple

from agent.gpu.common import MIB, GpuList, ToolOutputError, Versions, gpu, read_text, run_tool

TOOL = "npu-smi"
ARGV = [TOOL, "info"]
CANN_INFO_FILES = [
    os.path.join(
        os.environ.get("ASCEND_HOME_PATH") or "/usr/local/Ascend/ascend-toolkit/latest",
        "ascend_toolkit_install.info",
    ),
    "/usr/local/Ascend/ascend-toolkit/latest/aarch64-linux/ascend_toolkit_install.info",
    "/usr/local/Ascend/ascend-toolkit/latest/x86_64-linux/ascend_toolkit_install.info",
]

_VERSION = re.compile(r"Version:\s*(\S+)")
_USAGE = re.compile(r"(\d+)\s*/\s*(\d+)")
_BUS_ID = re.compile(r"^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]$")


def _cells(line: str) -> Optional[List[str]]:
    """The `|`-separated cells of a table row, or None for rules and other lines."""
    text = line.strip()
    if not text.startswith("|") or not text.endswith("|"):
        return None
    return [cell.strip() for cell in text[1:-1].split("|")]


def _usage(text: str) -> List[Tuple[int, int]]:
    return [(int(used), int(total)) for used, total in _USAGE.findall(text)]


def cann_version(text: Optional[str]) -> Optional[str]:
    """ "8.0.RC2" from the text of ascend_toolkit_install.info."""
    for line in (text or "").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "version" and value.strip():
            return value.strip()
    return None


def _chip(first: List[str], second: List[str], position: int, number_: int) -> Dict[str, Any]:
    head, second_head = first[0].split(), second[0].split()
    if len(head) < 1 or not head[0].isdigit() or not second_head or not second_head[0].isdigit():
        raise ToolOutputError(TOOL, f"row {number_}: want 'NPU Name' then 'Chip [Device]'")
    if not _BUS_ID.match(second[1]):
        raise ToolOutputError(TOOL, f"row {number_}: {second[1]!r} is not a PCI bus id")
    name = " ".join(head[1:]) or f"Ascend NPU {head[0]}"
    device = second_head[1] if len(second_head) > 1 and second_head[1].isdigit() else None
    readings = first[2].split()
    temperature = int(float(readings[1])) if len(readings) > 1 else None
    chip_readings = second[2].split()
    utilization = int(float(chip_readings[0])) if chip_readings else None
    usages = _usage(second[2])
    # HBM (the last pair) is the device memory where the chip has it; else Memory-Usage.
    used, total = next(
        (pair for pair in reversed(usages) if pair[1] > 0), usages[0] if usages else (0, 0)
    )
    return gpu(
        int(device) if device is not None else position,
        f"Ascend {name}" if not name.lower().startswith("ascend") else name,
        "ascend",
        uuid=None,
        memory_total=total * MIB,
        memory_used=used * MIB,
        utilization=utilization,
        temperature=temperature,
    )


def parse(text: str) -> Tuple[GpuList, Versions]:
    """The NPU chips and `{"driver"}` in `npu-smi info` output; ToolOutputError if malformed."""
    lines = text.splitlines()
    header = next((line for line in lines if "npu-smi" in line and "Version" in line), None)
    if header is None:
        if re.search(r"no (npu )?devices? (was |were )?found", text, re.IGNORECASE):
            return [], {}
        raise ToolOutputError(TOOL, f"no 'npu-smi ... Version:' header in {text.strip()[:200]!r}")
    versions: Versions = {}
    version = _VERSION.search(header)
    if version:
        versions["driver"] = version.group(1)
    rows = []
    for number_, line in enumerate(lines, start=1):
        cells = _cells(line)
        if cells is None:
            continue
        if cells[0].startswith("NPU") and len(cells) > 1 and cells[1].startswith("Process"):
            break  # the process table
        if len(cells) == 3 and cells[0][:1].isdigit():
            rows.append((number_, cells))
    if len(rows) % 2:
        raise ToolOutputError(TOOL, f"a chip row at line {rows[-1][0]} has no second row")
    gpus = [_chip(rows[i][1], rows[i + 1][1], i // 2, rows[i][0]) for i in range(0, len(rows), 2)]
    return sorted(gpus, key=lambda g: g["index"]), versions


def read() -> Optional[Tuple[GpuList, Versions]]:
    """Ascend NPUs and versions (driver, CANN), or None when npu-smi is not installed."""
    text = run_tool(ARGV)
    if text is None:
        return None
    found = parse(text)
    for path in CANN_INFO_FILES:
        cann = cann_version(read_text(path))
        if cann is not None:
            found[1]["cann"] = cann
            break
    return found
