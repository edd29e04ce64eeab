"""`/api/v1/worker-stats`: live GPU, RAM and load figures of every worker, for the Workers view.

The stored inventory is refreshed every few seconds by the sessions; a view that redraws every
second wants fresher figures. Each call here asks the ready workers' agents for `inventory`, but
at most once per `MIN_INTERVAL` per worker (callers in between share the last answer) and waits
at most `WAIT` seconds: a slow worker keeps its previous figures and never holds up the answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from gpustack_tui.domain.worker import Gpu, GpuHolder, Worker, WorkerState, WorkerStats
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.workers.errors import WorkerError
from gpustack_tui.server.workers.sessions import SessionManager

router = APIRouter(prefix="/worker-stats", tags=["workers"])
Context = Annotated[ServerContext, Depends(get_context)]
log = logging.getLogger(__name__)

MIN_INTERVAL = 1.0
"""Seconds between two `inventory` calls to one worker, however many views ask."""
WAIT = 1.5
"""Seconds a request waits for fresh answers before it returns what it has."""
CALL_TIMEOUT = 10.0


class StatsSampler:
    """The latest `inventory` answer per worker, asked for at a bounded rate."""

    def __init__(self, sessions: SessionManager, min_interval: float = MIN_INTERVAL) -> None:
        self.sessions = sessions
        self.min_interval = min_interval
        self._latest: dict[str, tuple[float, dict[str, Any]]] = {}
        self._asked: dict[str, float] = {}
        self._errors: dict[str, str] = {}
        self._tasks: dict[str, asyncio.Task] = {}

    async def refresh(self, workers: list[Worker], wait: float = WAIT) -> None:
        """Ask the ready workers that are due; wait up to `wait` s for the answers."""
        now = time.monotonic()
        pending = []
        for worker in workers:
            if worker.state is not WorkerState.READY:
                continue
            task = self._tasks.get(worker.name)
            if task is None and now - self._asked.get(worker.name, -1e9) >= self.min_interval:
                self._asked[worker.name] = now
                task = asyncio.create_task(self._ask(worker.name))
                self._tasks[worker.name] = task
            if task is not None:
                pending.append(task)
        if pending:
            await asyncio.wait(pending, timeout=wait)  # not cancelled: answers land later

    async def _ask(self, name: str) -> None:
        try:
            answer = await self.sessions.call(name, "inventory", timeout=CALL_TIMEOUT)
            if isinstance(answer, dict):
                self._latest[name] = (time.time(), answer)
                self._errors.pop(name, None)
        except WorkerError as exc:
            self._errors[name] = exc.message
        except Exception as exc:  # a malformed answer must not stop later refreshes
            log.exception("worker %s: unexpected error while sampling", name)
            self._errors[name] = f"unexpected error: {exc}"
        finally:
            self._tasks.pop(name, None)

    def stats(self, worker: Worker, holders: list[GpuHolder]) -> WorkerStats:
        """The worker's figures: the latest answer, else its stored inventory."""
        at, answer = self._latest.get(worker.name, (0.0, {}))
        stats = WorkerStats(
            name=worker.name,
            state=worker.state,
            gpus=worker.gpus,
            cpu_count=worker.cpu_count,
            memory_total=worker.memory_total,
            holders=holders,
            error=self._errors.get(worker.name, ""),
        )
        if answer:
            try:
                stats.gpus = [Gpu.model_validate(g) for g in answer.get("gpus", [])]
                stats.cpu_count = int(answer.get("cpu_count", worker.cpu_count))
                stats.memory_total = int(answer.get("memory_total", worker.memory_total))
                available = answer.get("memory_available")
                stats.memory_available = int(available) if available is not None else None
                load = answer.get("load_average")
                stats.load_average = float(load) if load is not None else None
                stats.at = at
            except (ValueError, TypeError) as exc:
                stats.error = f"the agent's inventory could not be read: {exc}"
        return stats

    def forget_missing(self, names: set[str]) -> None:
        """Drop what is kept for removed workers."""
        for table in (self._latest, self._asked, self._errors):
            for name in [n for n in table if n not in names]:
                del table[name]


def get_sampler(request: Request, ctx: Context) -> StatsSampler:
    """The app's one sampler, made on first use."""
    sampler = getattr(request.app.state, "worker_stats", None)
    if sampler is None:
        sampler = StatsSampler(ctx.sessions)
        request.app.state.worker_stats = sampler
    return sampler


@router.get("")
async def worker_stats(
    ctx: Context, sampler: Annotated[StatsSampler, Depends(get_sampler)]
) -> list[WorkerStats]:
    """Every worker's live figures, by name (fresh within about a second where it answers)."""
    workers = ctx.store.list_workers()
    sampler.forget_missing({w.name for w in workers})
    await sampler.refresh(workers)
    holders: dict[str, list[GpuHolder]] = {}
    for instance in ctx.store.list_instances():
        if instance.worker is None:
            continue
        for index in instance.gpu_indexes:
            holders.setdefault(instance.worker, []).append(
                GpuHolder(
                    gpu_index=index,
                    instance=instance.name,
                    deployment=instance.deployment,
                    claim=instance.vram_claim,
                )
            )
    return [sampler.stats(w, holders.get(w.name, [])) for w in workers]
