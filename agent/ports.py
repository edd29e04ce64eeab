"""Ports for workloads: free on the machine, and reserved per workload name.

A reservation is the `port` file in the workload's folder, so an agent started later still
honours it, and `remove` (which deletes the folder) drops it. Agents of other homes on the same
machine (several `local:NAME` workers) see it too: each reservation is also noted in a folder
every agent of the user shares (`~/.cache/gpustack-agent-ports/<port>`, holding the workload
folder's path); a note whose folder no longer holds that port is stale and is dropped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from typing import Any, Dict, Optional, Set, Tuple

from agent import files
from agent.errors import INTERNAL, AgentError
from agent.params import get_str
from agent.paths import (
    PORT_FILE,
    file_lock,
    home_lock,
    workload_dir,
    workload_names,
    workloads_root,
)

RANGE_ENV = "GPUSTACK_AGENT_PORT_RANGE"
DEFAULT_RANGE = "40000-40999"
SHARED_ENV = "GPUSTACK_AGENT_PORTS_DIR"
DEFAULT_SHARED = "~/.cache/gpustack-agent-ports"


def port_range() -> Tuple[int, int]:
    """(low, high) from GPUSTACK_AGENT_PORT_RANGE, both included."""
    text = os.environ.get(RANGE_ENV) or DEFAULT_RANGE
    try:
        low_text, high_text = text.split("-")
        low, high = int(low_text), int(high_text)
    except ValueError:
        raise AgentError(
            INTERNAL, f"{RANGE_ENV}={text!r}: want LOW-HIGH, e.g. 40000-40999"
        ) from None
    if not 1 <= low <= high <= 65535:
        raise AgentError(INTERNAL, f"{RANGE_ENV}={text!r}: want 1 <= LOW <= HIGH <= 65535")
    return low, high


def _bind_fails(family: int, host: str, port: int) -> bool:
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        return False  # no such address family here
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
    except OSError as exc:
        # Only "in use" or "not allowed" make the port unusable; an IPv6 stack that is switched
        # off (EADDRNOTAVAIL, EAFNOSUPPORT) says nothing about the port.
        return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    finally:
        sock.close()
    return False


def _accepts_connection(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def is_bound(port: int) -> bool:
    """Whether something on this machine already uses `port` (listens or holds it bound)."""
    if _bind_fails(socket.AF_INET, "0.0.0.0", port):
        return True
    if socket.has_ipv6 and _bind_fails(socket.AF_INET6, "::", port):
        return True
    # A listener with SO_REUSEPORT lets our bind pass; a connection still finds it.
    return _accepts_connection(port)


def reserved_ports() -> Dict[int, str]:
    """Every port reserved by a workload folder, and the name of its workload."""
    reserved = {}
    root = workloads_root()
    for name in workload_names():
        port = files.read_int(os.path.join(root, name, PORT_FILE))
        if port is not None:
            reserved[port] = name
    return reserved


def shared_dir() -> Optional[str]:
    """The folder of reservations every agent of this user shares; None when it cannot be
    made or is not this user's own (then only this home's reservations count)."""
    path = os.path.abspath(os.path.expanduser(os.environ.get(SHARED_ENV) or DEFAULT_SHARED))
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path)
    except OSError:
        return None
    return path if info.st_uid == os.getuid() else None


def shared_reservations(folder: Optional[str]) -> Set[int]:
    """The ports other homes' live workloads reserved (stale notes are deleted)."""
    taken: Set[int] = set()
    if folder is None:
        return taken
    for entry in os.listdir(folder):
        if not entry.isdigit():
            continue
        note = os.path.join(folder, entry)
        try:
            with open(note, encoding="utf-8") as handle:
                owner = handle.read().strip()
        except OSError:
            continue
        if files.read_int(os.path.join(owner, PORT_FILE)) == int(entry):
            taken.add(int(entry))
        else:
            with contextlib.suppress(OSError):
                os.unlink(note)  # its workload was removed, or reserved another port
    return taken


def allocate(params: Dict[str, Any]) -> Dict[str, Any]:
    """`allocate_port`: the workload's reserved port, or a newly reserved free one."""
    folder = workload_dir(get_str(params, "name"))
    low, high = port_range()
    shared = shared_dir()
    shared_lock = file_lock(os.path.join(shared, "lock")) if shared else contextlib.nullcontext()
    with home_lock(), shared_lock:
        port_file = os.path.join(folder, PORT_FILE)
        current = files.read_int(port_file)
        if current is not None and low <= current <= high:
            if shared is not None and not os.path.exists(os.path.join(shared, str(current))):
                files.write_text_atomic(os.path.join(shared, str(current)), folder)  # older
            return {"port": current}
        taken: Set[int] = set(reserved_ports()) | shared_reservations(shared)
        for port in range(low, high + 1):
            if port not in taken and not is_bound(port):
                os.makedirs(folder, exist_ok=True)
                files.write_text_atomic(port_file, str(port))
                if shared is not None:
                    files.write_text_atomic(os.path.join(shared, str(port)), folder)
                return {"port": port}
    raise AgentError(INTERNAL, f"no free port left in {low}-{high}")
