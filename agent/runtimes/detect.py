"""Which runtime runs a workload: detected per worker, overridable per worker and per start.

The worker's default is GPUSTACK_AGENT_RUNTIME when set (`process`, `podman`, `docker` or
`auto`), else the first of podman and docker that is on PATH and answers `<engine> info`, else
`process`. A `start` with an image runs in a container; without one, as a process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Dict, Optional, Tuple

from agent.errors import BAD_REQUEST, INTERNAL, START_FAILED, AgentError

RUNTIME_ENV = "GPUSTACK_AGENT_RUNTIME"
ENGINES = ("podman", "docker")
PROBE_TIMEOUT_SECONDS = 20.0

_probes: Dict[str, Tuple[bool, str]] = {}


def probe(engine: str) -> Tuple[bool, str]:
    """(works, why not) for `engine`; asked once per agent process, the answer kept."""
    if engine not in _probes:
        _probes[engine] = _probe(engine)
    return _probes[engine]


def _probe(engine: str) -> Tuple[bool, str]:
    program = shutil.which(engine)
    if program is None:
        return False, f"{engine} is not installed (not on PATH)"
    try:
        done = subprocess.run(
            [program, "info"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"`{engine} info` gave no answer within {PROBE_TIMEOUT_SECONDS:.0f} s"
    except OSError as exc:
        return False, f"cannot run {engine}: {exc}"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()[-300:]
        return False, f"`{engine} info` failed ({done.returncode}): {said}"
    return True, ""


def configured(environ_value: Optional[str]) -> Optional[str]:
    """The runtime GPUSTACK_AGENT_RUNTIME names (None for unset or `auto`)."""
    value = (environ_value or "").strip().lower()
    if value in ("", "auto"):
        return None
    if value not in ("process", *ENGINES):
        raise AgentError(
            INTERNAL, f"{RUNTIME_ENV}={environ_value!r}: want process, podman, docker or auto"
        )
    return value


def default_runtime() -> str:
    """The runtime a workload with an image gets on this worker when `start` names none."""
    chosen = configured(os.environ.get(RUNTIME_ENV))
    if chosen is not None:
        return chosen
    for engine in ENGINES:
        if probe(engine)[0]:
            return engine
    return "process"


def choose(requested: Optional[str], image: Optional[str]) -> str:
    """The runtime for one `start`; `bad_request` or `start_failed` with what to do."""
    if image is None:
        if requested in ENGINES:
            raise AgentError(BAD_REQUEST, f"runtime {requested!r} needs an 'image' to run")
        return "process"
    runtime = requested or default_runtime()
    if runtime == "process":
        reasons = "; ".join(probe(engine)[1] for engine in ENGINES if not probe(engine)[0])
        raise AgentError(
            START_FAILED,
            f"image {image!r} needs a container runtime, and this worker runs processes only"
            f" ({reasons or RUNTIME_ENV + '=process'}): install podman or docker, or deploy"
            " without an image",
        )
    works, why = probe(runtime)
    if not works:
        raise AgentError(START_FAILED, f"cannot run image {image!r} with {runtime}: {why}")
    return runtime
