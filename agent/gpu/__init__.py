"""The GPUs of the machine, from every vendor's tool at once (a machine may mix vendors).

NVIDIA through NVML, else `nvidia-smi`; AMD through `amd-smi`, else `rocm-smi`; Huawei Ascend
through `npu-smi`; or the simulated list of GPUSTACK_AGENT_SIMULATED_GPUS instead of all of them.
`index` counts per vendor: it is the number that vendor's *_VISIBLE_DEVICES variable takes.
A tool that fails or prints what we cannot read costs only its own vendor's GPUs: the others
are still reported, and the reason goes to `errors`.
"""

from __future__ import annotations

import sys
from typing import Callable, Dict, List, Optional, Tuple, TypedDict

from agent.gpu import amd, ascend, nvidia_smi, nvml
from agent.gpu.common import GpuList, ToolOutputError, Versions
from agent.gpu.simulated import SIMULATED_ENV, simulated_gpus, simulated_source

Reader = Callable[[], Optional[Tuple[GpuList, Versions]]]


class Discovery(TypedDict):
    """What `discover` found: the GPUs, driver versions by vendor, and each tool's failure."""

    gpus: GpuList
    drivers: Dict[str, Versions]
    errors: List[str]


VENDOR_READERS: List[Tuple[str, List[Reader]]] = [
    ("nvidia", [nvml.read, nvidia_smi.read]),
    ("amd", [amd.read_amd_smi, amd.read_rocm_smi]),
    ("ascend", [ascend.read]),
]


def discover() -> Discovery:
    """`{"gpus": [Gpu], "drivers": {vendor: {...}}, "errors": [str]}` for `inventory`."""
    simulated = simulated_source()
    if simulated:
        return {"gpus": simulated_gpus(simulated), "drivers": {}, "errors": []}
    gpus: GpuList = []
    drivers: Dict[str, Versions] = {}
    errors: List[str] = []
    for vendor, readers in VENDOR_READERS:
        for reader in readers:
            try:
                found = reader()
            except ToolOutputError as exc:
                print(f"gpustack-agent: {exc}", file=sys.stderr)
                errors.append(str(exc))
                continue  # try the vendor's next tool
            if found is None:
                continue  # tool not installed
            gpus.extend(found[0])
            if found[1]:
                drivers[vendor] = found[1]
            break
    return {"gpus": gpus, "drivers": drivers, "errors": errors}


def list_gpus() -> GpuList:
    """The GPUs to report: simulated if GPUSTACK_AGENT_SIMULATED_GPUS is set, else real ones."""
    return discover()["gpus"]


__all__ = ["SIMULATED_ENV", "discover", "list_gpus", "simulated_gpus"]
