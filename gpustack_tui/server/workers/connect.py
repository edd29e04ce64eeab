"""Open a worker: pick the transport for its destination, start the agent, check its hello.

    conn, hello, address = open_worker("root@gpu1:22", paths, accept_fingerprint=fp)
    inventory = conn.call("inventory")

Errors are `WorkerError`s (see errors.py); `ValueError` for a malformed destination.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpustack_tui.config import Paths
from gpustack_tui.server.workers.destination import LocalTarget, parse_destination
from gpustack_tui.server.workers.errors import AgentError
from gpustack_tui.server.workers.known_hosts import KnownHosts
from gpustack_tui.server.workers.rpc import AgentConnection
from gpustack_tui.server.workers.transport import AgentTransport, LocalTransport, SshTransport

PROTOCOL_VERSION = 1
HELLO_TIMEOUT = 30.0


def make_transport(
    destination: str,
    paths: Paths,
    identity_file: str | None = None,
    accept_fingerprint: str | None = None,
    ssh_config_path: str | Path | None = None,
    connect_timeout: float = 10,
    known_hosts: KnownHosts | None = None,
) -> AgentTransport:
    """The (not yet opened) transport for a destination: local subprocess or SSH."""
    target = parse_destination(destination, ssh_config_path)
    if isinstance(target, LocalTarget):
        return LocalTransport(paths)
    return SshTransport(
        target,
        paths,
        accept_fingerprint=accept_fingerprint,
        connect_timeout=connect_timeout,
        identity_file=identity_file,
        known_hosts=known_hosts,
    )


def open_worker(
    destination: str,
    paths: Paths,
    identity_file: str | None = None,
    accept_fingerprint: str | None = None,
    ssh_config_path: str | Path | None = None,
    *,
    connect_timeout: float = 10,
    known_hosts: KnownHosts | None = None,
) -> tuple[AgentConnection, dict[str, Any], str]:
    """Connect to the worker's agent: (connection, hello result, address of its instances)."""
    transport = make_transport(
        destination,
        paths,
        identity_file=identity_file,
        accept_fingerprint=accept_fingerprint,
        ssh_config_path=ssh_config_path,
        connect_timeout=connect_timeout,
        known_hosts=known_hosts,
    )
    try:
        connection = AgentConnection(transport)
    except BaseException:
        transport.close()
        raise
    try:
        hello = connection.call("hello", timeout=HELLO_TIMEOUT)
        check_hello(hello, transport.label)
    except BaseException:
        connection.close()
        raise
    return connection, hello, transport.address


def check_hello(hello: Any, label: str) -> None:
    """Raise `AgentError("protocol_mismatch", ...)` unless the agent speaks our protocol."""
    protocol = hello.get("protocol") if isinstance(hello, dict) else None
    if protocol != PROTOCOL_VERSION:
        raise AgentError(
            "protocol_mismatch",
            f"the agent on {label} speaks protocol {protocol!r}, this server speaks "
            f"{PROTOCOL_VERSION}: the agent code on the worker does not match this server "
            "(reinstall gpustack-tui, then reconnect the worker)",
        )
