"""The podman and docker runtimes: one CLI driver for both engines.

A container workload is a container named after the workload (labelled
`gpustack.workload=<name>`, started detached, so it belongs to the engine and outlives the
agent and the SSH connection) plus a log follower: `<engine> logs --follow <name>` run by the
process runtime's supervisor in the workload's folder, so the container's output lands in the
same per-workload log file that `read_log` reads. State, pid and exit code come from
`<engine> inspect`; containers are never run with `--rm`, so an exit while no agent watched is
still there to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from typing import Any, Dict, List, Optional, Sequence

from agent import files, procs
from agent.errors import INTERNAL, START_FAILED, AgentError
from agent.paths import LOG_FILE, PORT_FILE, WORKLOAD_ENV, home_id
from agent.runtimes import argv as argvs
from agent.runtimes.process import Workload

ENGINE_TIMEOUT_SECONDS = 120.0  # `run` may create a large container's layers
FOLLOWER_EXIT_SECONDS = 5.0
RUNNING_STATES = ("running", "paused", "restarting", "stopping")


def call(command: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 0) -> str:
    """Run an engine command; its stdout, or `internal` with what it printed on failure."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        done = subprocess.run(
            command,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout or ENGINE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AgentError(INTERNAL, f"`{' '.join(command[:3])}` gave no answer in time") from None
    except OSError as exc:
        raise AgentError(INTERNAL, f"cannot run {command[0]}: {exc}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()[-1500:]
        raise AgentError(INTERNAL, f"`{' '.join(command[:2])}` failed: {said}")
    return done.stdout.decode("utf-8", "replace")


def inspect(engine: str, names: Sequence[str]) -> Dict[str, Dict[str, Any]]:
    """`<engine> inspect` of the containers that exist among `names`, by name."""
    if not names:
        return {}
    try:
        text = call(argvs.inspect_argv(engine, names))
    except AgentError as exc:
        if len(names) > 1:  # one missing name fails the lot: ask one by one
            found: Dict[str, Dict[str, Any]] = {}
            for name in names:
                found.update(inspect(engine, [name]))
            return found
        if "no such" in exc.message.lower():
            return {}
        raise
    try:
        entries = json.loads(text)
    except ValueError:
        raise AgentError(INTERNAL, f"{engine} inspect printed no JSON: {text[:200]!r}") from None
    result = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            result[str(entry.get("Name", "")).lstrip("/")] = entry
    return result


def labelled_names(engine: str) -> List[str]:
    """The names of every container carrying the workload label, running or not."""
    return sorted(line.strip() for line in call(argvs.list_argv(engine)).splitlines() if line)


_OWN_LABELS = (argvs.WORKLOAD_LABEL, argvs.HOME_LABEL)


def of_this_home(entry: Dict[str, Any]) -> bool:
    """Whether this agent's home started the container of an inspect entry (one that carries
    no home label predates the label, and is taken as ours)."""
    labels = (entry.get("Config") or {}).get("Labels") or {}
    return labels.get(argvs.HOME_LABEL) in (None, home_id())


def describe(entry: Dict[str, Any]) -> Dict[str, Any]:
    """(state, exit_code, pid, labels) of an inspect entry, as the protocol's Workload has them.

    An exit code is the engine's: the program's status, or 128+N when killed by signal N.
    """
    raw_state = entry.get("State")
    state: Dict[str, Any] = raw_state if isinstance(raw_state, dict) else {}
    status = str(state.get("Status", "")).lower()
    running = status in RUNNING_STATES
    code = state.get("ExitCode")
    pid = state.get("Pid")
    labels = (entry.get("Config") or {}).get("Labels") or {}
    return {
        "state": "running" if running else "exited",
        "exit_code": None if running or not isinstance(code, int) else code,
        "pid": pid if isinstance(pid, int) and pid > 0 else None,
        "labels": {k: v for k, v in labels.items() if k not in _OWN_LABELS},
    }


def _labelled(entry: Dict[str, Any], name: str) -> bool:
    labels = (entry.get("Config") or {}).get("Labels") or {}
    return labels.get(argvs.WORKLOAD_LABEL) == name


class Container:
    """One container workload of `engine`, named `name`, and its folder and log follower."""

    def __init__(self, engine: str, name: str) -> None:
        self.engine = engine
        self.name = name
        self.follower = Workload(name)

    def inspect(self) -> Optional[Dict[str, Any]]:
        """The container's inspect entry, or None when there is no such container."""
        return inspect(self.engine, [self.name]).get(self.name)

    def is_ours(self) -> bool:
        """Whether a container of this name exists and carries our label for it."""
        entry = self.inspect()
        return entry is not None and _labelled(entry, self.name)

    def is_running(self) -> bool:
        """Whether the container exists and runs."""
        entry = self.inspect()
        return entry is not None and describe(entry)["state"] == "running"

    def _log(self, message: str) -> None:
        os.makedirs(self.follower.folder, exist_ok=True)
        with open(os.path.join(self.follower.folder, LOG_FILE), "ab") as handle:
            handle.write(f"gpustack-agent: {message}\n".encode("utf-8", "replace"))

    def start(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        """Run the container of `spec` unless it runs already; `{"pid", "already_running"}`."""
        entry = self.inspect()
        if entry is not None and not _labelled(entry, self.name):
            raise AgentError(
                START_FAILED,
                f"a {self.engine} container named {self.name} exists and is not this gpustack"
                f" workload (no {argvs.WORKLOAD_LABEL}={self.name} label): rename or remove it",
            )
        if entry is not None and describe(entry)["state"] == "running":
            self.ensure_follower()
            return {"pid": describe(entry)["pid"], "already_running": True}
        if entry is not None:
            call(argvs.remove_argv(self.engine, self.name))  # exited: make room for the name
        env = dict(spec["env"])
        env[WORKLOAD_ENV] = self.name
        command, gpu_env = argvs.run_argv(
            self.engine,
            self.name,
            spec["image"],
            spec["argv"],
            env_names=sorted(env),
            labels=spec["labels"],
            gpus=spec.get("gpus"),
            shm_size=spec.get("shm_size"),
            mounts=spec.get("mounts") or [],
            workdir=spec.get("cwd"),
            home=home_id(),
        )
        env.update(gpu_env)
        self.follower.stop(0)  # a follower of an earlier run, if any
        try:
            call(command, env=env)
        except AgentError as exc:
            message = f"cannot start {spec['image']} with {self.engine}: {exc.message}"
            hint = argvs.failure_hint(exc.message)
            message += f" — {hint}" if hint else ""
            self._log(message)
            self.discard()  # a container created but never started must not linger
            raise AgentError(START_FAILED, message) from None
        self._start_follower(spec, since=None)
        entry = self.inspect() or {}
        return {"pid": describe(entry)["pid"] if entry else None, "already_running": False}

    def _start_follower(self, spec: Dict[str, Any], since: Optional[float]) -> None:
        follow = argvs.logs_argv(self.engine, self.name)
        if since is not None:
            follow[2:2] = ["--since", str(int(since))]
        record = {key: value for key, value in spec.items() if key != "env"}
        record["workdir"] = spec.get("workdir", spec.get("cwd"))  # the container's
        record.update({"argv": follow, "env": {}, "cwd": None, "runtime": self.engine})
        record["continue_log"] = since is not None  # the same run: no new log
        self.follower.launch(record)

    def ensure_follower(self) -> None:
        """Follow the log again when the follower died while the container ran on (a reboot
        of the agent's host session, a kill): from the log's last write, so little repeats."""
        if self.follower.is_running() or not self.follower.exists():
            return
        log = os.path.join(self.follower.folder, LOG_FILE)
        since = os.path.getmtime(log) if os.path.exists(log) else None
        self._start_follower(self.follower.spec(), since=since)

    def stop(self, grace_seconds: float) -> bool:
        """`<engine> stop`: SIGTERM, SIGKILL after the grace period; whether it was running."""
        running = self.is_running()
        if running:
            call(
                argvs.stop_argv(self.engine, self.name, grace_seconds),
                timeout=grace_seconds + ENGINE_TIMEOUT_SECONDS,
            )
        self._end_follower()
        return running

    def _end_follower(self) -> None:
        deadline = time.monotonic() + FOLLOWER_EXIT_SECONDS
        while self.follower.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)  # it ends by itself once the container has stopped
        if self.follower.is_running():
            procs.signal_group(self.follower.child(), signal.SIGTERM)
            self.follower.stop(1)

    def discard(self) -> None:
        """Delete the container if there is one, whatever its state (errors ignored)."""
        with contextlib.suppress(AgentError):
            call(argvs.remove_argv(self.engine, self.name))

    def remove(self, grace_seconds: float) -> None:
        """Stop the container and delete it (its folder is the caller's)."""
        if self.inspect() is not None:
            self.stop(grace_seconds)
            call(argvs.remove_argv(self.engine, self.name))
        else:
            self._end_follower()

    def describe(self, entry: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        """The protocol's Workload object, from an inspect entry (None: the container is gone)."""
        spec = self.follower.spec()
        found = describe(entry) if entry is not None else None
        return {
            "name": self.name,
            "pid": found["pid"] if found else None,
            "state": found["state"] if found else "exited",
            "exit_code": found["exit_code"] if found else None,
            "labels": spec.get("labels") or (found["labels"] if found else {}),
            "port": files.read_int(os.path.join(self.follower.folder, PORT_FILE)),
            "started_at": spec.get("started_at"),
            "runtime": self.engine,
        }
