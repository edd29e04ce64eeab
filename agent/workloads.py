"""The process runtime: start, stop, remove and list workloads.

Each workload lives in `$GPUSTACK_AGENT_HOME/workloads/<name>/` (files named in agent.paths). All
state is in that folder, so an agent started later (or a second one) sees what an earlier one
started, including workloads that exited while no agent was running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any, Dict, Optional

from agent import files, procs
from agent.errors import INTERNAL, NOT_FOUND, START_FAILED, AgentError
from agent.params import get_float, get_optional_str, get_str, get_str_list, get_str_map
from agent.paths import (
    CHILD_FILE,
    EXIT_CODE_FILE,
    PORT_FILE,
    SPEC_FILE,
    SUPERVISOR_FILE,
    home_lock,
    workload_dir,
    workload_names,
)

AGENT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUPERVISOR_REPORT_TIMEOUT = 30.0
DEFAULT_GRACE_SECONDS = 10.0
KILL_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05


class Workload:
    """A view of one workload folder, read from disk on each call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.folder = workload_dir(name)

    def _path(self, filename: str) -> str:
        return os.path.join(self.folder, filename)

    def exists(self) -> bool:
        """Whether the workload was ever started (a folder holding only a port is not one)."""
        return os.path.isfile(self._path(SPEC_FILE))

    def spec(self) -> Dict[str, Any]:
        """What was started: argv, env, cwd, labels, started_at."""
        spec = files.read_json(self._path(SPEC_FILE))
        return spec if isinstance(spec, dict) else {}

    def supervisor(self) -> Optional[Dict[str, Any]]:
        """The supervisor's process record."""
        return files.read_json(self._path(SUPERVISOR_FILE))

    def child(self) -> Optional[Dict[str, Any]]:
        """The workload process's record (it leads its process group)."""
        return files.read_json(self._path(CHILD_FILE))

    def exit_code(self) -> Optional[int]:
        """The exit status the supervisor recorded, or None."""
        return files.read_int(self._path(EXIT_CODE_FILE))

    def is_running(self) -> bool:
        """Whether its program still runs: no exit status yet, and supervisor or program alive."""
        if os.path.exists(self._path(EXIT_CODE_FILE)):
            return False
        return procs.is_alive(self.supervisor()) or procs.is_alive(self.child())

    def has_processes(self) -> bool:
        """Whether anything of it still runs, including leftovers in its process group."""
        return self.is_running() or procs.group_alive(self.child())

    def pid(self) -> Optional[int]:
        """The pid of the workload's program, if it was started."""
        child = self.child()
        return child.get("pid") if isinstance(child, dict) else None

    def describe(self) -> Dict[str, Any]:
        """The protocol's `Workload` object."""
        spec = self.spec()
        running = self.is_running()
        return {
            "name": self.name,
            "pid": self.pid(),
            "state": "running" if running else "exited",
            "exit_code": None if running else self.exit_code(),
            "labels": spec.get("labels") or {},
            "port": files.read_int(self._path(PORT_FILE)),
            "started_at": spec.get("started_at"),
        }

    def launch(self, spec: Dict[str, Any]) -> int:
        """Write the spec, start a supervisor for it, and return the program's pid."""
        os.makedirs(self.folder, exist_ok=True)
        for stale in (SUPERVISOR_FILE, CHILD_FILE, EXIT_CODE_FILE):
            files.remove_file(self._path(stale))
        files.write_json_atomic(self._path(SPEC_FILE), spec)
        env = dict(os.environ)
        env.pop("PYTHONSAFEPATH", None)  # `-m agent.supervisor` is found through the cwd
        launcher = subprocess.Popen(
            [sys.executable or "python3", "-m", "agent.supervisor", self.folder],
            cwd=AGENT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output, _ = launcher.communicate(timeout=SUPERVISOR_REPORT_TIMEOUT)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.communicate()
            raise AgentError(
                START_FAILED, f"the supervisor of {self.name} did not report"
            ) from None
        text = output.decode("utf-8", "replace").strip()
        try:
            report = json.loads(text.splitlines()[-1])
        except (IndexError, ValueError):
            report = None
        if not isinstance(report, dict):
            raise AgentError(START_FAILED, f"the supervisor of {self.name} failed: {text[-2000:]}")
        if not report.get("ok"):
            raise AgentError(START_FAILED, str(report.get("error")))
        return int(report["pid"])

    def stop(self, grace_seconds: float) -> bool:
        """SIGTERM its process group, SIGKILL after `grace_seconds`; whether anything ran."""
        if not self.has_processes():
            return False
        child = self.child()
        if not procs.signal_group(child, signal.SIGTERM):
            # No program yet (the supervisor is starting it): the supervisor forwards SIGTERM.
            procs.signal_process(self.supervisor(), signal.SIGTERM)
        if self._wait_gone(grace_seconds):
            return True
        procs.signal_group(child, signal.SIGKILL)
        if self._wait_gone(KILL_WAIT_SECONDS):
            return True
        procs.signal_process(self.supervisor(), signal.SIGKILL)
        if self._wait_gone(KILL_WAIT_SECONDS):
            return True
        raise AgentError(INTERNAL, f"{self.name} still runs after SIGKILL")

    def _wait_gone(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            gone = not self.has_processes() and not procs.is_alive(self.supervisor())
            if gone or time.monotonic() >= deadline:
                return gone
            time.sleep(POLL_SECONDS)


def start(params: Dict[str, Any]) -> Dict[str, Any]:
    """`start`: run argv under a supervisor, unless a workload of that name already runs."""
    workload = Workload(get_str(params, "name"))
    spec = {
        "name": workload.name,
        "argv": get_str_list(params, "argv"),
        "env": get_str_map(params, "env"),
        "cwd": get_optional_str(params, "cwd"),
        "labels": get_str_map(params, "labels"),
    }
    with home_lock():
        if workload.exists() and workload.is_running():
            return {"pid": workload.pid(), "already_running": True}
        spec["started_at"] = time.time()
        return {"pid": workload.launch(spec), "already_running": False}


def stop(params: Dict[str, Any]) -> Dict[str, Any]:
    """`stop`: end a workload; `stopped` tells whether it was running."""
    workload = Workload(get_str(params, "name"))
    grace = get_float(params, "grace_seconds", DEFAULT_GRACE_SECONDS)
    with home_lock():
        if not workload.exists():
            raise AgentError(NOT_FOUND, f"no workload named {workload.name}")
        stopped = workload.stop(grace)
        return {"stopped": stopped, "exit_code": workload.exit_code()}


def remove(params: Dict[str, Any]) -> Dict[str, Any]:
    """`remove`: stop a workload if needed and delete its folder, log and port reservation."""
    workload = Workload(get_str(params, "name"))
    grace = get_float(params, "grace_seconds", DEFAULT_GRACE_SECONDS)
    with home_lock():
        if workload.exists():
            workload.stop(grace)
        shutil.rmtree(workload.folder, ignore_errors=True)
        if os.path.exists(workload.folder):
            raise AgentError(INTERNAL, f"could not delete {workload.folder}")
    return {}


def list_workloads(params: Dict[str, Any]) -> Dict[str, Any]:
    """`list`: every workload the home knows, running or exited."""
    workloads = (Workload(name) for name in workload_names())
    return {"instances": [w.describe() for w in workloads if w.exists()]}
