"""Parse a worker's SSH destination (`user@host:port`, an `~/.ssh/config` alias, or `local`).

The syntax is the one operators type for `ssh`, plus an optional `:port`:

    local                  the head node itself (the agent runs as a local subprocess)
    local:NAME             another agent on the head node, with its own agent home (the demo's
                           simulated workers)
    host                   user = the SSH config's User, else the current user; port 22
    user@host:2222
    [::1]:2222, user@[fe80::1]   IPv6 literals take brackets when a port follows
    gpu1                   an alias from ~/.ssh/config: its HostName, Port, User and
                           IdentityFile apply (explicit user / port in the destination win)
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from pathlib import Path

import paramiko

LOCAL_DESTINATION = "local"
DEFAULT_SSH_CONFIG = Path("~/.ssh/config")
_HOST_RE = re.compile(r"^[A-Za-z0-9_.%:-]+$")
_USER_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.$-]*$")
_LOCAL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class SshTarget:
    """Where to SSH to: the resolved host name, port, login user and identity files."""

    host: str
    port: int = 22
    user: str = ""
    identity_files: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """`user@host:port` (brackets around IPv6 literals), for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}:{self.port}"


@dataclass(frozen=True)
class LocalTarget:
    """The head node itself: no SSH, the agent runs as a subprocess of the server.

    `name` tells apart several local agents (`local:NAME`), each with its own agent home."""

    name: str = ""

    @property
    def label(self) -> str:
        """`local` (or `local:NAME`), for messages."""
        return f"{LOCAL_DESTINATION}:{self.name}" if self.name else LOCAL_DESTINATION


Target = SshTarget | LocalTarget


def is_local(destination: str) -> bool:
    """Whether the destination is the head node (`local`)."""
    text = destination.strip()
    return text == LOCAL_DESTINATION or text.startswith(f"{LOCAL_DESTINATION}:")


def parse_destination(destination: str, ssh_config_path: str | Path | None = None) -> Target:
    """Parse `destination` into a `SshTarget` (or `LocalTarget` for `local`).

    `ssh_config_path` defaults to `~/.ssh/config` (a missing file is fine). Raises `ValueError`
    with a message meant for the operator when the destination is malformed.
    """
    text = destination.strip()
    if not text:
        raise ValueError("empty SSH destination: expected `host`, `user@host` or `user@host:port`")
    if text == LOCAL_DESTINATION:
        return LocalTarget()
    if text.startswith(f"{LOCAL_DESTINATION}:"):
        name = text.partition(":")[2]
        if not _LOCAL_NAME_RE.match(name):
            raise ValueError(
                f"bad local destination {destination!r}: use local:NAME with letters, digits, "
                "'.', '_' or '-'"
            )
        return LocalTarget(name)
    if any(ch.isspace() for ch in text):
        raise ValueError(f"bad SSH destination {destination!r}: it must not contain spaces")
    user, host, port = _split(text)
    config = _lookup_config(host, ssh_config_path)
    resolved_host = str(config.get("hostname") or host)
    if port is None:
        port = _parse_port(str(config["port"]), text) if config.get("port") else 22
    if user is None:
        user = str(config.get("user") or "") or _current_user()
    listed = config.get("identityfile")
    names = listed if isinstance(listed, list) else [listed] if isinstance(listed, str) else []
    identity_files = tuple(str(Path(os.path.expanduser(str(p)))) for p in names)
    return SshTarget(host=resolved_host, port=port, user=user, identity_files=identity_files)


def _split(text: str) -> tuple[str | None, str, int | None]:
    """`[user@]host[:port]` -> (user or None, host, port or None), validated."""
    user: str | None = None
    rest = text
    if "@" in text:
        user, _, rest = text.rpartition("@")
        if not user:
            raise ValueError(f"bad SSH destination {text!r}: empty user name before '@'")
        if not _USER_RE.match(user):
            raise ValueError(f"bad SSH destination {text!r}: invalid user name {user!r}")
    port: int | None = None
    if rest.startswith("["):
        host, sep, tail = rest[1:].partition("]")
        if not sep:
            raise ValueError(f"bad SSH destination {text!r}: missing ']' after an IPv6 address")
        if tail:
            if not tail.startswith(":"):
                raise ValueError(f"bad SSH destination {text!r}: expected ':port' after ']'")
            port = _parse_port(tail[1:], text)
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        port = _parse_port(port_text, text)
    else:
        host = rest  # a bare name, or an IPv6 literal without a port
    if not host:
        raise ValueError(f"bad SSH destination {text!r}: empty host name")
    if not _HOST_RE.match(host) or host.startswith("-"):
        raise ValueError(f"bad SSH destination {text!r}: invalid host name {host!r}")
    return user, host, port


def _parse_port(port_text: str, text: str) -> int:
    """A TCP port 1-65535, or `ValueError` naming the destination."""
    if not port_text.isdigit():
        raise ValueError(f"bad SSH destination {text!r}: port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"bad SSH destination {text!r}: port {port} is not in 1-65535")
    return port


def _lookup_config(host: str, ssh_config_path: str | Path | None) -> dict[str, object]:
    """The SSH config options for `host` (empty when there is no config file)."""
    path = Path(os.path.expanduser(str(ssh_config_path or DEFAULT_SSH_CONFIG)))
    if not path.is_file():
        return {}
    try:
        config = paramiko.SSHConfig.from_path(str(path))
        # Its stubs say str values, but IdentityFile comes as a list of them.
        found: dict[str, object] = dict(config.lookup(host))
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise ValueError(f"cannot read the SSH config {path}: {exc}") from exc
    if found.get("hostname") == host:
        found.pop("hostname")
    return found


def _current_user() -> str:
    """The login name of the user running the server."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "root" if os.geteuid() == 0 else str(os.geteuid())
