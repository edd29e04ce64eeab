"""The workload methods of the protocol (`start`, `stop`, `remove`, `list`) over all runtimes.

A workload is a process (agent.runtimes.process) or a podman/docker container
(agent.runtimes.container); its folder's spec.json records which (`runtime`, absent for a
process). Every change holds the home lock, so two agents never start one workload twice.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any, Dict, List, Optional

from agent.errors import INTERNAL, NOT_FOUND, AgentError
from agent.params import get_float, get_optional_str, get_str, get_str_map
from agent.paths import home_lock, workload_names
from agent.runtimes import container, detect, options
from agent.runtimes.argv import process_gpu_env
from agent.runtimes.process import Workload

DEFAULT_GRACE_SECONDS = 10.0


def _argv(params: Dict[str, Any], required: bool) -> List[str]:
    value = params.get("argv")
    if value is None and not required:
        return []
    if (
        not isinstance(value, list)
        or not all(isinstance(v, str) for v in value)
        or (required and not value)
    ):
        raise AgentError(
            "bad_request",
            "param 'argv' must be a non-empty list of strings"
            if required
            else "param 'argv' must be a list of strings (empty: the image's own command)",
        )
    return list(value)


def _runtime_of(workload: Workload) -> str:
    return str(workload.spec().get("runtime") or "process")


def _container(workload: Workload) -> Optional[container.Container]:
    runtime = _runtime_of(workload)
    return None if runtime == "process" else container.Container(runtime, workload.name)


def start(params: Dict[str, Any]) -> Dict[str, Any]:
    """`start`: run a workload (process or container) unless one of that name already runs."""
    workload = Workload(get_str(params, "name"))
    image = options.get_image(params)
    runtime = detect.choose(options.get_runtime(params), image)
    spec: Dict[str, Any] = {
        "name": workload.name,
        "argv": _argv(params, required=image is None),
        "env": get_str_map(params, "env"),
        "cwd": get_optional_str(params, "cwd"),
        "labels": get_str_map(params, "labels"),
        "gpus": options.get_gpus(params),
        "shm_size": options.get_shm_size(params),
        "mounts": options.get_mounts(params),
    }
    with home_lock():
        if workload.exists() and _runtime_of(workload) != runtime and _is_running(workload):
            current = _runtime_of(workload)
            return {"pid": _describe(workload)["pid"], "already_running": True, "runtime": current}
        spec["started_at"] = time.time()
        previous = _container(workload) if workload.exists() else None
        if previous is not None and previous.engine != runtime:
            previous.discard()  # the exited container of an earlier run under another runtime
        if runtime == "process":
            if workload.exists() and workload.is_running():
                return {"pid": workload.pid(), "already_running": True, "runtime": runtime}
            spec["env"] = {**spec["env"], **process_gpu_env(spec["gpus"])}
            return {"pid": workload.launch(spec), "already_running": False, "runtime": runtime}
        options.check_env_names(spec["env"])
        spec["image"] = image
        result = container.Container(runtime, workload.name).start(spec)
        result["runtime"] = runtime
        return result


def _is_running(workload: Workload) -> bool:
    engine = _container(workload)
    return workload.is_running() if engine is None else engine.is_running()


def _describe(workload: Workload, entry: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    engine = _container(workload)
    if engine is None:
        described = workload.describe()
        described["runtime"] = "process"
        return described
    return engine.describe(entry if entry is not None else engine.inspect())


def stop(params: Dict[str, Any]) -> Dict[str, Any]:
    """`stop`: end a workload; `stopped` tells whether it was running."""
    workload = Workload(get_str(params, "name"))
    grace = get_float(params, "grace_seconds", DEFAULT_GRACE_SECONDS)
    with home_lock():
        if not workload.exists():
            raise AgentError(NOT_FOUND, f"no workload named {workload.name}")
        engine = _container(workload)
        if engine is None:
            return {"stopped": workload.stop(grace), "exit_code": workload.exit_code()}
        stopped = engine.stop(grace)
        return {"stopped": stopped, "exit_code": engine.describe(engine.inspect())["exit_code"]}


def remove(params: Dict[str, Any]) -> Dict[str, Any]:
    """`remove`: stop a workload if needed and delete its folder, log, port and container."""
    workload = Workload(get_str(params, "name"))
    grace = get_float(params, "grace_seconds", DEFAULT_GRACE_SECONDS)
    with home_lock():
        if workload.exists():
            engine = _container(workload)
            if engine is None:
                workload.stop(grace)
            else:
                engine.remove(grace)
        else:  # a container listed by its label alone (its folder was lost)
            for name in detect.ENGINES:
                if detect.probe(name)[0]:
                    orphan = container.Container(name, workload.name)
                    if orphan.is_ours():
                        orphan.remove(grace)
        shutil.rmtree(workload.folder, ignore_errors=True)
        if os.path.exists(workload.folder):
            raise AgentError(INTERNAL, f"could not delete {workload.folder}")
    return {}


# Engines no known workload uses are scanned for orphaned labelled containers this often only:
# a `podman ps` costs ~30 ms, too much for every `list` the server sends each second.
ORPHAN_SCAN_SECONDS = 60.0
_last_orphan_scan = [0.0]


def _engines_in_use(workloads: List[Workload]) -> List[str]:
    engines = {_runtime_of(w) for w in workloads} - {"process"}
    now = time.monotonic()
    if now - _last_orphan_scan[0] >= ORPHAN_SCAN_SECONDS:
        _last_orphan_scan[0] = now
        engines.update(e for e in detect.ENGINES if detect.probe(e)[0])
    return sorted(engines)


def list_workloads(params: Dict[str, Any]) -> Dict[str, Any]:
    """`list`: every workload the home knows, running or exited, and every container of the
    worker's engines this home started (re-adopted even when its folder is gone)."""
    workloads = [w for w in (Workload(name) for name in workload_names()) if w.exists()]
    entries: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for engine in _engines_in_use(workloads):
        try:
            names = container.labelled_names(engine)
            entries[engine] = container.inspect(engine, names)
        except AgentError:
            entries[engine] = {}  # an engine that fails now must not hide the others
    instances = []
    known = set()
    for workload in workloads:
        engine = _runtime_of(workload)
        known.add(workload.name)
        if engine == "process":
            instances.append(_describe(workload))
        else:
            instances.append(_describe_found(workload, entries.get(engine, {})))
    for engine, found in entries.items():
        for name, entry in sorted(found.items()):
            if name not in known and container.of_this_home(entry):
                described = container.describe(entry)
                described.update(
                    name=name, port=None, started_at=None, runtime=engine, adopted=True
                )
                instances.append(described)
    return {"instances": instances}


def _describe_found(workload: Workload, entries: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    engine = container.Container(_runtime_of(workload), workload.name)
    return engine.describe(entries.get(workload.name))
