"""Facts about the machine: `hello`, the CPU and memory part of `inventory`, and `path_info`."""

from __future__ import annotations

import os
import platform
import socket
from typing import Any, Dict, Set, Tuple

from agent import AGENT_VERSION, PROTOCOL_VERSION
from agent.params import get_str
from agent.paths import agent_home


def hello(_params: Dict[str, Any]) -> Dict[str, Any]:
    """`hello`: who and what this agent is."""
    home = agent_home()
    os.makedirs(home, exist_ok=True)
    return {
        "protocol": PROTOCOL_VERSION,
        "agent_version": AGENT_VERSION,
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "home": home,
    }


def _meminfo() -> Dict[str, int]:
    values = {}
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    scale = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
                    values[key.strip()] = int(parts[0]) * scale
    except OSError:
        pass
    return values


def memory() -> Tuple[int, int]:
    """(total, available) bytes of RAM; from sysconf where /proc/meminfo is missing."""
    info = _meminfo()
    if "MemTotal" in info:
        available = info.get("MemAvailable", info.get("MemFree", 0))
        return info["MemTotal"], available
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
        available = os.sysconf("SC_AVPHYS_PAGES") * page
    except (ValueError, OSError, AttributeError):
        return 0, 0
    return total, available


def cpu_count() -> int:
    """The number of CPUs (at least 1)."""
    return os.cpu_count() or 1


def _size_of(path: str, seen: Set[Tuple[int, int]]) -> int:
    # Follow links (a Hugging Face snapshot is links into blobs/) but count each file once.
    try:
        stat = os.stat(path)
    except OSError:
        return 0
    key = (stat.st_dev, stat.st_ino)
    if key in seen:
        return 0
    seen.add(key)
    return stat.st_size


def folder_size(path: str) -> int:
    """The total bytes of the files under `path`, each counted once."""
    seen: Set[Tuple[int, int]] = set()
    total = 0
    for parent, _dirs, names in os.walk(path):
        for name in names:
            total += _size_of(os.path.join(parent, name), seen)
    return total


def path_info(params: Dict[str, Any]) -> Dict[str, Any]:
    """`path_info`: whether `path` exists, is a folder, and its size in bytes."""
    path = os.path.expanduser(get_str(params, "path"))
    if not os.path.exists(path):
        return {"exists": False, "is_dir": False, "size": 0}
    if os.path.isdir(path):
        return {"exists": True, "is_dir": True, "size": folder_size(path)}
    return {"exists": True, "is_dir": False, "size": _size_of(path, set())}
