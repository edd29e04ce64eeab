"""The per-workload supervisor: `python3 -m agent.supervisor <workload folder>`.

The agent starts it in a new session and waits for one JSON line on its stdout. It forks at once:
the first process exits (so the agent reaps it and nothing of the workload stays the agent's
child), the second lives on, re-parented to init, outliving the agent and the SSH connection. That
second process starts the workload's argv from spec.json in a process group of its own, with its
stdout and stderr appended to the folder's log, reports `{"ok": true, "pid": N}` (or
`{"ok": false, "error": "..."}` when the program cannot be started), forwards SIGTERM/SIGINT to
the workload's process group, waits, and writes the exit status to `exit_code` (-N: killed by
signal N; 127: program not found; 126: not executable).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any, Dict, List, Optional

from agent import files, log_rotation, procs
from agent.paths import (
    CHILD_FILE,
    EXIT_CODE_FILE,
    LOG_FILE,
    SPEC_FILE,
    SUPERVISOR_FILE,
    WORKLOAD_ENV,
)

NOT_FOUND_EXIT = 127
NOT_EXECUTABLE_EXIT = 126


def _report(payload: Dict[str, Any]) -> None:
    os.write(1, (json.dumps(payload) + "\n").encode("utf-8"))


def _start_error(program: str, cwd: str, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename == cwd and not os.path.isdir(cwd):
        return f"cannot start {program!r}: working folder {cwd!r}: {reason}"
    return f"cannot start {program!r}: {reason}"


def _detach_stdio(log_fd: int) -> None:
    # The agent reads our stdout until EOF, and over SSH the channel stays open while any process
    # holds it: keep none of the agent's descriptors. Our own errors go to the workload's log.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(log_fd, 2)
    os.close(devnull)


def _child_env(spec: Dict[str, Any]) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(spec.get("env") or {})
    env[WORKLOAD_ENV] = str(spec.get("name", ""))
    return env


def supervise(folder: str, spec: Dict[str, Any]) -> int:
    """Run the workload of `spec` to its end; the supervisor's own exit status."""
    files.write_json_atomic(os.path.join(folder, SUPERVISOR_FILE), procs.record(os.getpid()))
    if not spec.get("continue_log"):  # a container's re-started log follower keeps the run's log
        log_rotation.begin_run(folder)  # the last run's log becomes log.1
    log_fd = os.open(
        os.path.join(folder, LOG_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
    )
    log_rotation.start_size_cap(folder, log_fd)
    argv: List[str] = list(spec["argv"])
    cwd: str = spec.get("cwd") or folder
    try:
        child = subprocess.Popen(
            argv,
            env=_child_env(spec),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            start_new_session=True,
        )
    except OSError as exc:
        message = _start_error(argv[0], cwd, exc)
        os.write(log_fd, f"gpustack-agent: {message}\n".encode("utf-8", "replace"))
        code = NOT_EXECUTABLE_EXIT if isinstance(exc, PermissionError) else NOT_FOUND_EXIT
        files.write_text_atomic(os.path.join(folder, EXIT_CODE_FILE), str(code))
        _report({"ok": False, "error": message, "exit_code": code})
        return 0
    child_record = procs.record(child.pid)
    files.write_json_atomic(os.path.join(folder, CHILD_FILE), child_record)

    def forward(signum: int, _frame: Optional[object]) -> None:
        procs.signal_group(child_record, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    # A handler, not SIG_IGN: an ignored signal would stay ignored in programs started later.
    signal.signal(signal.SIGHUP, lambda _signum, _frame: None)

    _report({"ok": True, "pid": child.pid})
    _detach_stdio(log_fd)
    returncode = child.wait()
    files.write_text_atomic(os.path.join(folder, EXIT_CODE_FILE), str(returncode))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: validate the folder's spec, detach, supervise."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        _report({"ok": False, "error": "usage: python3 -m agent.supervisor WORKLOAD_FOLDER"})
        return 2
    folder = os.path.abspath(args[0])
    spec = files.read_json(os.path.join(folder, SPEC_FILE))
    if not isinstance(spec, dict) or not isinstance(spec.get("argv"), list) or not spec["argv"]:
        _report({"ok": False, "error": f"no valid {SPEC_FILE} in {folder}"})
        return 1
    if os.fork() > 0:
        os._exit(0)
    return supervise(folder, spec)


if __name__ == "__main__":
    sys.exit(main())
