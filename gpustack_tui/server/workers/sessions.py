"""Live connections to the workers' agents, kept open and re-opened when they break.

One `AgentConnection` per worker: one SSH connection and one agent, over which every call to
that worker is multiplexed (answers matched by id). Connecting is slow (SSH, maybe an upload),
so it runs per worker in a thread of its own pool, retried with a capped, jittered back-off;
calls on a worker that is not connected fail at once with `WorkerUnreachable`, and the
reconciler marks that worker's instances unreachable. Nothing here waits on one worker while
serving another: inventories refresh in background tasks, and every call has a timeout.

A dead connection is noticed when its stream ends (the agent or sshd died), when SSH keepalives
go unanswered (workers/keepalive.py), or after `TIMEOUTS_BEFORE_RECONNECT` calls in a row timed
out (a hung agent). A single slow call (the agent answers in order, and a `stop` may take its
grace period) does not drop the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from gpustack_tui.config import Paths
from gpustack_tui.domain.worker import Gpu, Worker, WorkerState
from gpustack_tui.server.state.store import NotFound, Store
from gpustack_tui.server.workers.connect import open_worker
from gpustack_tui.server.workers.destination import is_local
from gpustack_tui.server.workers.errors import WorkerError, WorkerUnreachable
from gpustack_tui.server.workers.rpc import AgentConnection

log = logging.getLogger(__name__)

FIRST_RETRY = 1.0
MAX_BACKOFF = 60.0
CONNECT_THREADS = 64  # connects block a thread each (SSH handshake, upload): many at once
TIMEOUTS_BEFORE_RECONNECT = 3


def backoff_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after `failures` failed tries in a row: doubling from 1 s, capped at
    60 s, and jittered (half to all of it) so workers lost together do not retry in lockstep."""
    base = min(MAX_BACKOFF, FIRST_RETRY * 2.0 ** max(0, failures - 1))
    return base * (rng or random).uniform(0.5, 1.0)


@dataclass
class _Session:
    connection: AgentConnection | None = None
    connecting: asyncio.Task | None = None
    inventory_task: asyncio.Task | None = None
    failures: int = 0
    timeouts: int = 0  # calls in a row that timed out on a live connection
    next_try: float = 0.0
    inventory_at: float = 0.0
    last_error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _gpus_from(inventory: dict) -> list[Gpu]:
    return [Gpu.model_validate(g) for g in inventory.get("gpus", [])]


class SessionManager:
    """Keeps one agent connection per stored worker."""

    def __init__(self, store: Store, paths: Paths, inventory_interval: float = 5.0):
        self.store = store
        self.paths = paths
        self.inventory_interval = inventory_interval
        self._sessions: dict[str, _Session] = {}
        self._executor = ThreadPoolExecutor(CONNECT_THREADS, thread_name_prefix="worker-connect")

    async def connect_new(
        self,
        destination: str,
        name: str | None,
        identity_file: str | None,
        accept_host_key: str | None,
        image_mirrors: dict[str, str] | None = None,
    ) -> Worker:
        """Open a connection to a new worker and store it (with its own `image_mirrors`);
        raises WorkerError for the caller.

        Nothing is stored unless the agent answered: a refused host key or an unreachable host
        leaves the state as it was.
        """
        connection, hello, address = await self._in_thread(
            open_worker,
            destination,
            self.paths,
            identity_file=identity_file,
            accept_fingerprint=accept_host_key,
        )
        try:
            inventory = await connection.acall("inventory")
        except WorkerError:
            _close_soon(connection)
            raise
        worker = Worker(
            name=name or default_worker_name(destination),
            destination=destination,
            transport="local" if is_local(destination) else "ssh",
            address=address,
            identity_file=identity_file,
            state=WorkerState.READY,
            gpus=_gpus_from(inventory),
            cpu_count=int(inventory.get("cpu_count", 0)),
            memory_total=int(inventory.get("memory_total", 0)),
            agent_version=str(hello.get("agent_version", "")),
            last_seen=time.time(),
            image_mirrors=image_mirrors or {},
        )
        try:
            self.store.add_worker(worker)
        except Exception:
            _close_soon(connection)
            raise
        self._sessions[worker.name] = _Session(connection=connection, inventory_at=time.time())
        return worker

    def connection(self, worker: str) -> AgentConnection:
        """The live connection to `worker`; WorkerUnreachable if there is none right now."""
        session = self._sessions.get(worker)
        if session is None or session.connection is None or not session.connection.alive:
            reason = session.last_error if session else "not connected yet"
            raise WorkerUnreachable(f"worker {worker} is not connected: {reason}")
        return session.connection

    async def call(self, worker: str, method: str, timeout: float = 30.0, **params: Any) -> Any:
        """Call the agent of `worker`; a broken connection marks the worker unreachable, and so
        do `TIMEOUTS_BEFORE_RECONNECT` timeouts in a row (one alone only fails this call)."""
        connection = self.connection(worker)
        try:
            result = await connection.acall(method, timeout=timeout, **params)
        except WorkerUnreachable as exc:
            session = self._sessions.get(worker)
            if not connection.alive:
                self._lost(worker, str(exc), connection)
            elif session is not None and session.connection is connection:
                session.timeouts += 1
                if session.timeouts >= TIMEOUTS_BEFORE_RECONNECT:
                    self._lost(worker, f"the agent stopped answering: {exc.message}", connection)
            raise
        session = self._sessions.get(worker)
        if session is not None and session.connection is connection:
            session.timeouts = 0
        return result

    def forget(self, worker: str) -> None:
        """Close and drop the session of a removed worker."""
        session = self._sessions.pop(worker, None)
        if session is None:
            return
        for task in (session.connecting, session.inventory_task):
            if task is not None:
                task.cancel()
        if session.connection is not None:
            _close_soon(session.connection)

    async def maintain(self) -> None:
        """Start connecting to stored workers that have no live connection; refresh inventories.
        Returns at once: connects and refreshes run in the background."""
        now = time.monotonic()
        for worker in self.store.list_workers():
            session = self._sessions.setdefault(worker.name, _Session())
            if session.connection is not None and session.connection.alive:
                due = time.time() - session.inventory_at >= self.inventory_interval
                if due and session.inventory_task is None:
                    session.inventory_at = time.time()
                    session.inventory_task = asyncio.create_task(
                        self._refresh_inventory(worker.name, session)
                    )
                continue
            if session.connection is not None:
                self._lost(worker.name, "the agent's connection closed")
            if session.connecting is None and now >= session.next_try:
                session.connecting = asyncio.create_task(self._connect(worker))
        stored = {w.name for w in self.store.list_workers()}
        for name in list(self._sessions):
            if name not in stored:
                self.forget(name)

    async def _connect(self, worker: Worker) -> None:
        session = self._sessions[worker.name]
        try:
            connection, hello, _address = await self._in_thread(
                open_worker, worker.destination, self.paths, identity_file=worker.identity_file
            )
            try:
                inventory = await connection.acall("inventory")
            except BaseException:
                _close_soon(connection)
                raise
        except WorkerError as exc:
            session.failures += 1
            session.last_error = exc.message
            session.next_try = time.monotonic() + backoff_delay(session.failures)
            self.store.set_worker_status(worker.name, WorkerState.UNREACHABLE, exc.message)
            log.warning("worker %s: %s", worker.name, exc.message)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the reconnect loop
            log.exception("worker %s: unexpected error while connecting", worker.name)
            session.failures += 1
            session.last_error = f"unexpected error: {exc}"
            session.next_try = time.monotonic() + backoff_delay(session.failures)
            return
        finally:
            session.connecting = None
        if self._sessions.get(worker.name) is not session:
            _close_soon(connection)  # removed while we were connecting
            return
        session.connection = connection
        session.failures = 0
        session.timeouts = 0
        session.last_error = ""
        session.inventory_at = time.time()
        self.store.set_worker_status(
            worker.name,
            WorkerState.READY,
            gpus=_gpus_from(inventory),
            cpu_count=int(inventory.get("cpu_count", 0)),
            memory_total=int(inventory.get("memory_total", 0)),
            agent_version=str(hello.get("agent_version", "")),
        )
        log.info("worker %s: connected", worker.name)

    async def _refresh_inventory(self, worker: str, session: _Session) -> None:
        connection = session.connection
        try:
            inventory = await self.call(worker, "inventory", timeout=15.0)
            if session.connection is not connection or connection is None:
                return  # lost meanwhile: do not mark it ready again
            if not connection.alive:
                return
            self.store.set_worker_status(
                worker,
                WorkerState.READY,
                gpus=_gpus_from(inventory),
                memory_total=int(inventory.get("memory_total", 0)),
            )
        except WorkerError as exc:
            log.warning("worker %s: inventory failed: %s", worker, exc.message)
        except asyncio.CancelledError:
            raise
        except Exception:  # a malformed answer must not end the refreshes
            log.exception("worker %s: unexpected error while refreshing the inventory", worker)
        finally:
            session.inventory_task = None

    def _lost(self, worker: str, reason: str, connection: AgentConnection | None = None) -> None:
        """Drop the worker's connection (only `connection`, when given: a late failure of an
        old connection must not drop its successor) and mark the worker unreachable."""
        session = self._sessions.get(worker)
        if session is None:
            return
        if connection is not None and session.connection is not connection:
            return
        if session.connection is not None:
            _close_soon(session.connection)
            session.connection = None
        session.last_error = reason
        session.timeouts = 0
        session.next_try = time.monotonic() + backoff_delay(1)
        log.warning("worker %s: unreachable: %s", worker, reason)
        with contextlib.suppress(NotFound):
            self.store.set_worker_status(worker, WorkerState.UNREACHABLE, reason)

    async def _in_thread(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run blocking `function` in the connect pool (not the loop's small default pool)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(function, *args, **kwargs)
        )

    async def close(self) -> None:
        """Close every connection (the workloads keep running on the workers)."""
        sessions, self._sessions = list(self._sessions.values()), {}
        connections = []
        for session in sessions:
            for task in (session.connecting, session.inventory_task):
                if task is not None:
                    task.cancel()
            if session.connection is not None:
                connections.append(session.connection)
        await asyncio.gather(*(self._in_thread(c.close) for c in connections))
        self._executor.shutdown(wait=False, cancel_futures=True)


def _close_soon(connection: AgentConnection) -> None:
    """Close without blocking the event loop (closing waits for the agent's threads)."""
    try:
        asyncio.get_running_loop().run_in_executor(None, connection.close)
    except RuntimeError:
        connection.close()


def default_worker_name(destination: str) -> str:
    """`local` for the head node; otherwise the host part of `user@host:port`."""
    if destination == "local":
        return "local"
    if is_local(destination):
        return destination.strip().partition(":")[2]  # local:NAME
    host = destination.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.split(":", 1)[0]
