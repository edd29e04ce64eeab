"""Starting a placed instance on its worker: port, launch plan, `start`."""

from __future__ import annotations

import logging

from gpustack_tui.backends.custom import build_custom_plan
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.sessions import SessionManager
from gpustack_tui.server.store import Store
from gpustack_tui.server.workers.errors import AgentError, WorkerUnreachable

log = logging.getLogger(__name__)


async def start_instance(
    store: Store, sessions: SessionManager, spec: DeploymentSpec, worker: Worker, instance: Instance
) -> None:
    """Start `instance` on `worker`. An unreachable worker leaves it scheduled for the next
    pass; anything the agent refuses puts it in error with the agent's words."""
    name = instance.workload_name
    try:
        port = int((await sessions.call(worker.name, "allocate_port", name=name))["port"])
        plan = build_custom_plan(
            command=spec.advanced.command or "",
            env=spec.advanced.env,
            model_path=spec.source.value,
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
