"""JSON-lines RPC with the real agent: local subprocess and over SSH, threads and asyncio."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gpustack_tui.config import Paths
from gpustack_tui.server.workers import (
    AgentConnection,
    AgentError,
    AgentUnreachable,
    WorkerUnreachable,
    open_worker,
)
from gpustack_tui.server.workers.known_hosts import KnownHosts
from gpustack_tui.server.workers.transport import (
    AgentStreams,
    AgentTransport,
    LocalTransport,
    SshTransport,
)
from tests.fixtures.processes import pids_where, working_dir
from tests.fixtures.sshd import GIB, SshdServer


@pytest.fixture
def local(paths: Paths) -> Any:
    """An open connection to the head node's own agent (`local`)."""
    connection, hello, address = open_worker("local", paths)
    yield connection, hello, address
    connection.close()


def test_local_hello(local: Any, paths: Paths) -> None:
    connection, hello, address = local
    assert isinstance(connection.transport, LocalTransport)
    assert address == "127.0.0.1"
    assert hello["protocol"] == 1
    assert hello["home"] == str(paths.local_agent_home)
    assert connection.alive


def test_local_agent_inherits_simulated_gpus(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "GPUSTACK_AGENT_SIMULATED_GPUS", json.dumps([{"name": "Sim A10", "memory_total": 24 * GIB}])
    )
    connection, _, _ = open_worker("local", paths)
    with connection:
        gpus = connection.call("inventory")["gpus"]
    assert [(g["name"], g["simulated"]) for g in gpus] == [("Sim A10", True)]


def test_error_answers_raise_agent_error(local: Any) -> None:
    connection = local[0]
    with pytest.raises(AgentError) as info:
        connection.call("stop", name="no-such-workload", grace_seconds=1)
    assert (info.value.code, info.value.agent_code) == ("agent_error", "not_found")
    assert "no-such-workload" in info.value.message
    with pytest.raises(AgentError) as info:
        connection.call("no_such_method")
    assert info.value.agent_code == "unknown_method"
    assert info.value.details == {"agent_code": "unknown_method"}
    # An error answer leaves the connection usable.
    assert connection.alive
    assert connection.call("hello")["protocol"] == 1


def test_concurrent_calls_from_threads_get_their_own_answers(local: Any, tmp_path: Path) -> None:
    connection = local[0]
    files = []
    for size in range(1, 41):
        path = tmp_path / f"file-{size}"
        path.write_bytes(b"x" * size)
        files.append((path, size))
    errors: list[BaseException] = []

    def worker(chunk: list[tuple[Path, int]]) -> None:
        try:
            for path, size in chunk:
                assert connection.call("path_info", path=str(path))["size"] == size
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(files[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors


async def test_acall_from_asyncio(local: Any, tmp_path: Path) -> None:
    connection: AgentConnection = local[0]
    paths = []
    for size in range(1, 21):
        path = tmp_path / f"a-{size}"
        path.write_bytes(b"y" * size)
        paths.append(path)
    results = await asyncio.gather(*(connection.acall("path_info", path=str(p)) for p in paths))
    assert [r["size"] for r in results] == list(range(1, 21))
    with pytest.raises(AgentError):
        await connection.acall("no_such_method")


async def test_timeout_raises_but_keeps_the_connection(local: Any) -> None:
    connection: AgentConnection = local[0]
    # A workload that ignores SIGTERM makes `stop` wait out its grace period.
    started = connection.call(
        "start", name="stubborn", argv=["sh", "-c", "trap '' TERM; sleep 30"], env={}, cwd=None,
        labels={},
    )  # fmt: skip
    assert started["pid"] > 0
    time.sleep(0.3)
    with pytest.raises(AgentUnreachable, match=re.escape("did not answer 'stop' within 0.5 s")):
        connection.call("stop", timeout=0.5, name="stubborn", grace_seconds=2)
    with pytest.raises(AgentUnreachable, match="did not answer"):
        await connection.acall("hello", timeout=0.2)
    assert connection.alive
    assert connection.call("hello", timeout=30)["protocol"] == 1  # after the late answers
    connection.call("remove", name="stubborn", grace_seconds=1)


def test_killed_local_agent_raises_agent_unreachable(local: Any) -> None:
    connection: AgentConnection = local[0]
    transport = connection.transport
    assert isinstance(transport, LocalTransport) and transport.pid
    os.kill(transport.pid, signal.SIGKILL)
    with pytest.raises(AgentUnreachable) as info:
        for _ in range(50):  # the first calls may still be written before the pipe breaks
            connection.call("hello", timeout=5)
            time.sleep(0.05)
    assert isinstance(info.value, WorkerUnreachable) and info.value.code == "unreachable"
    assert "lost the agent on local" in info.value.message
    assert "exit status -9" in info.value.message
    assert not connection.alive
    with pytest.raises(AgentUnreachable):
        connection.call("hello")


def agent_pids_under(folder: str) -> list[int]:
    """The processes (agents) whose working folder is `folder`."""
    return pids_where(lambda pid: working_dir(pid) == folder)


def test_killed_ssh_agent_raises_agent_unreachable(sshd_server: SshdServer, paths: Paths) -> None:
    connection, _, _ = open_worker(
        sshd_server.destination,
        paths,
        identity_file=str(sshd_server.identity_file),
        accept_fingerprint=sshd_server.host_key_fingerprint,
        known_hosts=KnownHosts(paths.known_hosts, extra_paths=()),
    )
    transport = connection.transport
    assert isinstance(transport, SshTransport)
    pids = agent_pids_under(transport.remote_dir)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while connection.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.alive
    with pytest.raises(
        AgentUnreachable, match=re.escape(f"lost the agent on {sshd_server.user}@127.0.0.1")
    ):
        connection.call("hello")


class DyingScript(AgentTransport):
    """A stand-in agent (a real subprocess) that complains on stderr and exits at once."""

    label = "stand-in"
    SCRIPT = (
        "import sys; sys.stdin.readline(); "
        "sys.stderr.write('Traceback: something broke\\nRuntimeError: disk on fire\\n'); "
        "sys.exit(3)"
    )

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def open(self) -> AgentStreams:
        if self.process is None:
            self.process = subprocess.Popen(
                [sys.executable, "-c", self.SCRIPT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        assert self.process.stdin and self.process.stdout and self.process.stderr
        return AgentStreams(self.process.stdin, self.process.stdout, self.process.stderr)

    def exit_status(self) -> int | None:
        return self.process.poll() if self.process else None

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def test_agent_stderr_is_in_the_message_when_it_dies() -> None:
    connection = AgentConnection(DyingScript())
    with pytest.raises(AgentUnreachable) as info:
        connection.call("hello", timeout=10)
    message = info.value.message
    assert message.startswith(
        "lost the agent on stand-in: the agent's output ended (exit status 3)"
    )
    assert message.endswith(
        "its last stderr lines:\nTraceback: something broke\nRuntimeError: disk on fire"
    )
    assert connection.stderr_tail[-1] == "RuntimeError: disk on fire"
    connection.close()


def test_close_fails_pending_calls_and_is_idempotent(local: Any, paths: Paths) -> None:
    connection: AgentConnection = local[0]
    connection.call(
        "start", name="stubborn2", argv=["sh", "-c", "trap '' TERM; sleep 30"], env={}, cwd=None,
        labels={},
    )  # fmt: skip
    time.sleep(0.3)
    outcome: list[BaseException] = []

    def slow_stop() -> None:
        try:
            connection.call("stop", name="stubborn2", grace_seconds=3)
        except BaseException as exc:  # collected for the main thread
            outcome.append(exc)

    thread = threading.Thread(target=slow_stop)
    thread.start()
    time.sleep(0.3)
    connection.close()
    thread.join(timeout=10)
    assert outcome and isinstance(outcome[0], AgentUnreachable)
    assert "was closed" in str(outcome[0])
    connection.close()
    assert not connection.alive
    # The workload outlives its agent; a new agent finds it and removes it.
    again, _, _ = open_worker("local", paths)
    with again:
        again.call("remove", name="stubborn2", grace_seconds=0.5)


def test_protocol_check_on_hello() -> None:
    from gpustack_tui.server.workers.connect import check_hello

    check_hello({"protocol": 1}, "w")
    with pytest.raises(AgentError) as info:
        check_hello({"protocol": 2}, "w")
    assert info.value.agent_code == "protocol_mismatch"
    assert "protocol 2" in info.value.message


async def test_cancelled_acall_is_forgotten(local: Any) -> None:
    connection: AgentConnection = local[0]
    task = asyncio.ensure_future(connection.acall("inventory"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await connection.acall("hello"))["protocol"] == 1
    assert not connection._pending  # the cancelled request left nothing behind
