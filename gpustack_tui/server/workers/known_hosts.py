"""The application's own SSH known_hosts, and the host-key policy that never auto-accepts.

Trusted keys come from the application's file (`Paths.known_hosts`, the only one ever written)
and, read-only, from the user's `~/.ssh/known_hosts`. An unknown key is refused with
`HostKeyUnknown` unless the caller passed `accept_fingerprint` equal to that key's SHA256
fingerprint; then it is appended to the application's file (mode 0600). A key different from
the stored one is refused with `HostKeyChanged` (paramiko raises `BadHostKeyException` for it,
which `translate_bad_host_key` turns into our error).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry

from gpustack_tui.server.workers.errors import HostKeyChanged, HostKeyUnknown

log = logging.getLogger(__name__)

USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def fingerprint(key: paramiko.PKey) -> str:
    """The key's fingerprint as OpenSSH prints it: `SHA256:` + base64 without padding."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def normalize_fingerprint(text: str) -> str:
    """Accept `SHA256:xxx` or bare `xxx` (padding optional) and return `SHA256:xxx`."""
    value = text.strip()
    if value.upper().startswith("SHA256:"):
        value = value[len("SHA256:") :]
    return "SHA256:" + value.rstrip("=")


def host_key_name(host: str, port: int) -> str:
    """The known_hosts name of a host: `host` for port 22, else `[host]:port`."""
    return host if port == 22 else f"[{host}]:{port}"


class KnownHosts:
    """The trusted host keys: the application's file (read-write) + extra read-only files."""

    def __init__(self, path: Path, extra_paths: tuple[Path, ...] = (USER_KNOWN_HOSTS,)) -> None:
        self.path = Path(path)
        self.extra_paths = tuple(Path(os.path.expanduser(str(p))) for p in extra_paths)

    def trusted_keys(self, host: str, port: int) -> dict[str, paramiko.PKey]:
        """The trusted keys of `host:port` by key type, the application's file winning over
        the extra ones for a key type (empty when the host is unknown). Unparsable lines, and
        `@cert-authority` / `@revoked` ones, are skipped."""
        name = host_key_name(host, port)
        found: dict[str, paramiko.PKey] = {}
        for path in (self.path, *self.extra_paths):
            for key in _keys_for(path, name):
                found.setdefault(key.get_name(), key)
        return found

    def load_into(self, host_keys: paramiko.HostKeys, host: str, port: int) -> None:
        """Put the trusted keys of `host:port` into a client's `HostKeys`."""
        name = host_key_name(host, port)
        for key_type, key in self.trusted_keys(host, port).items():
            host_keys.add(name, key_type, key)

    def add(self, host: str, port: int, key: paramiko.PKey) -> None:
        """Append the key to the application's file (created 0600, folder 0700)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = f"{host_key_name(host, port)} {key.get_name()} {key.get_base64()}\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.fchmod(fd, 0o600)
            if os.fstat(fd).st_size > 0 and not self._ends_with_newline():
                line = "\n" + line
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)
        log.info(
            "trusted the %s host key of %s:%s (%s)", key.get_name(), host, port, fingerprint(key)
        )

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"


def _keys_for(path: Path, name: str) -> list[paramiko.PKey]:
    """The keys a known_hosts file holds for `name` (plain or hashed entries), in file order."""
    if not path.is_file():
        return []
    keys: list[paramiko.PKey] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = list(handle)
    except OSError as exc:
        log.warning("ignoring unreadable known_hosts %s: %s", path, exc)
        return []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith(("#", "@")):
            continue
        try:
            entry = HostKeyEntry.from_line(line, number)
        except Exception:  # InvalidHostKey, SSHException, ...: a bad line, not a bad file
            log.debug("skipping unparsable line %d of %s", number, path)
            continue
        if entry is not None and _matches(name, entry.hostnames):
            keys.append(entry.key)
    return keys


def _matches(name: str, patterns: list[str]) -> bool:
    """Whether a known_hosts entry's host names (plain or `|1|` hashed) include `name`."""
    for pattern in patterns:
        if pattern == name:
            return True
        if pattern.startswith("|1|") and paramiko.HostKeys.hash_host(name, pattern) == pattern:
            return True
    return False


class StrictHostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuse unknown host keys, unless the operator accepted exactly this key's fingerprint."""

    def __init__(
        self,
        known_hosts: KnownHosts,
        host: str,
        port: int,
        accept_fingerprint: str | None = None,
    ) -> None:
        self.known_hosts = known_hosts
        self.host = host
        self.port = port
        self.accept_fingerprint = (
            normalize_fingerprint(accept_fingerprint) if accept_fingerprint else None
        )
        self.accepted: paramiko.PKey | None = None

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        """Called by paramiko for a key it has no entry for: accept it or raise."""
        got = fingerprint(key)
        if self.accept_fingerprint != got:
            raise HostKeyUnknown(
                self.host,
                self.port,
                key.get_name(),
                got,
                offered_fingerprint=self.accept_fingerprint,
            )
        self.known_hosts.add(self.host, self.port, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.accepted = key


def translate_bad_host_key(
    exc: paramiko.BadHostKeyException, host: str, port: int
) -> HostKeyChanged:
    """paramiko's `BadHostKeyException` as our `HostKeyChanged`."""
    return HostKeyChanged(
        host,
        port,
        exc.key.get_name(),
        fingerprint(exc.expected_key),
        fingerprint(exc.key),
    )
