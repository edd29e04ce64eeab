"""The method table: one request in, one answer out."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Callable, Dict

from agent import bundle_hash, download, gpu, logs, ports, system, workloads
from agent.errors import BAD_REQUEST, INTERNAL, UNKNOWN_METHOD, AgentError
from agent.list_dir import list_dir
from agent.model_files import model_metadata
from agent.runtimes import detect

Handler = Callable[[Dict[str, Any]], Dict[str, Any]]


def inventory(_params: Dict[str, Any]) -> Dict[str, Any]:
    """`inventory`: GPUs (with driver versions and discovery errors), CPUs, memory, runtime."""
    found = gpu.discover()
    memory_total, memory_available = system.memory()
    return {
        "gpus": found["gpus"],
        "drivers": found["drivers"],
        "gpu_errors": found["errors"],
        "cpu_count": system.cpu_count(),
        "memory_total": memory_total,
        "memory_available": memory_available,
        "runtime": detect.default_runtime(),
        "load_average": _load_average(),
    }


def _load_average() -> Any:
    """The 1-minute load average, None where the system has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def hello(params: Dict[str, Any]) -> Dict[str, Any]:
    """`hello`: who and what this agent is, with the hash of its code and its pid."""
    return {**system.hello(params), "code_hash": bundle_hash.code_hash(), "pid": os.getpid()}


METHODS: Dict[str, Handler] = {
    "hello": hello,
    "inventory": inventory,
    "allocate_port": ports.allocate,
    "start": workloads.start,
    "stop": workloads.stop,
    "remove": workloads.remove,
    "list": workloads.list_workloads,
    "read_log": logs.read_log,
    "path_info": system.path_info,
    "list_dir": list_dir,
    "model_metadata": model_metadata,
    "download": download.download,
    "download_status": download.download_status,
    "download_cancel": download.download_cancel,
}


def handle(request: Any) -> Dict[str, Any]:
    """The answer to one decoded request: `{"id", "result"}` or `{"id", "error"}`."""
    request_id = request.get("id") if isinstance(request, dict) else None
    try:
        if not isinstance(request, dict):
            raise AgentError(BAD_REQUEST, "a request must be a JSON object")
        method = request.get("method")
        params = request.get("params")
        if not isinstance(method, str):
            raise AgentError(BAD_REQUEST, "'method' must be a string")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise AgentError(BAD_REQUEST, "'params' must be an object")
        handler = METHODS.get(method)
        if handler is None:
            raise AgentError(UNKNOWN_METHOD, f"unknown method {method!r}")
        return {"id": request_id, "result": handler(params)}
    except AgentError as exc:
        return {"id": request_id, "error": exc.to_json()}
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        message = f"{type(exc).__name__}: {exc}"
        return {"id": request_id, "error": {"code": INTERNAL, "message": message}}
