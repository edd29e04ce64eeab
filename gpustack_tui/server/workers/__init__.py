"""The server's side of the connection to worker agents (over SSH, or local for the head node).

Modules: destination (parse `user@host:port`), known_hosts (strict host-key trust), ssh_connect
(paramiko login with actionable errors), keepalive (find dead connections), bundle + upload (ship
the agent), transport (start it), rpc (JSON-lines calls), connect (`open_worker`, the entry
point), sessions (one live connection per worker, kept open), logs (relay an instance's log),
errors.
"""

from gpustack_tui.server.workers.connect import open_worker
from gpustack_tui.server.workers.errors import (
    AgentError,
    AgentSetupFailed,
    AgentUnreachable,
    HostKeyChanged,
    HostKeyUnknown,
    WorkerAuthFailed,
    WorkerError,
    WorkerUnreachable,
)
from gpustack_tui.server.workers.rpc import AgentConnection

__all__ = [
    "AgentConnection",
    "AgentError",
    "AgentSetupFailed",
    "AgentUnreachable",
    "HostKeyChanged",
    "HostKeyUnknown",
    "WorkerAuthFailed",
    "WorkerError",
    "WorkerUnreachable",
    "open_worker",
]
