"""Starting a placed instance: the model first (downloaded on every worker the instance spans
when it comes from a hub), then its workloads (`node_start.launch`)."""

from __future__ import annotations

import logging
from typing import Any

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.control import downloads
from gpustack_tui.server.control.node_start import launch
from gpustack_tui.server.state.store import NotFound, Store
from gpustack_tui.server.workers.errors import AgentError, WorkerUnreachable
from gpustack_tui.server.workers.sessions import SessionManager

log = logging.getLogger(__name__)


async def start_instance(
    store: Store, sessions: SessionManager, spec: DeploymentSpec, worker: Worker, instance: Instance
) -> None:
    """Start `instance` (its leader on `worker`): a hub model is downloaded first (the instance
    is then `downloading`, and `continue_download` carries on). An unreachable worker leaves it
    as it is for the next pass; anything the agent refuses puts it in error with its words."""
    if not downloads.is_hub(spec):
        local = dict.fromkeys(instance.all_workers, spec.source.value)
        await launch(store, sessions, spec, worker, instance, local)
        return
    paths = await _model_paths(store, sessions, spec, instance, ask=True)
    if paths is not None:
        await launch(store, sessions, spec, worker, instance, paths)


async def continue_download(store: Store, sessions: SessionManager, instance: Instance) -> None:
    """One pass for a `downloading` instance: show the progress; start it once the model is
    on its workers; put it in error when a download failed."""
    try:
        spec = store.get_spec(instance.deployment)
        worker = store.get_worker(instance.worker or "")
    except NotFound:
        return
    paths = await _model_paths(store, sessions, spec, instance, ask=False)
    if paths is not None:
        await launch(store, sessions, spec, worker, instance, paths)


async def _status(
    sessions: SessionManager, spec: DeploymentSpec, worker: Worker, ask: bool
) -> dict[str, Any]:
    """The download's status on `worker`: asked for (or joined) when `ask`, else looked up;
    a download the worker does not know (a wiped agent home) is asked for anew."""
    if ask:
        return await downloads.request_download(sessions, spec, worker)
    try:
        return await downloads.download_status(sessions, spec, worker)
    except AgentError as exc:
        if exc.agent_code != "not_found":
            raise
        return await downloads.request_download(sessions, spec, worker)


async def _model_paths(
    store: Store, sessions: SessionManager, spec: DeploymentSpec, instance: Instance, ask: bool
) -> dict[str, str] | None:
    """The model folder on every worker of the instance once each has it; None meanwhile
    (the instance then shows the least advanced download, or the error of a failed one)."""
    statuses: dict[str, dict[str, Any]] = {}
    for name in instance.all_workers:
        try:
            worker = store.get_worker(name)
            statuses[name] = await _status(sessions, spec, worker, ask)
        except NotFound:
            message = f"worker {name} is no longer known: delete the instance to place it anew"
            store.set_instance_state(instance.name, InstanceState.ERROR, message)
            return None
        except WorkerUnreachable as exc:
            log.warning("instance %s: %s unreachable at download: %s", instance.name, name, exc)
            return None
        except AgentError as exc:
            store.set_instance_state(
                instance.name, InstanceState.ERROR, f"could not download on {name}: {exc.message}"
            )
            return None
    unfinished = [s for s in statuses.values() if s.get("state") != "done"]
    if unfinished:
        downloads.follow(store, instance, min(unfinished, key=_done_share))
        return None
    return {name: str(status["path"]) for name, status in statuses.items()}


def _done_share(status: dict[str, Any]) -> float:
    """How far a download is, 0..1 (a failed one first, so its error is what shows)."""
    if status.get("state") in ("failed", "interrupted"):
        return -1.0
    total = status.get("bytes_total") or 0
    return int(status.get("bytes_done") or 0) / total if total else 0.0
