"""Simulated GPUs from GPUSTACK_AGENT_SIMULATED_GPUS, always marked `"simulated": true`.

Without the variable, a file `simulated-gpus.json` in the agent home configures them too: that
is how one head node runs several simulated workers (the demo), each agent home its own list.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional

from agent.errors import INTERNAL, AgentError
from agent.gpu.common import GpuList, gpu

SIMULATED_ENV = "GPUSTACK_AGENT_SIMULATED_GPUS"
SIMULATED_FILE = "simulated-gpus.json"


def simulated_source() -> str:
    """The simulated-GPU setting: the variable, else the agent home's file, else ""."""
    value = os.environ.get(SIMULATED_ENV, "")
    if value.strip():
        return value
    home = os.environ.get("GPUSTACK_AGENT_HOME", "")
    path = os.path.join(os.path.expanduser(home), SIMULATED_FILE) if home else ""
    return path if path and os.path.isfile(path) else ""


def _optional_number(entry: Dict[str, Any], key: str, index: int, top: float) -> Optional[float]:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
        raise _bad(f"entry {index}: '{key}' must be a number from 0 to {top:g}")
    return float(value)


def _bad(message: str) -> AgentError:
    return AgentError(INTERNAL, f"{SIMULATED_ENV}: {message}")


def _load(value: str) -> Any:
    text = value.strip()
    source = "value"
    if not text.startswith(("[", "{")):
        source = os.path.expanduser(text)
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise _bad(f"not JSON, and no readable file {source!r}: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _bad(f"the {source} is not valid JSON: {exc}") from None


def simulated_gpus(value: str) -> GpuList:
    """The GPUs described by GPUSTACK_AGENT_SIMULATED_GPUS (a JSON list, or a file holding one)."""
    entries = _load(value)
    if not isinstance(entries, list):
        raise _bad('want a JSON list like [{"name": "A100", "memory_total": 85899345920}]')
    gpus = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _bad(f"entry {index} is not an object")
        name, total = entry.get("name"), entry.get("memory_total")
        if not isinstance(name, str) or not name:
            raise _bad(f"entry {index}: 'name' must be a non-empty string")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise _bad(f"entry {index}: 'memory_total' must be a whole number of bytes")
        used = entry.get("memory_used", 0)
        if isinstance(used, bool) or not isinstance(used, int) or not 0 <= used <= total:
            raise _bad(f"entry {index}: 'memory_used' must be 0..memory_total bytes")
        gpus.append(
            gpu(
                index,
                name,
                str(entry.get("vendor", "nvidia")),
                uuid=str(entry.get("uuid", f"GPU-simulated-{index}")),
                memory_total=total,
                memory_used=used,
                utilization=_optional_number(entry, "utilization", index, 100) or 0,
                temperature=_optional_number(entry, "temperature", index, 150),
                simulated=True,
            )
        )
    return gpus
