"""Starting a placed instance on its worker: the model (downloaded first when it comes from a
hub), port, launch plan, `start`."""

from __future__ import annotations

import logging

from gpustack_tui.backends.custom import build_custom_plan
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server import downloads
from gpustack_tui.server.sessions import SessionManager
from gpustack_tui.server.store import NotFound, Store
from gpustack_tui.server.workers.errors import AgentError, WorkerUnreachable

log = logging.getLogger(__name__)


async def start_instance(
    store: Store, sessions: SessionManager, spec: DeploymentSpec, worker: Worker, instance: Instance
) -> None:
    """Start `instance` on `worker`: a hub model is downloaded there first (the instance is then
    `downloading`, and `continue_download` carries on). An unreachable worker leaves it as it is
    for the next pass; anything the agent refuses puts it in error with the agent's words."""
    if not downloads.is_hub(spec):
        await _launch(store, sessions, spec, worker, instance, spec.source.value)
        return
    try:
        status = await downloads.request_download(sessions, spec, worker)
    except WorkerUnreachable as exc:
        log.warning("instance %s: worker unreachable at download: %s", instance.name, exc.message)
        return
    except AgentError as exc:
        store.set_instance_state(
            instance.name, InstanceState.ERROR, f"could not download: {exc.message}"
        )
        return
    model_path = downloads.follow(store, instance, status)
    if model_path is not None:
        await _launch(store, sessions, spec, worker, instance, model_path)


async def continue_download(store: Store, sessions: SessionManager, instance: Instance) -> None:
    """One pass for a `downloading` instance: show the progress; start it once the model is
    on its worker; put it in error when the download failed."""
    try:
        spec = store.get_spec(instance.deployment)
        worker = store.get_worker(instance.worker or "")
    except NotFound:
        return
    try:
        status = await downloads.download_status(sessions, spec, worker)
    except WorkerUnreachable:
        return
    except AgentError as exc:
        if exc.agent_code != "not_found":  # a wiped agent home: ask for it anew
            store.set_instance_state(
                instance.name, InstanceState.ERROR, f"could not download: {exc.message}"
            )
            return
        await start_instance(store, sessions, spec, worker, instance)
        return
    model_path = downloads.follow(store, instance, status)
    if model_path is not None:
        await _launch(store, sessions, spec, worker, instance, model_path)


async def _launch(
    store: Store,
    sessions: SessionManager,
    spec: DeploymentSpec,
    worker: Worker,
    instance: Instance,
    model_path: str,
) -> None:
    name = instance.workload_name
    try:
        port = int((await sessions.call(worker.name, "allocate_port", name=name))["port"])
        plan = build_custom_plan(
            command=spec.advanced.command or "",
            env=spec.advanced.env,
            model_path=model_path,
            model_name=spec.name,
            port=port,
            gpu_indexes=instance.gpu_indexes,
            worker_ip=worker.address,
            backend_parameters=spec.advanced.backend_parameters,
        )
        result = await sessions.call(
            worker.name,
            "start",
            name=name,
            argv=plan.argv,
            env=plan.env,
            cwd=None,
            labels={"gpustack.deployment": spec.name, "gpustack.instance": instance.name},
        )
    except WorkerUnreachable as exc:
        log.warning("instance %s: worker unreachable at start: %s", instance.name, exc.message)
        return
    except AgentError as exc:
        store.set_instance_state(
            instance.name, InstanceState.ERROR, f"could not start: {exc.message}"
        )
        return
    except ValueError as exc:
        store.set_instance_state(instance.name, InstanceState.ERROR, f"bad command line: {exc}")
        return
    log.info("instance %s: started as %s on %s:%s", instance.name, name, worker.name, port)
    store.set_instance_state(
        instance.name,
        InstanceState.STARTING,
        "waiting for GET /v1/models to answer",
        port=port,
        pid=result.get("pid"),
    )
