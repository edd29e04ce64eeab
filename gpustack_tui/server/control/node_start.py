"""Starting the workloads of a placed instance on its nodes: ports, launch plans, `start`.

A single-node instance is one workload on its worker. A distributed one is a workload per node
(the leader `gpustack-<instance>`, followers `gpustack-<instance>-n<rank>` on their workers)
plus, for vLLM, the Ray head beside the leader (`gpustack-<instance>-head`). The sidecar and
the followers start before the leader, which joins them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gpustack_tui.backends.catalog import BUILTIN
from gpustack_tui.backends.for_spec import Site, health_path_of, launch_plan
from gpustack_tui.backends.plan import LaunchPlan
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.images import mirror_sets
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.domain.user_backend import UserBackend
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.control.model_facts import local_or_hub_metadata
from gpustack_tui.server.state.image_settings import read_mirrors
from gpustack_tui.server.state.store import NotFound, Store
from gpustack_tui.server.workers.errors import AgentError, WorkerUnreachable
from gpustack_tui.server.workers.sessions import SessionManager

log = logging.getLogger(__name__)
SHM_BYTES = 8 * 1024**3


@dataclass(frozen=True)
class Node:
    """One node of an instance: its worker, rank (0 leads), GPUs, claim and workload name."""

    worker: Worker
    rank: int
    gpus: tuple[int, ...]
    vram_claim: int
    name: str


def user_backend_of(store: Store, spec: DeploymentSpec) -> UserBackend | None:
    """The user-defined backend `spec` names (None for built-in and inline custom ones);
    NotFound when it was removed."""
    if spec.backend in BUILTIN or spec.backend == "custom":
        return None
    return store.get_user_backend(spec.backend)


def nodes_of(store: Store, instance: Instance, leader: Worker) -> list[Node]:
    """The leader's node, then each follower's; NotFound when a follower's worker is gone."""
    nodes = [
        Node(leader, 0, tuple(instance.gpu_indexes), instance.vram_claim, instance.workload_name)
    ]
    for follower in sorted(instance.followers, key=lambda f: f.rank):
        nodes.append(
            Node(
                store.get_worker(follower.worker),
                follower.rank,
                tuple(follower.gpu_indexes),
                follower.vram_claim,
                instance.follower_name(follower.rank),
            )
        )
    return nodes


def site_of(
    node: Node,
    nodes: list[Node],
    ports: tuple[int, ...],
    installation_mirrors: dict[str, str] | None = None,
) -> Site:
    """Where `node` runs, with the shape of the whole instance when it spans workers and the
    image mirror rules of its worker (then the installation's)."""
    used = [g for g in node.worker.gpus if g.index in node.gpus]
    distributed = len(nodes) > 1
    return Site(
        worker_ip=node.worker.address,
        gpus=node.gpus,
        vendor=used[0].vendor if used else "nvidia",
        gpu_total=min((g.memory_total for g in used), default=0),
        vram_claim=node.vram_claim,
        rank=node.rank,
        node_gpus=tuple(len(n.gpus) for n in nodes) if distributed else (),
        leader_ip=nodes[0].worker.address,
        ports=ports,
        node_ips=tuple(n.worker.address for n in nodes) if distributed else (),
        node_gpu_indexes=tuple(n.gpus for n in nodes) if distributed else (),
        image_mirrors=mirror_sets(node.worker.image_mirrors, installation_mirrors or {}),
    )


def start_params(
    spec: DeploymentSpec,
    instance: Instance,
    node: Node,
    name: str,
    plan: LaunchPlan,
    model_path: str,
) -> dict[str, Any]:
    """The agent's `start` params for `plan` on `node`. An image runs in the worker's
    container engine with the model folder mounted where the host has it and the node's GPUs
    passed in (simulated GPUs only by their visibility variable: there is no device)."""
    params: dict[str, Any] = {
        "name": name,
        "argv": plan.argv,
        "env": plan.env,
        "cwd": None,
        "labels": {"gpustack.deployment": spec.name, "gpustack.instance": instance.name},
    }
    if plan.image is None:
        return params
    used = [g for g in node.worker.gpus if g.index in node.gpus]
    params["image"] = plan.image
    params["mounts"] = [{"source": model_path, "target": model_path, "read_only": True}]
    if used:
        params["gpus"] = {
            "vendor": used[0].vendor,
            "indexes": list(node.gpus),
            "simulated": any(g.simulated for g in used),
        }
    if len(node.gpus) > 1 or instance.followers:
        params["shm_size"] = SHM_BYTES  # NCCL between the ranks
    return params


async def _metadata(
    sessions: SessionManager, spec: DeploymentSpec, worker: str, model_path: str
) -> ModelMetadata | None:
    if spec.backend not in BUILTIN:
        return None
    meta, _problem = await local_or_hub_metadata(sessions, spec, worker, model_path)
    return meta


async def _ports(sessions: SessionManager, instance: Instance) -> tuple[int, ...]:
    """The leader's serving port, and for a distributed instance a second one (SGLang's
    --dist-init-addr, vLLM's internal port), reserved under the sidecar's name."""
    leader = instance.worker or ""
    port = int((await sessions.call(leader, "allocate_port", name=instance.workload_name))["port"])
    if not instance.followers:
        return (port,)
    extra = await sessions.call(leader, "allocate_port", name=instance.sidecar_name)
    return (port, int(extra["port"]))


async def launch(
    store: Store,
    sessions: SessionManager,
    spec: DeploymentSpec,
    leader: Worker,
    instance: Instance,
    model_paths: dict[str, str],
) -> None:
    """Start every workload of `instance` (model paths by worker). An unreachable worker
    leaves the instance as it is for the next pass; anything refused puts it in error."""
    try:
        nodes = nodes_of(store, instance, leader)
        ports = await _ports(sessions, instance)
        meta = await _metadata(sessions, spec, leader.name, model_paths[leader.name])
        context = meta.max_context if meta else None
        user_backend = user_backend_of(store, spec)
        # Read at each start, so an edited file applies without a restart; malformed: ValueError.
        installation = read_mirrors(sessions.paths.image_settings_file)
        plans = [
            launch_plan(
                spec,
                site_of(n, nodes, ports, installation),
                model_paths[n.worker.name],
                ports[0],
                context,
                user_backend,
            )
            for n in nodes
        ]
        leader_plan = plans[0]
        # The sidecar and the followers first: the leader joins them.
        order = [(node, node.name, plan) for node, plan in zip(nodes, plans, strict=True)][1:]
        if leader_plan.sidecar is not None:
            order.insert(0, (nodes[0], instance.sidecar_name, leader_plan.sidecar))
        order.append((nodes[0], instance.workload_name, leader_plan))
        for node, name, plan in order:
            params = start_params(spec, instance, node, name, plan, model_paths[node.worker.name])
            result = await sessions.call(node.worker.name, "start", **params)
    except WorkerUnreachable as exc:
        log.warning("instance %s: worker unreachable at start: %s", instance.name, exc.message)
        return
    except AgentError as exc:
        store.set_instance_state(
            instance.name, InstanceState.ERROR, f"could not start: {exc.message}"
        )
        return
    except (NotFound, ValueError) as exc:  # a removed backend, no image, a bad command or mirror
        store.set_instance_state(instance.name, InstanceState.ERROR, f"cannot start: {exc}")
        return
    where = f"{leader_plan.image}" if leader_plan.image else "a process"
    span = f" with {len(nodes) - 1} follower(s)" if len(nodes) > 1 else ""
    log.info("instance %s: %s on %s:%s%s", instance.name, where, leader.name, ports[0], span)
    path = health_path_of(spec, user_backend)
    store.set_instance_state(
        instance.name,
        InstanceState.STARTING,
        f"waiting for GET {path} to answer" if path else "starting",
        port=ports[0],
        pid=result.get("pid"),
    )
