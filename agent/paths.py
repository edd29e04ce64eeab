"""The agent's folder ($GPUSTACK_AGENT_HOME), workload folders, names, and the home lock."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from typing import Iterator, List

from agent.errors import BAD_REQUEST, AgentError

HOME_ENV = "GPUSTACK_AGENT_HOME"
DEFAULT_HOME = "~/.local/share/gpustack-tui-agent"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")

# The files of a workload folder.
SPEC_FILE = "spec.json"  # what to run: argv, env, cwd, labels, started_at
LOG_FILE = "log"  # the workload's stdout and stderr
SUPERVISOR_FILE = "supervisor.json"  # the supervisor's process record (agent.procs)
CHILD_FILE = "child.json"  # the workload process's record; it leads its own process group
EXIT_CODE_FILE = "exit_code"  # written by the supervisor when the workload has exited
PORT_FILE = "port"  # the port reserved for the workload (agent.ports)
PREVIOUS_LOG_FILE = "log.1"  # the previous run's log (agent.log_rotation)
LOG_META_SUFFIX = ".meta"  # beside a log: its id and the bytes the size cap dropped
LOG_MAX_BYTES_ENV = "GPUSTACK_AGENT_LOG_MAX_BYTES"  # the size cap of a run's log

WORKLOAD_ENV = "GPUSTACK_AGENT_WORKLOAD"
"""Set to the workload's name in its environment, so its processes can be told apart."""


def agent_home() -> str:
    """The absolute path of the agent's folder (not created here)."""
    return os.path.abspath(os.path.expanduser(os.environ.get(HOME_ENV) or DEFAULT_HOME))


def home_id() -> str:
    """A short stable id of this agent's folder, told to the containers it starts."""
    return hashlib.sha256(agent_home().encode("utf-8")).hexdigest()[:16]


def workloads_root() -> str:
    """The folder holding one sub-folder per workload, created if missing."""
    root = os.path.join(agent_home(), "workloads")
    os.makedirs(root, exist_ok=True)
    return root


def check_name(name: object) -> str:
    """`name` if it is a valid workload name, else `bad_request` (it becomes a folder name)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise AgentError(
            BAD_REQUEST,
            f"invalid workload name {name!r}: want 1-128 of [A-Za-z0-9_.-], starting alphanumeric",
        )
    return name


def workload_dir(name: str) -> str:
    """The folder of workload `name` (validated; not created here)."""
    return os.path.join(workloads_root(), check_name(name))


def workload_names() -> List[str]:
    """The names of all workload folders, sorted."""
    root = workloads_root()
    return sorted(
        entry
        for entry in os.listdir(root)
        if NAME_PATTERN.fullmatch(entry) and os.path.isdir(os.path.join(root, entry))
    )


@contextlib.contextmanager
def home_lock() -> Iterator[None]:
    """Hold the home's lock: two agents on one machine (an old SSH session lingering while the
    server reconnects) must not start the same workload twice or hand out one port twice."""
    home = agent_home()
    os.makedirs(home, exist_ok=True)
    with file_lock(os.path.join(home, "lock")):
        yield


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (made if missing) while the block runs."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
