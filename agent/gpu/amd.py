"""AMD GPUs through `amd-smi` (ROCm 6.1 and later), else `rocm-smi`, both in JSON.

`amd-smi static --json` gives names, serials, VRAM size and the amdgpu driver version;
`amd-smi metric --json` gives use, VRAM used and temperatures. ROCm 6.x prints a JSON list of
per-GPU objects; AMD SMI 26 (ROCm 7) wraps the list as `{"gpu_data": [...]}`. Values are
`{"value": v, "unit": u}` or "N/A". `rocm-smi --json` prints `{"card0": {...}, ...}` with the
readings as strings under English keys. The ROCm version is read from /opt/rocm/.info/version.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, List, Optional, Tuple

from agent.gpu.common import (
    GpuList,
    ToolOutputError,
    Versions,
    gpu,
    number,
    read_text,
    run_tool,
    whole,
)

AMD_SMI = "amd-smi"
ROCM_SMI = "rocm-smi"
AMD_SMI_STATIC = [AMD_SMI, "static", "--json"]
AMD_SMI_METRIC = [AMD_SMI, "metric", "--json"]
ROCM_SMI_ARGV = [
    ROCM_SMI,
    "--showproductname",
    "--showmeminfo",
    "vram",
    "--showuse",
    "--showtemp",
    "--showuniqueid",
    "--json",
]
ROCM_SMI_DRIVER = [ROCM_SMI, "--showdriverversion", "--json"]
ROCM_VERSION_FILE = os.path.join(os.environ.get("ROCM_PATH") or "/opt/rocm", ".info", "version")

_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2}
_UNITS.update({"gb": 1024**3, "gib": 1024**3})
_NO_GPU = re.compile(
    r"no (amd )?(gpus?|devices?)( were)? (found|detected|specified)", re.IGNORECASE
)


def _load(tool: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        if _NO_GPU.search(text):
            return []
        raise ToolOutputError(tool, f"not JSON ({exc}): {text.strip()[:200]!r}") from None


def _entries(tool: str, data: Any) -> List[Dict[str, Any]]:
    if isinstance(data, dict) and "gpu_data" in data:
        data = data["gpu_data"]
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ToolOutputError(tool, "want a JSON list of GPU objects (or {'gpu_data': [...]})")
    return data


def _path(entry: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(entry, dict):
            return None
        entry = entry.get(key)
    return entry


def _value(reading: Any) -> Optional[float]:
    """A reading `{"value": v, "unit": u}` or a bare value, as a number."""
    if isinstance(reading, dict):
        reading = reading.get("value")
    return number(reading)


def _bytes(reading: Any, default_unit: str = "mb") -> Optional[int]:
    """A memory reading in bytes; amd-smi's "MB" means MiB (196592 MB on a 192 GiB MI300X)."""
    amount = _value(reading)
    if amount is None:
        return None
    unit = reading.get("unit") if isinstance(reading, dict) else None
    scale = _UNITS.get(str(unit or default_unit).strip().lower())
    if scale is None:
        return None
    return int(amount * scale)


def _index(tool: str, entry: Dict[str, Any]) -> int:
    index = entry.get("gpu")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ToolOutputError(tool, f"a GPU object without an integer 'gpu': {str(entry)[:200]}")
    return index


def rocm_version(text: Optional[str]) -> Optional[str]:
    """ "6.2.4" from the text of /opt/rocm/.info/version ("6.2.4-120")."""
    if not text or not text.strip():
        return None
    return text.strip().split("-")[0]


def parse_amd_smi(static_text: str, metric_text: Optional[str]) -> Tuple[GpuList, Versions]:
    """GPUs and `{"driver"}` from `amd-smi static --json` and (optional) `metric --json`."""
    static = _entries(AMD_SMI, _load(AMD_SMI, static_text))
    metrics: Dict[int, Dict[str, Any]] = {}
    if metric_text is not None and metric_text.strip():
        metrics = {_index(AMD_SMI, m): m for m in _entries(AMD_SMI, _load(AMD_SMI, metric_text))}
    gpus: GpuList = []
    versions: Versions = {}
    for entry in static:
        index = _index(AMD_SMI, entry)
        metric = metrics.get(index, {})
        name = _path(entry, "asic", "market_name")
        serial = _path(entry, "asic", "asic_serial")
        total = _bytes(_path(metric, "mem_usage", "total_vram")) or _bytes(
            _path(entry, "vram", "size")
        )
        temperatures = _path(metric, "temperature") or {}
        temperature = None
        for sensor in ("edge", "hotspot", "junction"):
            temperature = whole(_value(_path(temperatures, sensor)))
            if temperature is not None:
                break
        gpus.append(
            gpu(
                index,
                name if isinstance(name, str) and name != "N/A" else f"AMD GPU {index}",
                "amd",
                uuid=serial if isinstance(serial, str) and serial != "N/A" else None,
                memory_total=total or 0,
                memory_used=_bytes(_path(metric, "mem_usage", "used_vram")) or 0,
                utilization=whole(_value(_path(metric, "usage", "gfx_activity"))),
                temperature=temperature,
            )
        )
        driver = _path(entry, "driver", "version")
        if isinstance(driver, str) and driver != "N/A":
            versions["driver"] = driver
    return sorted(gpus, key=lambda g: g["index"]), versions


def _card_index(key: str) -> Optional[int]:
    match = re.fullmatch(r"card(\d+)", key)
    return int(match.group(1)) if match else None


def _field(card: Dict[str, Any], *patterns: str) -> Tuple[Optional[str], Optional[str]]:
    """The first (key, value) whose key matches one of `patterns` (case-insensitive)."""
    for pattern in patterns:
        for key, value in card.items():
            if re.fullmatch(pattern, key, re.IGNORECASE) and str(value).strip() not in ("", "N/A"):
                return key, str(value)
    return None, None


def _rocm_memory(card: Dict[str, Any], what: str) -> Optional[int]:
    key, value = _field(card, rf"vram {what} memory \((b|mib|mb)\)")
    amount = number(value)
    if key is None or amount is None:
        return None
    unit = key.rsplit("(", 1)[1].rstrip(")").lower()
    return int(amount * _UNITS[unit])


def parse_rocm_smi(text: str, driver_text: Optional[str] = None) -> Tuple[GpuList, Versions]:
    """GPUs and `{"driver"}` from `rocm-smi ... --json` and `--showdriverversion --json`."""
    data = _load(ROCM_SMI, text)
    if data == []:
        return [], {}
    if not isinstance(data, dict):
        raise ToolOutputError(ROCM_SMI, "want a JSON object of cards ({'card0': {...}})")
    gpus: GpuList = []
    for key, card in data.items():
        index = _card_index(key)
        if index is None or not isinstance(card, dict):
            continue  # "system" and other non-card members
        _, name = _field(card, r"card series", r"device name", r"card model")
        _, uuid = _field(card, r"unique id")
        _, use = _field(card, r"(gpu|dcu) use \(%\)")
        _, temp = _field(
            card, r"temperature \(sensor edge\) \(c\)", r"temperature \(sensor junction\) \(c\)"
        )
        gpus.append(
            gpu(
                index,
                name or f"AMD GPU {index}",
                "amd",
                uuid=uuid,
                memory_total=_rocm_memory(card, "total") or 0,
                memory_used=_rocm_memory(card, "total used") or 0,
                utilization=whole(use),
                temperature=whole(temp),
            )
        )
    versions: Versions = {}
    if driver_text:
        driver = _path(_load(ROCM_SMI, driver_text), "system", "Driver version")
        if isinstance(driver, str) and driver.strip():
            versions["driver"] = driver.strip()
    return sorted(gpus, key=lambda g: g["index"]), versions


def _with_rocm(found: Tuple[GpuList, Versions]) -> Tuple[GpuList, Versions]:
    rocm = rocm_version(read_text(ROCM_VERSION_FILE))
    if rocm is not None and found[0]:
        found[1]["rocm"] = rocm
    return found


def read_amd_smi() -> Optional[Tuple[GpuList, Versions]]:
    """AMD GPUs and versions through amd-smi, or None when it is not installed."""
    static = run_tool(AMD_SMI_STATIC)
    if static is None:
        return None
    return _with_rocm(parse_amd_smi(static, run_tool(AMD_SMI_METRIC)))


def read_rocm_smi() -> Optional[Tuple[GpuList, Versions]]:
    """AMD GPUs and versions through rocm-smi, or None when it is not installed."""
    text = run_tool(ROCM_SMI_ARGV)
    if text is None:
        return None
    try:
        driver_text = run_tool(ROCM_SMI_DRIVER)
    except ToolOutputError:
        driver_text = None  # an older rocm-smi without --showdriverversion
    return _with_rocm(parse_rocm_smi(text, driver_text))
