"""The reconciler: makes the workers run what the stored deployments ask for.

Each pass (every second, or at once when woken by the API):
1. keep a connection to every worker;
2. learn what runs on each ready worker (`list`) and bring instance states in line with it;
3. create or remove instances to match replicas;
4. place pending instances, start placed ones;
5. stop workloads that no instance owns any more (deletes, scale-down) - the reap.

Workers are asked concurrently, and a pass waits at most `LIST_WAIT` seconds for their answers:
a slow worker's `list` goes on in the background (its answer serves a later pass), so one slow
or dead worker never holds up the others. Its instances are left as they are meanwhile.

When a worker's connection is lost, its instances become `unreachable`: they most likely still
run (they outlive the agent and the SSH connection) and are re-adopted by name when the worker
is back - the same process, never a duplicate. A worker away for longer than the grace period
(`LifecyclePolicy.reschedule_after`, 5 minutes) while another worker is ready has its instance
rows removed: replacements are created and placed elsewhere, and the old workloads are stopped
by the reap when the worker returns (no row owns them any more).

An instance in `error` (its process exited, or the agent could not start it) is restarted on the
same worker, under the same workload name, with the backoff of `lifecycle.py`, unless its
deployment turned `restart_on_error` off. Its state message says why it failed and shows the
last lines of its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import string
import time
from collections.abc import Callable
from typing import Any

from gpustack_tui.backends.for_spec import DEFAULT_HEALTH_PATH, health_path_of
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import WORKLOAD_PREFIX, Failure, Instance, InstanceState
from gpustack_tui.domain.phases import LOADING, phase_of
from gpustack_tui.domain.worker import WorkerState
from gpustack_tui.scheduler.scale_down import removal_order
from gpustack_tui.server.control.health import HealthChecker
from gpustack_tui.server.control.lifecycle import (
    LOG_TAIL_LINES,
    LifecyclePolicy,
    error_message,
    log_lines,
    restart_fields,
    restart_wait,
    workers_to_evacuate,
)
from gpustack_tui.server.control.node_start import user_backend_of
from gpustack_tui.server.control.placement import place_instance
from gpustack_tui.server.control.starter import continue_download, start_instance
from gpustack_tui.server.state.store import NotFound, Store
from gpustack_tui.server.workers.errors import WorkerError
from gpustack_tui.server.workers.sessions import SessionManager

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
LIST_TIMEOUT = 30.0  # a `list` may queue behind a `stop` on the agent, which answers in order
LIST_WAIT = 2.0  # how long one pass waits for the workers' `list` answers
# A running instance is probed this often; a starting one on every pass.
RUNNING_CHECK_SECONDS = 5.0
_ACTIVE = (InstanceState.STARTING, InstanceState.RUNNING, InstanceState.UNREACHABLE)
LOG_READ_TIMEOUT = 10.0


def new_instance_name(deployment: str) -> str:
    """`<deployment>-<5 random [a-z0-9]>`."""
    alphabet = string.ascii_lowercase + string.digits
    return f"{deployment}-{''.join(secrets.choice(alphabet) for _ in range(5))}"


class Reconciler:
    """Runs passes in the background; `wake()` asks for the next one now."""

    def __init__(
        self,
        store: Store,
        sessions: SessionManager,
        interval: float = 1.0,
        policy: LifecyclePolicy | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.sessions = sessions
        self.interval = interval
        self.policy = policy or LifecyclePolicy.from_env()
        self.clock = clock
        # A worker is given the whole grace period after this server starts before its
        # instances are moved: it may have been away only while the server was down.
        self._began = clock()
        # When the `list` answer used this pass was asked for, and when each instance was last
        # started (monotonic): an answer asked for before a start knows nothing of that run.
        self._list_asked: dict[str, float] = {}
        self._answer_asked: dict[str, float] = {}
        self._started: dict[str, float] = {}
        self.health = HealthChecker()
        self._wake = asyncio.Event()
        self._stopping: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._checked: dict[str, float] = {}
        self._listing: dict[str, asyncio.Task] = {}

    def wake(self) -> None:
        """Run the next pass without waiting for the interval."""
        self._wake.set()

    async def run(self) -> None:
        """Pass after pass until cancelled; a failing pass is logged and the loop goes on."""
        try:
            while True:
                try:
                    await self.reconcile_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("reconcile pass failed")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()
        finally:
            await self.health.aclose()

    async def reconcile_once(self) -> None:
        """One pass over workers, instances and deployments."""
        await self.sessions.maintain()
        workloads = await self._list_workloads()
        await self._sync_instances(workloads)
        self._evacuate_lost_workers()
        self._match_replicas()
        await self._place_pending()
        self._reap(workloads)

    # -- 2: what runs where -----------------------------------------------------------------

    async def _list_one(self, worker: str) -> dict[str, dict[str, Any]] | None:
        try:
            result = await self.sessions.call(worker, "list", timeout=LIST_TIMEOUT)
        except WorkerError as exc:
            log.warning("worker %s: list failed: %s", worker, exc.message)
            return None
        return {w["name"]: w for w in result.get("instances", [])}

    async def _list_workloads(self) -> dict[str, dict[str, dict[str, Any]]]:
        """What runs on each ready worker that answered within `LIST_WAIT` (or since the last
        pass); a worker still answering is left out of this pass."""
        ready = {w.name for w in self.store.list_workers() if w.state is WorkerState.READY}
        for worker in ready:
            if worker not in self._listing:
                self._list_asked[worker] = time.monotonic()
                self._listing[worker] = asyncio.create_task(self._list_one(worker))
        waiting = [task for worker, task in self._listing.items() if worker in ready]
        if waiting:
            await asyncio.wait(waiting, timeout=LIST_WAIT)
        answers: dict[str, dict[str, dict[str, Any]]] = {}
        for worker, task in list(self._listing.items()):
            if not task.done():
                continue
            del self._listing[worker]
            if task.cancelled() or task.exception() is not None:
                if not task.cancelled():
                    log.error("worker %s: list failed", worker, exc_info=task.exception())
                continue
            found = task.result()
            if found is not None and worker in ready:
                answers[worker] = found
                self._answer_asked[worker] = self._list_asked.get(worker, 0.0)
        return answers

    async def _sync_instances(self, workloads: dict[str, dict[str, dict[str, Any]]]) -> None:
        ready = {w.name for w in self.store.list_workers() if w.state is WorkerState.READY}
        specs = self.store.list_specs()
        restart_on = {s.name: s.advanced.restart_on_error for s in specs}
        health_paths = {s.name: self._health_path(s) for s in specs}
        health: list[Any] = []
        for instance in self.store.list_instances():
            if instance.worker is None:
                continue
            on_worker = workloads.get(instance.worker)
            if on_worker is None:
                if instance.worker in ready:
                    continue  # connected, but its answer is late: nothing learned this pass
                if instance.state in (*_ACTIVE, InstanceState.SCHEDULED):
                    self._set(
                        instance,
                        InstanceState.UNREACHABLE,
                        f"worker {instance.worker} is unreachable; the instance may still run",
                    )
                continue
            if instance.state is InstanceState.SCHEDULED:
                self._started[instance.name] = time.monotonic()
                await self._start(instance)
                continue
            if instance.state is InstanceState.DOWNLOADING:  # starts it once the model is there
                self._started[instance.name] = time.monotonic()
                await continue_download(self.store, self.sessions, instance)
                continue
            enabled = restart_on.get(instance.deployment, False)
            if instance.state is InstanceState.ERROR:
                if restart_wait(instance, enabled, self.clock(), self.policy) == 0:
                    await self._restart(instance)
                continue
            if instance.state not in _ACTIVE:
                continue
            if self._started.get(instance.name, 0.0) > self._answer_asked.get(instance.worker, 0):
                continue  # this answer was asked for before the instance's last start
            workload = on_worker.get(instance.workload_name)
            if workload is None:
                await self._fail(instance, "its process is gone from the worker", enabled)
            elif workload.get("state") != "running":
                code = workload.get("exit_code")
                await self._fail(instance, f"the process exited with code {code}", enabled, code)
            elif instance.followers and not await self._followers_run(
                instance, workloads, ready, enabled
            ):
                continue
            else:
                pid = workload.get("pid")
                new_pid = isinstance(pid, int) and pid != instance.pid
                # The agent runs it: a starting instance now loads until its health passes.
                loading = instance.state is InstanceState.STARTING and (
                    phase_of(instance) != LOADING
                )
                if new_pid or loading:
                    instance = (
                        self.store.set_instance_state(
                            instance.name,
                            instance.state,
                            instance.state_message,
                            phase=LOADING if loading else None,
                            pid=pid if new_pid else instance.pid,
                        )
                        or instance
                    )
                path = health_paths.get(instance.deployment, DEFAULT_HEALTH_PATH)
                health.append(self._check_health(instance, path))
        await asyncio.gather(*health)

    def _health_path(self, spec: DeploymentSpec) -> str | None:
        try:
            return health_path_of(spec, user_backend_of(self.store, spec))
        except NotFound:
            return DEFAULT_HEALTH_PATH

    async def _followers_run(
        self,
        instance: Instance,
        workloads: dict[str, dict[str, dict[str, Any]]],
        ready: set[str],
        enabled: bool,
    ) -> bool:
        """Whether every follower of a distributed instance runs; otherwise the instance is
        unreachable (a follower's worker is away) or fails (a follower is gone or exited)."""
        for follower in instance.followers:
            found = workloads.get(follower.worker)
            if found is None:
                if follower.worker not in ready:
                    self._set(
                        instance,
                        InstanceState.UNREACHABLE,
                        f"worker {follower.worker} (rank {follower.rank}) is unreachable",
                    )
                return False
            workload = found.get(instance.follower_name(follower.rank))
            where = f"its rank {follower.rank} on {follower.worker}"
            if workload is None:
                await self._fail(instance, f"{where} is gone", enabled)
                return False
            if workload.get("state") != "running":
                code = workload.get("exit_code")
                await self._fail(instance, f"{where} exited with code {code}", enabled, code)
                return False
        return True

    async def _check_health(self, instance: Instance, path: str | None) -> None:
        if instance.port is None:
            return
        if path is None:  # a user backend without a health path serves once it runs
            if instance.state is not InstanceState.RUNNING:
                self._set(instance, InstanceState.RUNNING, "", restart_backoff=0)
            return
        now = time.monotonic()
        if (
            instance.state is InstanceState.RUNNING
            and now - self._checked.get(instance.name, 0.0) < RUNNING_CHECK_SECONDS
        ):
            return
        self._checked[instance.name] = now
        worker = self.store.get_worker(instance.worker or "")
        healthy = await self.health.ready(worker.address, instance.port, path)
        if healthy and instance.state is not InstanceState.RUNNING:
            self._set(instance, InstanceState.RUNNING, "", restart_backoff=0)
        elif not healthy and instance.state is InstanceState.RUNNING:
            message = f"health check failing: GET {path}"
            self._set(instance, InstanceState.STARTING, message, phase=LOADING)
        elif not healthy and instance.state is InstanceState.UNREACHABLE:
            message = f"waiting for GET {path} to answer"
            self._set(instance, InstanceState.STARTING, message, phase=LOADING)

    async def _start(self, instance: Instance) -> None:
        try:
            spec = self.store.get_spec(instance.deployment)
            worker = self.store.get_worker(instance.worker or "")
        except KeyError:
            return
        await start_instance(self.store, self.sessions, spec, worker, instance)

    # -- errors and restarts ----------------------------------------------------------------

    async def _fail(
        self, instance: Instance, reason: str, restart_on_error: bool, exit_code: object = None
    ) -> None:
        """Put the instance in error with `reason`, the last lines of its log, and when the
        next restart comes; the failure (reason, exit code, log lines) joins its history."""
        tail = await self._log_tail(instance)
        failed = instance.model_copy(update={"state": InstanceState.ERROR})
        wait = restart_wait(failed, restart_on_error, self.clock(), self.policy)
        message = error_message(reason, tail, wait)
        if not tail:
            message += f"; see `gpustack-tui logs {instance.name}`"
        if not restart_on_error:
            message += f"; auto-restart is off: `gpustack-tui instances rm {instance.name}`"
            message += " replaces it"
        failure = Failure(
            reason=reason,
            exit_code=exit_code if isinstance(exit_code, int) else None,
            log_lines=log_lines(tail),
        )
        self._set(instance, InstanceState.ERROR, message, failure=failure)

    async def _log_tail(self, instance: Instance) -> str:
        try:
            result = await self.sessions.call(
                instance.worker or "",
                "read_log",
                timeout=LOG_READ_TIMEOUT,
                name=instance.workload_name,
                tail_lines=LOG_TAIL_LINES,
            )
        except WorkerError as exc:
            log.info("instance %s: no log to quote: %s", instance.name, exc.message)
            return ""
        data = result.get("data") if isinstance(result, dict) else None
        return data if isinstance(data, str) else ""

    async def _restart(self, instance: Instance) -> None:
        """Start the instance again on its worker, under the same workload name (the agent
        runs an exited workload anew and keeps the previous run's log)."""
        fields: dict[str, Any] = restart_fields(instance, self.clock())
        log.info(
            "instance %s: restart %s after: %s",
            instance.name,
            fields["restart_count"],
            instance.state_message,
        )
        restarted = self.store.set_instance_state(
            instance.name,
            InstanceState.SCHEDULED,
            f"restarting after an error (restart {fields['restart_count']})",
            **fields,
        )
        if restarted is None:
            return  # deleted meanwhile
        self._started[instance.name] = time.monotonic()
        await self._start(restarted)

    # -- lost workers -----------------------------------------------------------------------

    def _evacuate_lost_workers(self) -> None:
        """Remove the instance rows of workers away longer than the grace period; replicas
        then brings replacements, placed on the workers that are ready."""
        now = self.clock()
        workers = [
            w.model_copy(update={"last_seen": max(w.last_seen, self._began)})
            for w in self.store.list_workers()
        ]
        lost = workers_to_evacuate(workers, now, self.policy)
        for instance in self.store.list_instances():
            away = [w for w in instance.all_workers if w in lost]
            if away:
                log.warning(
                    "instance %s: worker %s away for more than %g s; placing a replacement",
                    instance.name,
                    ", ".join(away),
                    self.policy.reschedule_after,
                )
                with contextlib.suppress(KeyError):
                    self.store.delete_instance(instance.name)

    # -- 3: replicas ------------------------------------------------------------------------

    def _match_replicas(self) -> None:
        for spec in self.store.list_specs():
            instances = self.store.list_instances(deployment=spec.name)
            for _ in range(spec.replicas - len(instances)):
                self.store.add_instance(
                    Instance(name=new_instance_name(spec.name), deployment=spec.name)
                )
            extra = len(instances) - spec.replicas
            if extra > 0:
                workers = {w.name: w for w in self.store.list_workers()}
                for instance in removal_order(instances, workers)[:extra]:
                    self.store.delete_instance(instance.name)

    # -- 4: placement -----------------------------------------------------------------------

    async def _place_pending(self) -> None:
        for instance in self.store.list_instances():
            if instance.state in (InstanceState.PENDING, InstanceState.ANALYZING):
                await place_instance(self.store, self.sessions, instance)

    # -- 5: reap ----------------------------------------------------------------------------

    def _reap(self, workloads: dict[str, dict[str, dict[str, Any]]]) -> None:
        instances = self.store.list_instances()
        owned: dict[str, set[str]] = {}
        for instance in instances:
            for worker, names in instance.workloads().items():
                owned.setdefault(worker, set()).update(names)
        alive = {i.name for i in instances}
        self._checked = {k: v for k, v in self._checked.items() if k in alive}
        self._started = {k: v for k, v in self._started.items() if k in alive}
        for worker, found in workloads.items():
            for name in found:
                if name.startswith(WORKLOAD_PREFIX) and name not in owned.get(worker, ()):
                    self._spawn(self._remove_workload(worker, name))

    async def _remove_workload(self, worker: str, name: str) -> None:
        key = f"{worker}/{name}"
        if key in self._stopping:
            return
        self._stopping.add(key)
        try:
            await self.sessions.call(
                worker,
                "stop",
                timeout=STOP_GRACE_SECONDS + 20,
                name=name,
                grace_seconds=STOP_GRACE_SECONDS,
            )
            await self.sessions.call(worker, "remove", name=name)
            log.info("worker %s: stopped and removed %s", worker, name)
        except WorkerError as exc:
            log.warning("worker %s: could not remove %s: %s", worker, name, exc.message)
        finally:
            self._stopping.discard(key)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _set(
        self,
        instance: Instance,
        state: InstanceState,
        message: str,
        phase: str | None = None,
        failure: Failure | None = None,
        **fields: Any,
    ) -> None:
        same_phase = phase is None or phase == phase_of(instance)
        if instance.state is state and instance.state_message == message and same_phase:
            return
        log.info(
            "instance %s: %s -> %s %s", instance.name, instance.state.value, state.value, message
        )
        self.store.set_instance_state(
            instance.name, state, message, phase=phase, failure=failure, **fields
        )

    async def aclose(self) -> None:
        """Wait briefly for stops in flight; stop waiting for lists."""
        for task in self._listing.values():
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
