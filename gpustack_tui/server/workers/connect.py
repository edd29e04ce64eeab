"""Open a worker: pick the transport for its destination, start the agent, check its hello.

    conn, hello, address = open_worker("root@gpu1:22", paths, accept_fingerprint=fp)
    inventory = conn.call("inventory")

Errors are `WorkerError`s (see errors.py); `ValueError` for a malformed destination.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from gpustack_tui.config import Paths
from gpustack_tui.server.workers.destination import LocalTarget, parse_destination
from gpustack_tui.server.workers.errors import AgentError, AgentSetupFailed
from gpustack_tui.server.workers.known_hosts import KnownHosts
from gpustack_tui.server.workers.rpc import AgentConnection
from gpustack_tui.server.workers.transport import AgentTransport, LocalTransport, SshTransport

log = logging.getLogger(__name__)

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
        if target.name:  # local:NAME: its own agent home beside the head node's
            return LocalTransport(paths, home=paths.data_dir / f"local-agent-{target.name}")
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
    connection, hello = _start_agent(transport)
    if isinstance(transport, SshTransport) and _code_hash(hello) != transport.bundle_digest:
        # The folder named after our bundle's hash holds other code (edited there, or a
        # half-replaced copy): upload it again and restart the agent from it.
        log.warning(
            "the agent code on %s has hash %s, not this server's %s: uploading it again",
            transport.label,
            _code_hash(hello) or "(none)",
            transport.bundle_digest,
        )
        connection.close()
        transport = make_transport(
            destination,
            paths,
            identity_file=identity_file,
            accept_fingerprint=accept_fingerprint,
            ssh_config_path=ssh_config_path,
            connect_timeout=connect_timeout,
            known_hosts=known_hosts,
        )
        assert isinstance(transport, SshTransport)
        transport.force_upload = True
        connection, hello = _start_agent(transport)
        if _code_hash(hello) != transport.bundle_digest:
            connection.close()
            raise AgentSetupFailed(
                "code_mismatch",
                f"the agent code uploaded to {transport.label} under {transport.remote_dir} "
                f"still hashes to {_code_hash(hello) or '(none)'}, not {transport.bundle_digest}: "
                "check that the folder is writable and that nothing rewrites it",
            )
    try:
        check_hello(hello, transport.label)
    except BaseException:
        connection.close()
        raise
    return connection, hello, transport.address


def _start_agent(transport: AgentTransport) -> tuple[AgentConnection, dict[str, Any]]:
    """Open the transport and say hello; the connection and the hello result."""
    try:
        connection = AgentConnection(transport)
    except BaseException:
        transport.close()
        raise
    try:
        hello = connection.call("hello", timeout=HELLO_TIMEOUT)
    except BaseException:
        connection.close()
        raise
    return connection, hello if isinstance(hello, dict) else {}


def _code_hash(hello: dict[str, Any]) -> str:
    return str(hello.get("code_hash") or "")


def protocol_major(protocol: Any) -> int | None:
    """The major version of a `hello`'s protocol: `1`, `"1"` and `"1.2"` are all 1."""
    if isinstance(protocol, bool):
        return None
    if isinstance(protocol, int):
        return protocol
    if isinstance(protocol, str):
        head = protocol.split(".", 1)[0]
        return int(head) if head.isdigit() else None
    return None


def check_hello(hello: Any, label: str) -> None:
    """Raise `AgentError("protocol_mismatch", ...)` unless the agent speaks our protocol's
    major version (additions that old peers can ignore keep the major version)."""
    protocol = hello.get("protocol") if isinstance(hello, dict) else None
    if protocol_major(protocol) != PROTOCOL_VERSION:
        raise AgentError(
            "protocol_mismatch",
            f"incompatible agent on {label}: it speaks protocol {protocol!r}, this server "
            f"speaks {PROTOCOL_VERSION}. The agent code there does not match this server: "
            "reinstall the same gpustack-tui version on the head node, then reconnect the "
            "worker (its agent is uploaded again)",
        )
