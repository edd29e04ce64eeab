"""The runtime options of `start` (image, runtime, gpus, shm_size, mounts), validated.

Each reader raises `bad_request` naming the param, so a wrong request never starts anything.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Optional

from agent.errors import BAD_REQUEST, AgentError

RUNTIMES = ("process", "podman", "docker")
VENDORS = ("nvidia", "amd", "ascend")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _bad(message: str) -> AgentError:
    return AgentError(BAD_REQUEST, message)


def get_runtime(params: Dict[str, Any]) -> Optional[str]:
    """`runtime`: one of RUNTIMES, or None (the worker's default)."""
    value = params.get("runtime")
    if value is None:
        return None
    if not isinstance(value, str) or value not in RUNTIMES:
        raise _bad(f"param 'runtime' must be one of {', '.join(RUNTIMES)}, not {value!r}")
    return value


def get_image(params: Dict[str, Any]) -> Optional[str]:
    """`image`: a container image reference, or None (run argv as a process)."""
    value = params.get("image")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise _bad("param 'image' must be a non-empty image name without spaces around it")
    if value.startswith("-") or any(c.isspace() for c in value):
        raise _bad(f"param 'image' {value!r} is not an image reference")
    return value


def get_gpus(params: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """`gpus`: `{"vendor": "nvidia"|"amd"|"ascend", "indexes": [int, ...], "simulated": bool}`
    (simulated defaults to false), or None."""
    value = params.get("gpus")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad('param \'gpus\' must be an object like {"vendor": "nvidia", "indexes": [0]}')
    vendor, indexes = value.get("vendor"), value.get("indexes")
    if vendor not in VENDORS:
        raise _bad(f"param 'gpus.vendor' must be one of {', '.join(VENDORS)}, not {vendor!r}")
    if not isinstance(indexes, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indexes
    ):
        raise _bad("param 'gpus.indexes' must be a list of GPU indexes (integers >= 0)")
    if len(set(indexes)) != len(indexes):
        raise _bad("param 'gpus.indexes' names a GPU twice")
    simulated = value.get("simulated", False)
    if not isinstance(simulated, bool):
        raise _bad("param 'gpus.simulated' must be true or false")
    return {"vendor": vendor, "indexes": list(indexes), "simulated": simulated}


def get_shm_size(params: Dict[str, Any]) -> Optional[int]:
    """`shm_size`: bytes of /dev/shm for a container, or None (the engine's default)."""
    value = params.get("shm_size")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _bad("param 'shm_size' must be a positive number of bytes")
    return value


def _mount_path(index: int, key: str, value: Any) -> str:
    if not isinstance(value, str) or not os.path.isabs(value):
        raise _bad(f"param 'mounts[{index}].{key}' must be an absolute path")
    if ":" in value or "," in value or "\n" in value:
        raise _bad(f"param 'mounts[{index}].{key}' {value!r}: ':' ',' and newlines not allowed")
    return value


def get_mounts(params: Dict[str, Any]) -> List[Dict[str, Any]]:
    """`mounts`: `[{"source", "target", "read_only"}]` (absolute paths), empty when absent."""
    value = params.get("mounts")
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad('param \'mounts\' must be a list of {"source", "target", "read_only"}')
    mounts = []
    for index, mount in enumerate(value):
        if not isinstance(mount, dict):
            raise _bad(f"param 'mounts[{index}]' must be an object")
        read_only = mount.get("read_only", False)
        if not isinstance(read_only, bool):
            raise _bad(f"param 'mounts[{index}].read_only' must be true or false")
        mounts.append(
            {
                "source": _mount_path(index, "source", mount.get("source")),
                "target": _mount_path(index, "target", mount.get("target")),
                "read_only": read_only,
            }
        )
    return mounts


def check_env_names(env: Dict[str, str]) -> Dict[str, str]:
    """`env` if every key is a valid variable name (a container takes them as `-e NAME`)."""
    for key in env:
        if not _ENV_NAME.fullmatch(key):
            raise _bad(f"param 'env': {key!r} is not a valid environment variable name")
    return env
