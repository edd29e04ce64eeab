"""NVIDIA GPUs through NVML (`pynvml`, uploaded beside the agent by the server).

`index` is NVML's (PCI bus order): start CUDA programs with CUDA_DEVICE_ORDER=PCI_BUS_ID, or
name GPUs by `uuid` in CUDA_VISIBLE_DEVICES, so that the numbers agree.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Optional, Tuple

from agent.gpu.common import GpuList, Versions, gpu


def _try(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:  # one unsupported query must not hide the GPU
        return None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def cuda_version(code: Optional[int]) -> Optional[str]:
    """NVML's CUDA driver version number (12040) as text ("12.4")."""
    if not isinstance(code, int) or code <= 0:
        return None
    return f"{code // 1000}.{(code % 1000) // 10}"


def _versions(pynvml: Any) -> Versions:
    versions: Versions = {}
    driver = _try(pynvml.nvmlSystemGetDriverVersion)
    if driver is not None:
        versions["driver"] = _text(driver)
    getter = getattr(pynvml, "nvmlSystemGetCudaDriverVersion_v2", None) or getattr(
        pynvml, "nvmlSystemGetCudaDriverVersion", None
    )
    cuda = cuda_version(_try(getter)) if getter is not None else None
    if cuda is not None:
        versions["cuda"] = cuda
    return versions


def _device(pynvml: Any, index: int) -> Dict[str, Any]:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    memory = _try(lambda: pynvml.nvmlDeviceGetMemoryInfo(handle))
    utilization = _try(lambda: pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    temperature = _try(lambda: pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU))
    name = _try(lambda: pynvml.nvmlDeviceGetName(handle))
    uuid = _try(lambda: pynvml.nvmlDeviceGetUUID(handle))
    return gpu(
        index,
        _text(name) if name is not None else f"GPU {index}",
        "nvidia",
        uuid=_text(uuid) if uuid is not None else None,
        memory_total=int(memory.total) if memory is not None else 0,
        memory_used=int(memory.used) if memory is not None else 0,
        utilization=utilization,
        temperature=temperature,
    )


def read() -> Optional[Tuple[GpuList, Versions]]:
    """NVIDIA GPUs and driver/CUDA versions, or None when pynvml or the driver is missing."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        count = pynvml.nvmlDeviceGetCount()
        return [_device(pynvml, index) for index in range(count)], _versions(pynvml)
    except Exception as exc:
        print(f"gpustack-agent: NVML query failed: {exc}", file=sys.stderr)
        return None
    finally:
        _try(pynvml.nvmlShutdown)
