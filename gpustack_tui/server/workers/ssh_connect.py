"""Open an authenticated paramiko SSH client to a worker, with errors an operator can act on.

Host keys are checked strictly (see known_hosts.py). Keys tried: the given identity file, the
target's IdentityFile entries, then ssh-agent and the default `~/.ssh/id_*` keys. Every failure
becomes a `WorkerError`: `WorkerUnreachable` (DNS, refused, timeout, not an SSH server),
`WorkerAuthFailed`, `HostKeyUnknown` or `HostKeyChanged`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
from pathlib import Path

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError

from gpustack_tui.server.workers.destination import SshTarget
from gpustack_tui.server.workers.errors import (
    WorkerAuthFailed,
    WorkerError,
    WorkerUnreachable,
)
from gpustack_tui.server.workers.known_hosts import (
    KnownHosts,
    StrictHostKeyPolicy,
    translate_bad_host_key,
)

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15
DEFAULT_KEY_NAMES = ("id_rsa", "id_ecdsa", "id_ed25519")


def connect_client(
    target: SshTarget,
    known_hosts: KnownHosts,
    *,
    identity_file: str | None = None,
    accept_fingerprint: str | None = None,
    timeout: float = 10.0,
) -> paramiko.SSHClient:
    """An authenticated `SSHClient` to `target`, or a `WorkerError` saying what to do."""
    key_files = _key_files(target, identity_file)
    client = paramiko.SSHClient()
    known_hosts.load_into(client.get_host_keys(), target.host, target.port)
    client.set_missing_host_key_policy(
        StrictHostKeyPolicy(known_hosts, target.host, target.port, accept_fingerprint)
    )
    try:
        client.connect(
            target.host,
            port=target.port,
            username=target.user,
            # paramiko takes a list of key files too, though its stubs say one str.
            key_filename=list(key_files) or None,  # type: ignore[arg-type]
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            allow_agent=True,
            look_for_keys=True,
        )
    except BaseException as exc:
        handshake_done = _handshake_done(client)
        client.close()
        if isinstance(exc, WorkerError):
            raise
        if isinstance(exc, paramiko.BadHostKeyException):
            raise translate_bad_host_key(exc, target.host, target.port) from None
        if isinstance(exc, paramiko.AuthenticationException) or (
            isinstance(exc, paramiko.SSHException) and handshake_done
        ):
            raise _auth_failed(target, key_files, exc) from exc
        if isinstance(exc, Exception):
            raise _unreachable(target, exc, timeout) from exc
        raise
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(KEEPALIVE_SECONDS)
        sock = transport.sock
        with contextlib.suppress(OSError):
            # Small requests must leave at once: Nagle would hold one back until the previous
            # packet is acknowledged, and delayed ACKs make that ~40 ms per round trip.
            if isinstance(sock, socket.socket):  # not a channel of a jump host
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def _key_files(target: SshTarget, identity_file: str | None) -> tuple[str, ...]:
    """The explicit key (must exist) then the config's IdentityFiles (missing ones skipped)."""
    files: list[str] = []
    if identity_file:
        path = Path(os.path.expanduser(identity_file))
        if not path.is_file():
            raise WorkerAuthFailed(
                f"the identity file {identity_file} does not exist; give the path of a private "
                f"key that {target.user}@{target.host} accepts",
                {"host": target.host, "port": target.port, "user": target.user},
            )
        files.append(str(path))
    for name in target.identity_files:
        path = Path(os.path.expanduser(name))
        if path.is_file() and str(path) not in files:
            files.append(str(path))
    return tuple(files)


def _handshake_done(client: paramiko.SSHClient) -> bool:
    """Whether the failed connection got past key exchange (so the failure was in auth)."""
    transport = client.get_transport()
    return transport is not None and transport.host_key is not None


def _auth_failed(
    target: SshTarget, key_files: tuple[str, ...], exc: BaseException
) -> WorkerAuthFailed:
    """The login was refused: say which user and keys were tried, and how to fix it."""
    tried = [f"key {name}" for name in key_files]
    agent_keys = _agent_key_count()
    if agent_keys:
        tried.append(f"{agent_keys} ssh-agent key(s)")
    defaults = [str(p) for p in _default_keys() if str(p) not in key_files]
    if defaults:
        tried.append("default key(s) " + ", ".join(defaults))
    tried_text = "; ".join(tried) if tried else "no key at all (no identity file, no ssh-agent)"
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, paramiko.PasswordRequiredException):
        detail += " (a passphrase-protected key: load it into ssh-agent with `ssh-add`)"
    message = (
        f"{target.label} refused the SSH login of user {target.user!r} ({detail}). Tried: "
        f"{tried_text}. Add the matching public key to ~{target.user}/.ssh/authorized_keys on "
        "the worker, or choose the key with an identity file (or IdentityFile in ~/.ssh/config)."
    )
    return WorkerAuthFailed(
        message,
        {"host": target.host, "port": target.port, "user": target.user, "keys": list(key_files)},
    )


def _unreachable(target: SshTarget, exc: Exception, timeout: float) -> WorkerUnreachable:
    """A network-level failure as an operator-readable `WorkerUnreachable`."""
    where = f"{target.host}:{target.port}"
    if isinstance(exc, socket.gaierror):
        reason = (
            f"cannot resolve the host name {target.host!r} ({exc.strerror or exc}) — check the "
            "spelling, the DNS, or the HostName in ~/.ssh/config"
        )
    elif isinstance(exc, (NoValidConnectionsError, ConnectionRefusedError)):
        codes = {getattr(e, "errno", None) for e in getattr(exc, "errors", {}).values()}
        if errno.EHOSTUNREACH in codes and errno.ECONNREFUSED not in codes:
            reason = (
                f"cannot reach {where}: no route to host — is the machine up and on the network?"
            )
        else:
            reason = (
                f"cannot reach {where}: connection refused — is sshd running there and the "
                "port right?"
            )
    elif isinstance(exc, TimeoutError):
        reason = (
            f"cannot reach {where}: no answer within {timeout:g} s — is the machine up, and does "
            f"a firewall let TCP port {target.port} through?"
        )
    elif isinstance(exc, paramiko.SSHException):
        reason = (
            f"cannot open an SSH session with {where} ({exc}) — is an SSH server (sshd) "
            "listening on that port?"
        )
    elif isinstance(exc, OSError):
        reason = f"cannot reach {where}: {exc.strerror or exc}"
    else:
        reason = f"cannot connect to {where}: {type(exc).__name__}: {exc}"
    return WorkerUnreachable(reason, {"host": target.host, "port": target.port})


def _agent_key_count() -> int:
    """How many keys ssh-agent offers (0 when there is no agent)."""
    if not os.environ.get("SSH_AUTH_SOCK"):
        return 0
    try:
        agent = paramiko.Agent()
        try:
            return len(agent.get_keys())
        finally:
            agent.close()
    except (paramiko.SSHException, OSError):
        return 0


def _default_keys() -> list[Path]:
    """The default private keys paramiko looks for (`~/.ssh/id_*`) that exist."""
    home = Path(os.path.expanduser("~/.ssh"))
    return [home / name for name in DEFAULT_KEY_NAMES if (home / name).is_file()]
