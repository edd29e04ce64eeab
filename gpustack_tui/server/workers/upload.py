"""Install the agent on a worker over SFTP and start it over an SSH exec channel.

Layout on the worker: `$GPUSTACK_AGENT_HOME/code/<sha256 of the bundle>/agent/...` (plus
`pynvml.py` beside `agent/` when shipped). `agent/.complete` is written last, so an interrupted
upload is redone; each file is written under a temporary name and renamed into place, so an
agent started concurrently never reads a half-written file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import posixpath
import shlex
import stat
import uuid
from dataclasses import dataclass

import paramiko

from gpustack_tui.server.workers.bundle import AgentBundle
from gpustack_tui.server.workers.errors import AgentSetupFailed, WorkerUnreachable

log = logging.getLogger(__name__)

DEFAULT_AGENT_HOME = "$HOME/.local/share/gpustack-tui-agent"
COMPLETE_MARKER = ".complete"
# Run by `sh` whatever the login shell; the prefixes let us ignore noise printed by rc files.
PROBE_SCRIPT = (
    'printf "home=%s\\n" "${GPUSTACK_AGENT_HOME:-' + DEFAULT_AGENT_HOME + '}"; '
    'printf "python3=%s\\n" "$(command -v python3)"'
)


@dataclass(frozen=True)
class RemoteInfo:
    """What the probe found on the worker."""

    agent_home: str
    python3: str  # the path of python3 on the worker's PATH, "" when missing


def run_command(client: paramiko.SSHClient, command: str, timeout: float) -> tuple[int, str, str]:
    """Run a command; its exit status, stdout and stderr (decoded, errors replaced)."""
    try:
        transport = client.get_transport()
        if transport is None:
            raise paramiko.SSHException("the connection is closed")
        channel = transport.open_session(timeout=timeout)
        channel.settimeout(timeout)
        channel.exec_command(command)
        out = channel.makefile("rb").read()
        err = channel.makefile_stderr("rb").read()
        status = channel.recv_exit_status()
        channel.close()
    except (TimeoutError, paramiko.SSHException, OSError, EOFError) as exc:
        raise WorkerUnreachable(f"the SSH session broke while running {command!r}: {exc}") from exc
    return status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def probe(client: paramiko.SSHClient, label: str, timeout: float) -> RemoteInfo:
    """Resolve the agent home on the worker and check that python3 is there."""
    status, out, err = run_command(client, "sh -c " + shlex.quote(PROBE_SCRIPT), timeout)
    values = dict(
        line.split("=", 1) for line in out.splitlines() if line.startswith(("home=", "python3="))
    )
    home = values.get("home", "").strip()
    if status != 0 or not home:
        raise AgentSetupFailed(
            "probe_failed",
            f"cannot run a POSIX shell command on {label} (exit status {status}): "
            f"{err.strip() or out.strip() or 'no output'} — is `sh` available to this user?",
        )
    python3 = values.get("python3", "").strip()
    if not python3:
        raise AgentSetupFailed(
            "python_missing",
            f"python3 was not found on {label} (on the PATH of a non-interactive SSH session). "
            "The worker agent needs Python 3: install it there (e.g. `apt install python3` or "
            "`dnf install python3`) and make sure `python3` is on that PATH.",
        )
    return RemoteInfo(agent_home=home.rstrip("/") or "/", python3=python3)


def code_dir(info: RemoteInfo, bundle: AgentBundle) -> str:
    """The folder holding `agent/` for this bundle on the worker."""
    return posixpath.join(info.agent_home, "code", bundle.digest)


def ensure_uploaded(
    client: paramiko.SSHClient,
    bundle: AgentBundle,
    directory: str,
    label: str,
    force: bool = False,
) -> bool:
    """Upload the bundle into `directory` unless already complete; True when it uploaded.

    `force` uploads every file again and deletes agent code files the bundle does not have:
    for a folder whose files no longer hash to its name (someone edited the copy there).
    """
    marker = posixpath.join(directory, "agent", COMPLETE_MARKER)
    try:
        sftp = client.open_sftp()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise AgentSetupFailed(
            "upload_failed",
            f"cannot open SFTP on {label} to install the agent ({exc}) — is the sftp subsystem "
            "enabled in the worker's sshd_config?",
        ) from exc
    try:
        if not force and _exists(sftp, marker):
            return False
        log.info("uploading the agent to %s:%s", label, directory)
        if force:
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(marker)
            _remove_strays(sftp, directory, {item.relative for item in bundle.files})
        for item in bundle.files:
            _put(sftp, posixpath.join(directory, item.relative), item.data)
        _put(sftp, marker, bundle.digest.encode("ascii") + b"\n")
        return True
    except OSError as exc:
        raise AgentSetupFailed(
            "upload_failed",
            f"cannot install the agent on {label} under {directory}: {exc} — check the "
            "permissions and free space of GPUSTACK_AGENT_HOME there",
        ) from exc
    finally:
        sftp.close()


def agent_command(directory: str) -> str:
    """The shell command that starts the uploaded agent."""
    return f"cd {shlex.quote(directory)} && exec python3 -u -m agent"


def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        if getattr(exc, "errno", None) == 2:
            return False
        raise
    return True


def _is_code(name: str) -> bool:
    return name.endswith(".py") or name == "PROTOCOL.md"


def _remove_strays(sftp: paramiko.SFTPClient, directory: str, keep: set[str]) -> None:
    """Delete agent code files under `directory` that are not in `keep` (relative paths)."""
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            entries = sftp.listdir_attr(posixpath.join(directory, relative) or directory)
        except FileNotFoundError:
            continue
        for entry in entries:
            child = posixpath.join(relative, entry.filename) if relative else entry.filename
            if stat.S_ISDIR(entry.st_mode or 0):
                if entry.filename != "__pycache__":
                    pending.append(child)
            elif _is_code(entry.filename) and child not in keep:
                log.info("removing %s/%s: not part of the agent", directory, child)
                sftp.remove(posixpath.join(directory, child))


def _makedirs(sftp: paramiko.SFTPClient, directory: str) -> None:
    """`mkdir -p` over SFTP (new folders private to the user)."""
    missing: list[str] = []
    current = directory
    while current not in ("", "/", "."):
        try:
            if stat.S_ISDIR(sftp.stat(current).st_mode or 0):
                break
            raise NotADirectoryError(f"{current} exists and is not a folder")
        except FileNotFoundError:
            missing.append(current)
            current = posixpath.dirname(current)
    for folder in reversed(missing):
        try:
            sftp.mkdir(folder, mode=0o700)
        except OSError:
            if not _exists(sftp, folder):  # another connection may have created it meanwhile
                raise


def _put(sftp: paramiko.SFTPClient, path: str, data: bytes) -> None:
    """Write a file atomically: a temporary name, then a rename over the final one."""
    _makedirs(sftp, posixpath.dirname(path))
    temporary = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
    sftp.putfo(io.BytesIO(data), temporary, file_size=len(data), confirm=True)
    try:
        sftp.posix_rename(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            sftp.remove(temporary)
        raise
