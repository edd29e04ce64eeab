"""The process runtime: a workload is a program under a supervisor (agent.supervisor).

Each workload lives in `$GPUSTACK_AGENT_HOME/workloads/<name>/` (files named in agent.paths). All
state is in that folder, so an agent started later (or a second one) sees what an earlier one
started, including workloads that exited while no agent was running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any, Dict, Optional

from agent import files, procs
from agent.errors import INTERNAL, START_FAILED, AgentError
from agent.paths import (
    CHILD_FILE,
    EXIT_CODE_FILE,
    PORT_FILE,
    SPEC_FILE,
    SUPERVISOR_FILE,
    workload_dir,
)

AGENT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUPERVISOR_REPORT_TIMEOUT = 30.0
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
