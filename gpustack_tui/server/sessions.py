"""Live connections to the workers' agents, kept open and re-opened when they break.

One `AgentConnection` per worker. Connecting is slow (SSH, maybe an upload), so it runs in a
background task per worker with a growing back-off; calls on a worker that is not connected fail
at once with `WorkerUnreachable`, and the reconciler marks that worker's instances unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from gpustack_tui.config import Paths
from gpustack_tui.domain.worker import Gpu, Worker, WorkerState
from gpustack_tui.server.store import NotFound, Store
from gpustack_tui.server.workers.connect import open_worker
from gpustack_tui.server.workers.errors import WorkerError, WorkerUnreachable
from gpustack_tui.server.workers.rpc import AgentConnection

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


@dataclass
class _Session:
    connection: AgentConnection | None = None
    connecting: asyncio.Task | None = None
    failures: int = 0
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

    async def connect_new(
        self,
        destination: str,
        name: str | None,
        identity_file: str | None,
        accept_host_key: str | None,
    ) -> Worker:
        """Open a connection to a new worker and store it; raises WorkerError for the caller.

        Nothing is stored unless the agent answered: a refused host key or an unreachable host
        leaves the state as it was.
        """
        connection, hello, address = await asyncio.to_thread(
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
            transport="local" if destination == "local" else "ssh",
            address=address,
            identity_file=identity_file,
            state=WorkerState.READY,
            gpus=_gpus_from(inventory),
            cpu_count=int(inventory.get("cpu_count", 0)),
            memory_total=int(inventory.get("memory_total", 0)),
            agent_version=str(hello.get("agent_version", "")),
            last_seen=time.time(),
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
        """Call the agent of `worker`; a broken connection marks the worker unreachable."""
        connection = self.connection(worker)
        try:
            return await connection.acall(method, timeout=timeout, **params)
        except WorkerUnreachable as exc:
            self._lost(worker, str(exc))
            raise

    def forget(self, worker: str) -> None:
        """Close and drop the session of a removed worker."""
        session = self._sessions.pop(worker, None)
        if session is None:
            return
        if session.connecting is not None:
            session.connecting.cancel()
        if session.connection is not None:
            _close_soon(session.connection)

    async def maintain(self) -> None:
        """Start connecting to stored workers that have no live connection; refresh inventories."""
        now = time.monotonic()
        for worker in self.store.list_workers():
            session = self._sessions.setdefault(worker.name, _Session())
            if session.connection is not None and session.connection.alive:
                if time.time() - session.inventory_at >= self.inventory_interval:
                    session.inventory_at = time.time()
                    await self._refresh_inventory(worker.name)
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
            connection, hello, _address = await asyncio.to_thread(
                open_worker, worker.destination, self.paths, identity_file=worker.identity_file
            )
            inventory = await connection.acall("inventory")
        except WorkerError as exc:
            session.failures += 1
            session.last_error = exc.message
            session.next_try = time.monotonic() + min(MAX_BACKOFF, 2.0**session.failures)
            self.store.set_worker_status(worker.name, WorkerState.UNREACHABLE, exc.message)
            log.warning("worker %s: %s", worker.name, exc.message)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the reconnect loop
            log.exception("worker %s: unexpected error while connecting", worker.name)
            session.failures += 1
            session.last_error = f"unexpected error: {exc}"
            session.next_try = time.monotonic() + min(MAX_BACKOFF, 2.0**session.failures)
            return
        finally:
            session.connecting = None
        if self._sessions.get(worker.name) is not session:
            _close_soon(connection)  # removed while we were connecting
            return
        session.connection = connection
        session.failures = 0
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

    async def _refresh_inventory(self, worker: str) -> None:
        try:
            inventory = await self.call(worker, "inventory", timeout=15.0)
        except WorkerError as exc:
            log.warning("worker %s: inventory failed: %s", worker, exc.message)
            return
        self.store.set_worker_status(
            worker,
            WorkerState.READY,
            gpus=_gpus_from(inventory),
            memory_total=int(inventory.get("memory_total", 0)),
        )

    def _lost(self, worker: str, reason: str) -> None:
        session = self._sessions.get(worker)
        if session is None:
            return
        if session.connection is not None:
            _close_soon(session.connection)
            session.connection = None
        session.last_error = reason
        session.next_try = time.monotonic() + 1.0
        with contextlib.suppress(NotFound):
            self.store.set_worker_status(worker, WorkerState.UNREACHABLE, reason)

    async def close(self) -> None:
        """Close every connection (the workloads keep running on the workers)."""
        await asyncio.gather(
            *(asyncio.to_thread(self.forget, name) for name in list(self._sessions))
        )


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
    host = destination.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.split(":", 1)[0]
