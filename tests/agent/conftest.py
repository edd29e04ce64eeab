"""Fixtures for the worker agent's tests: real agent processes, spoken to in JSON lines.

GPUSTACK_AGENT_TEST_PYTHON picks the interpreter that runs the agent (default: this one), so the
suite also checks the agent on the oldest Python it supports, e.g. a python3.8.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENT_PYTHON = os.environ.get("GPUSTACK_AGENT_TEST_PYTHON") or sys.executable
ANSWER_TIMEOUT = 30.0


class AgentCallError(Exception):
    """The agent answered a request with an error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class AgentProcess:
    """One `python -u -m agent` process; `call` sends a request and waits for its answer."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GPUSTACK_AGENT_")}
        full_env["GPUSTACK_AGENT_HOME"] = str(home)
        full_env.update(env or {})
        self.home = home
        self.proc = subprocess.Popen(
            [AGENT_PYTHON, "-u", "-m", "agent"],
            cwd=REPO_ROOT,
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # so a test can kill its whole process group, like SIGHUP
        )
        self._answers: queue.Queue[bytes] = queue.Queue()
        self.stderr_lines: list[str] = []
        self._next_id = 0
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._answers.put(line)
        self._answers.put(b"")

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line.decode("utf-8", "replace"))

    def send_line(self, line: str | bytes) -> dict[str, Any]:
        """Write one raw line and return the decoded answer line."""
        assert self.proc.stdin is not None
        raw = line.encode() if isinstance(line, str) else line
        self.proc.stdin.write(raw.rstrip(b"\n") + b"\n")
        self.proc.stdin.flush()
        try:
            answer = self._answers.get(timeout=ANSWER_TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no answer to {raw!r}; stderr: {self.stderr_lines}") from None
        if not answer:
            raise AssertionError(f"agent exited; stderr: {''.join(self.stderr_lines)}")
        return json.loads(answer)

    def request(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a request; the whole answer, error or not."""
        self._next_id += 1
        answer = self.send_line(
            json.dumps({"id": self._next_id, "method": method, "params": params})
        )
        assert answer["id"] == self._next_id, answer
        return answer

    def call(self, method: str, **params: Any) -> Any:
        """Send a request; its result, or AgentCallError for an error answer."""
        answer = self.request(method, **params)
        if "error" in answer:
            raise AgentCallError(answer["error"]["code"], answer["error"]["message"])
        return answer["result"]

    def close(self, timeout: float = 10.0) -> int:
        """Close stdin (EOF) and return the agent's exit status."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.proc.wait(timeout=timeout)

    def kill_group(self) -> None:
        """SIGKILL the agent's whole process group, as a dropped SSH session might."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def agent_home(tmp_path: Path) -> Path:
    """The GPUSTACK_AGENT_HOME of the test's agents."""
    return tmp_path / "agent-home"


@pytest.fixture
def start_agent(agent_home: Path) -> Iterator[Callable[..., AgentProcess]]:
    """A factory of agents sharing one home; at teardown every agent ends and every workload
    left in the home is removed (stopped without grace)."""
    agents: list[AgentProcess] = []

    def start(env: dict[str, str] | None = None) -> AgentProcess:
        agent = AgentProcess(agent_home, env)
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        if agent.proc.poll() is None:
            agent.kill_group()
    if (agent_home / "workloads").is_dir():
        cleaner = AgentProcess(agent_home)
        try:
            for workload in cleaner.call("list")["instances"]:
                cleaner.call("remove", name=workload["name"], grace_seconds=0)
        finally:
            cleaner.close()


@pytest.fixture
def agent_proc(start_agent: Callable[..., AgentProcess]) -> AgentProcess:
    """One agent with a fresh home and no simulated GPUs."""
    return start_agent()
