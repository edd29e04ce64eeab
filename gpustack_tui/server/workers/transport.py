"""How the server runs a worker's agent: over SSH (`SshTransport`) or as a subprocess (`Local`).

A transport starts the agent and hands its three streams to the RPC layer (`rpc.py`): the
agent's stdin (writable), stdout and stderr (readable, `readline()` giving bytes). `address`
is the host on which the worker's instances are reached.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import paramiko

from gpustack_tui.config import Paths
from gpustack_tui.server.workers import upload
from gpustack_tui.server.workers.bundle import agent_package_dir, collect_bundle
from gpustack_tui.server.workers.destination import SshTarget
from gpustack_tui.server.workers.errors import AgentSetupFailed, WorkerUnreachable
from gpustack_tui.server.workers.keepalive import KeepaliveMonitor, keepalive_interval
from gpustack_tui.server.workers.known_hosts import KnownHosts, fingerprint
from gpustack_tui.server.workers.ssh_connect import connect_client


class ReadableStream(Protocol):
    """A binary stream read line by line (b"" at the end)."""

    def readline(self) -> bytes: ...
    def close(self) -> None: ...


class WritableStream(Protocol):
    """A binary stream written to and flushed."""

    def write(self, data: bytes, /) -> Any: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class AgentStreams:
    """The agent's standard streams, seen from the server."""

    stdin: WritableStream
    stdout: ReadableStream
    stderr: ReadableStream


class ChannelWriter:
    """The agent's stdin over an SSH channel: each write goes straight to the channel.

    Not paramiko's `makefile_stdin`: its file object flushes in `__del__`, and when the garbage
    collector finalizes its buffer first, that fails with a traceback on stderr.
    """

    def __init__(self, channel: paramiko.Channel) -> None:
        self._channel = channel

    def write(self, data: bytes, /) -> int:
        """Send all of `data` (blocks while the channel's window is full)."""
        self._channel.sendall(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to do: writes are not buffered."""

    def close(self) -> None:
        """Send EOF: the agent exits when its stdin ends."""
        with contextlib.suppress(Exception):  # the channel may be gone already
            self._channel.shutdown_write()


class AgentTransport(ABC):
    """Starts one agent process and owns whatever carries its streams."""

    address: str = "127.0.0.1"
    label: str = "agent"

    @abstractmethod
    def open(self) -> AgentStreams:
        """Start the agent (once; later calls return the same streams)."""

    @abstractmethod
    def close(self) -> None:
        """Stop the agent and release the connection (idempotent)."""

    def exit_status(self) -> int | None:
        """The agent's exit status once it has exited, else None."""
        return None

    def failure(self) -> str | None:
        """Why the transport itself gave up on the connection (e.g. keepalives unanswered)."""
        return None

    def __enter__(self) -> AgentTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SshTransport(AgentTransport):
    """The agent on a worker reached over SSH, uploaded there first when needed."""

    def __init__(
        self,
        target: SshTarget,
        paths: Paths,
        accept_fingerprint: str | None = None,
        connect_timeout: float = 10,
        *,
        identity_file: str | None = None,
        known_hosts: KnownHosts | None = None,
        keepalive_seconds: float | None = None,
    ) -> None:
        self.target = target
        self.paths = paths
        self.accept_fingerprint = accept_fingerprint
        self.connect_timeout = connect_timeout
        self.identity_file = identity_file
        self.known_hosts = known_hosts or KnownHosts(paths.known_hosts)
        self.address = target.host
        self.label = target.label
        self.keepalive_seconds = keepalive_seconds or keepalive_interval()
        self.force_upload = False  # upload even when the folder looks complete (hash mismatch)
        self.uploaded = False  # whether the last open() had to upload the agent
        self.bundle_digest = ""  # the hash of the agent code this server ships
        self.remote_dir = ""  # the folder holding agent/ on the worker
        self.host_key_fingerprint = ""
        self._client: paramiko.SSHClient | None = None
        self._channel: paramiko.Channel | None = None
        self._streams: AgentStreams | None = None
        self._monitor: KeepaliveMonitor | None = None
        self._lock = threading.Lock()

    def open(self) -> AgentStreams:
        """Connect, upload the agent if this version is not there yet, and start it; then
        probe the connection with keepalives (see keepalive.py)."""
        with self._lock:
            if self._streams is not None:
                return self._streams
            client = connect_client(
                self.target,
                self.known_hosts,
                identity_file=self.identity_file,
                accept_fingerprint=self.accept_fingerprint,
                timeout=self.connect_timeout,
            )
            try:
                self._streams = self._start(client)
            except BaseException:
                client.close()
                raise
            self._client = client
            ssh = client.get_transport()
            if ssh is not None:
                self._monitor = KeepaliveMonitor(ssh, self.label, self.keepalive_seconds).start()
            return self._streams

    def _start(self, client: paramiko.SSHClient) -> AgentStreams:
        transport = client.get_transport()
        if transport is None:  # pragma: no cover - connect_client returned a live client
            raise WorkerUnreachable(f"the SSH connection to {self.label} closed")
        self.host_key_fingerprint = fingerprint(transport.get_remote_server_key())
        info = upload.probe(client, self.label, self.connect_timeout)
        bundle = collect_bundle()
        self.bundle_digest = bundle.digest
        self.remote_dir = upload.code_dir(info, bundle)
        self.uploaded = upload.ensure_uploaded(
            client, bundle, self.remote_dir, self.label, force=self.force_upload
        )
        try:
            channel = transport.open_session(timeout=self.connect_timeout)
            channel.exec_command(upload.agent_command(self.remote_dir))
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise WorkerUnreachable(f"cannot start the agent on {self.label}: {exc}") from exc
        self._channel = channel
        return AgentStreams(
            stdin=ChannelWriter(channel),
            stdout=channel.makefile("rb"),
            stderr=channel.makefile_stderr("rb"),
        )

    def exit_status(self) -> int | None:
        """The remote agent's exit status, once sshd reported it."""
        channel = self._channel
        if channel is not None and channel.exit_status_ready():
            return channel.recv_exit_status()
        return None

    def failure(self) -> str | None:
        """Set when the keepalive monitor found the connection dead and closed it."""
        return self._monitor.dead_reason if self._monitor is not None else None

    def close(self) -> None:
        """Close the channel (the agent sees EOF) and the SSH connection."""
        with self._lock:
            channel, client = self._channel, self._client
            self._channel = self._client = None
            self._streams = None
            if self._monitor is not None:
                self._monitor.stop()
        if channel is not None:
            channel.close()
        if client is not None:
            client.close()


class LocalTransport(AgentTransport):
    """The head node's own agent, a subprocess of the server (destination `local`)."""

    label = "local"

    def __init__(
        self, paths: Paths, extra_env: dict[str, str] | None = None, home: Path | None = None
    ) -> None:
        self.paths = paths
        self.extra_env = dict(extra_env or {})
        self.home = home  # None: the head node's own `local` agent home
        self.address = "127.0.0.1"
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def open(self) -> AgentStreams:
        """Start `python -u -m agent` with GPUSTACK_AGENT_HOME = the local agent home."""
        with self._lock:
            if self.process is None:
                home = self.home or self.paths.local_agent_home
                home.mkdir(parents=True, exist_ok=True, mode=0o700)
                env = {**os.environ, "GPUSTACK_AGENT_HOME": str(home), **self.extra_env}
                try:
                    self.process = subprocess.Popen(
                        [sys.executable, "-u", "-m", "agent"],
                        cwd=str(agent_package_dir().parent),
                        env=env,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        start_new_session=True,  # no SIGINT from the server's terminal
                    )
                except OSError as exc:
                    raise AgentSetupFailed(
                        "start_failed", f"cannot start the local agent: {exc}"
                    ) from exc
            process = self.process
            assert process.stdin and process.stdout and process.stderr
            return AgentStreams(process.stdin, process.stdout, process.stderr)

    @property
    def pid(self) -> int | None:
        """The agent's process id (None before open())."""
        return self.process.pid if self.process is not None else None

    def exit_status(self) -> int | None:
        """The agent's exit status once it has exited."""
        return self.process.poll() if self.process is not None else None

    def close(self) -> None:
        """Close its stdin (the agent exits on EOF), then terminate / kill it if it lingers."""
        with self._lock:
            process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # stdout / stderr are left to their readers (rpc closes them at EOF): closing a pipe
        # that another thread is reading would block until that read returns.
