"""Ports for workloads: free on the machine, and reserved per workload name.

A reservation is the `port` file in the workload's folder, so an agent started later still
honours it, and `remove` (which deletes the folder) drops it.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any, Dict, Set, Tuple

from agent import files
from agent.errors import INTERNAL, AgentError
from agent.params import get_str
from agent.paths import PORT_FILE, home_lock, workload_dir, workload_names, workloads_root

RANGE_ENV = "GPUSTACK_AGENT_PORT_RANGE"
DEFAULT_RANGE = "40000-40999"


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


def allocate(params: Dict[str, Any]) -> Dict[str, Any]:
    """`allocate_port`: the workload's reserved port, or a newly reserved free one."""
    folder = workload_dir(get_str(params, "name"))
    low, high = port_range()
    with home_lock():
        port_file = os.path.join(folder, PORT_FILE)
        current = files.read_int(port_file)
        if current is not None and low <= current <= high:
            return {"port": current}
        taken: Set[int] = set(reserved_ports())
        for port in range(low, high + 1):
            if port not in taken and not is_bound(port):
                os.makedirs(folder, exist_ok=True)
                files.write_text_atomic(port_file, str(port))
                return {"port": port}
    raise AgentError(INTERNAL, f"no free port left in {low}-{high}")
