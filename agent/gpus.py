"""The GPUs of the machine: simulated ones, NVIDIA's through NVML, or through nvidia-smi.

`index` is NVML's (PCI bus order): start CUDA programs with CUDA_DEVICE_ORDER=PCI_BUS_ID, or
name GPUs by `uuid` in CUDA_VISIBLE_DEVICES, so that the numbers agree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any, Callable, Dict, List, Optional

from agent.errors import INTERNAL, AgentError

SIMULATED_ENV = "GPUSTACK_AGENT_SIMULATED_GPUS"
_SMI_FIELDS = "index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu"
_MIB = 1024 * 1024


def _gpu(index: int, name: str, **fields: Any) -> Dict[str, Any]:
    gpu = {
        "index": index,
        "name": name,
        "vendor": "nvidia",
        "uuid": None,
        "memory_total": 0,
        "memory_used": 0,
        "utilization": None,
        "temperature": None,
        "simulated": False,
    }
    gpu.update(fields)
    return gpu


def _bad_simulated(message: str) -> AgentError:
    return AgentError(INTERNAL, f"{SIMULATED_ENV}: {message}")


def _load_simulated(value: str) -> Any:
    text = value.strip()
    source = "value"
    if not text.startswith(("[", "{")):
        source = os.path.expanduser(text)
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise _bad_simulated(f"not JSON, and no readable file {source!r}: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _bad_simulated(f"the {source} is not valid JSON: {exc}") from None


def simulated_gpus(value: str) -> List[Dict[str, Any]]:
    """The GPUs described by GPUSTACK_AGENT_SIMULATED_GPUS (a JSON list, or a file holding one)."""
    entries = _load_simulated(value)
    if not isinstance(entries, list):
        raise _bad_simulated(
            'want a JSON list like [{"name": "A100", "memory_total": 85899345920}]'
        )
    gpus = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _bad_simulated(f"entry {index} is not an object")
        name, total = entry.get("name"), entry.get("memory_total")
        if not isinstance(name, str) or not name:
            raise _bad_simulated(f"entry {index}: 'name' must be a non-empty string")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise _bad_simulated(f"entry {index}: 'memory_total' must be a whole number of bytes")
        used = entry.get("memory_used", 0)
        if isinstance(used, bool) or not isinstance(used, int) or not 0 <= used <= total:
            raise _bad_simulated(f"entry {index}: 'memory_used' must be 0..memory_total bytes")
        gpus.append(
            _gpu(
                index,
                name,
                vendor=str(entry.get("vendor", "nvidia")),
                uuid=str(entry.get("uuid", f"GPU-simulated-{index}")),
                memory_total=total,
                memory_used=used,
                utilization=0,
                simulated=True,
            )
        )
    return gpus


def _try(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:  # one unsupported query must not hide the GPU
        return None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def nvml_gpus() -> Optional[List[Dict[str, Any]]]:
    """NVIDIA GPUs through pynvml, or None when pynvml or the driver is missing."""
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = _try(lambda h=handle: pynvml.nvmlDeviceGetMemoryInfo(h))
            utilization = _try(lambda h=handle: pynvml.nvmlDeviceGetUtilizationRates(h).gpu)
            temperature = _try(
                lambda h=handle: pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)
            )
            name = _try(lambda h=handle: pynvml.nvmlDeviceGetName(h))
            uuid = _try(lambda h=handle: pynvml.nvmlDeviceGetUUID(h))
            gpus.append(
                _gpu(
                    index,
                    _text(name) if name is not None else f"GPU {index}",
                    uuid=_text(uuid) if uuid is not None else None,
                    memory_total=int(memory.total) if memory is not None else 0,
                    memory_used=int(memory.used) if memory is not None else 0,
                    utilization=utilization,
                    temperature=temperature,
                )
            )
        return gpus
    except Exception as exc:
        print(f"gpustack-agent: NVML query failed: {exc}", file=sys.stderr)
        return None
    finally:
        _try(pynvml.nvmlShutdown)


def _smi_number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None


def smi_gpus() -> Optional[List[Dict[str, Any]]]:
    """NVIDIA GPUs through `nvidia-smi` (when pynvml is not installed), or None."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        output = subprocess.run(
            [smi, f"--query-gpu={_SMI_FIELDS}", "--format=csv,noheader,nounits"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=20,
            check=True,
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"gpustack-agent: nvidia-smi failed: {exc}", file=sys.stderr)
        return None
    gpus = []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != 7 or not cells[0].isdigit():
            continue
        total, used, util, temp = (_smi_number(cell) for cell in cells[3:])
        gpus.append(
            _gpu(
                int(cells[0]),
                cells[2],
                uuid=cells[1],
                memory_total=int(total or 0) * _MIB,
                memory_used=int(used or 0) * _MIB,
                utilization=util,
                temperature=temp,
            )
        )
    return gpus


def list_gpus() -> List[Dict[str, Any]]:
    """The GPUs to report: simulated if GPUSTACK_AGENT_SIMULATED_GPUS is set, else real ones."""
    simulated = os.environ.get(SIMULATED_ENV, "")
    if simulated.strip():
        return simulated_gpus(simulated)
    gpus = nvml_gpus()
    if gpus is None:
        gpus = smi_gpus()
    return gpus or []
