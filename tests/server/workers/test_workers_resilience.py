"""Connections that survive faults, against real sshd's and the real agent: keepalives find a
frozen connection, the agent's code hash forces a re-upload, an incompatible agent is refused
with its reason as the worker's state message, and a frozen worker holds up no other."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpustack_tui.config import Paths
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.server.control.reconciler import LIST_WAIT, Reconciler
from gpustack_tui.server.state.store import Store
from gpustack_tui.server.workers import AgentUnreachable, connect
from gpustack_tui.server.workers import sessions as sessions_module
from gpustack_tui.server.workers.keepalive import (
    DEFAULT_INTERVAL,
    KEEPALIVE_ENV,
    keepalive_interval,
)
from gpustack_tui.server.workers.sessions import MAX_BACKOFF, SessionManager, backoff_delay
from gpustack_tui.server.workers.transport import SshTransport
from tests.fixtures.sshd import SshdServer
from tests.fixtures.waiting import wait_until


def parent_pid(pid: int) -> int:
    """The parent of `pid`, from /proc (the sshd session process serving an agent)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """SIGSTOP a process for the block: its TCP connection stays up, but SSH goes silent."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(3)
    first = [backoff_delay(1, rng) for _ in range(200)]
    assert all(0.5 <= d <= 1.0 for d in first) and len(set(first)) > 100
    assert all(2.0 <= backoff_delay(3, rng) <= 4.0 for _ in range(50))
    late = [backoff_delay(50, rng) for _ in range(200)]
    assert all(MAX_BACKOFF / 2 <= d <= MAX_BACKOFF for d in late)


def test_keepalive_setting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(KEEPALIVE_ENV, "2.5")
    assert keepalive_interval() == 2.5
    for bad in ("soon", "0", "-3"):
        monkeypatch.setenv(KEEPALIVE_ENV, bad)
        assert keepalive_interval() == DEFAULT_INTERVAL
        assert f"ignoring {KEEPALIVE_ENV}={bad!r}" in caplog.text
    monkeypatch.delenv(KEEPALIVE_ENV)
    assert keepalive_interval() == DEFAULT_INTERVAL


def test_hello_reports_the_code_hash_and_pid(sshd_server: SshdServer, paths: Paths) -> None:
    connection, hello, _ = sshd_server.open_trusted(paths)
    with connection:
        transport = connection.transport
        assert isinstance(transport, SshTransport)
        assert hello["code_hash"] == transport.bundle_digest
        assert Path(f"/proc/{hello['pid']}").is_dir()


def test_a_modified_remote_copy_is_uploaded_again(sshd_server: SshdServer, paths: Paths) -> None:
    connection, _, _ = sshd_server.open_trusted(paths)
    connection.close()
    remote = Path(connection.transport.remote_dir)  # type: ignore[attr-defined]
    logs_py = remote / "agent" / "logs.py"
    original = logs_py.read_bytes()
    logs_py.write_bytes(original + b"\n# edited on the worker\n")
    stray = remote / "agent" / "stray.py"
    stray.write_text("print('not ours')\n")

    connection, hello, _ = sshd_server.open_trusted(paths)
    with connection:
        transport = connection.transport
        assert isinstance(transport, SshTransport)
        assert transport.uploaded and transport.remote_dir == str(remote)
        assert hello["code_hash"] == transport.bundle_digest
        assert connection.call("list") == {"instances": []}
    assert logs_py.read_bytes() == original
    assert not stray.exists()


def test_a_frozen_connection_is_found_by_keepalives(
    sshd_server: SshdServer, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEEPALIVE_ENV, "0.5")
    connection, hello, _ = sshd_server.open_trusted(paths)
    with connection, frozen(parent_pid(hello["pid"])):
        # TCP stays up: without keepalives wanting a reply this would go unnoticed for minutes.
        wait_until("the connection to be declared dead", lambda: not connection.alive, 10)
        with pytest.raises(AgentUnreachable, match=r"no answer to a keepalive within 0\.5 s"):
            connection.call("list")


def test_an_incompatible_agent_is_refused_with_a_clear_state_message(
    sshd_server: SshdServer, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        manager = SessionManager(Store(paths.database), paths)
        try:
            await manager.connect_new(
                sshd_server.destination,
                "w1",
                str(sshd_server.identity_file),
                sshd_server.host_key_fingerprint,
            )
            monkeypatch.setattr(connect, "PROTOCOL_VERSION", 2)  # as a newer server would be
            manager._lost("w1", "test: reconnect")
            manager._sessions["w1"].next_try = 0.0
            await manager.maintain()
            for _ in range(200):
                worker = manager.store.get_worker("w1")
                if "incompatible" in worker.state_message:
                    break
                await asyncio.sleep(0.05)
            assert worker.state is WorkerState.UNREACHABLE
            assert worker.state_message.startswith("incompatible agent on "), worker
            assert "it speaks protocol 1, this server speaks 2" in worker.state_message
            assert "reinstall" in worker.state_message
        finally:
            await manager.close()
            manager.store.close()

    asyncio.run(scenario())


def test_a_frozen_worker_holds_up_no_other(
    sshd_factory: Any, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions_module, "TIMEOUTS_BEFORE_RECONNECT", 100)
    good, stuck = sshd_factory(), sshd_factory()

    async def scenario() -> None:
        manager = SessionManager(Store(paths.database), paths)
        reconciler = Reconciler(manager.store, manager)
        try:
            for name, server in (("good", good), ("stuck", stuck)):
                await manager.connect_new(
                    server.destination,
                    name,
                    str(server.identity_file),
                    server.host_key_fingerprint,
                )
            hello = await manager.call("stuck", "hello")
            with frozen(parent_pid(hello["pid"])):
                started = time.monotonic()
                listed = await reconciler._list_workloads()
                elapsed = time.monotonic() - started
                assert listed == {"good": {}}
                # The stuck worker's list goes on in the background; a call to the good one
                # is answered meanwhile.
                assert await manager.call("good", "list", timeout=5) == {"instances": []}
                assert elapsed < LIST_WAIT + 3
                assert manager.store.get_worker("stuck").state is WorkerState.READY
        finally:
            await reconciler.aclose()
            await manager.close()
            manager.store.close()

    asyncio.run(scenario())
