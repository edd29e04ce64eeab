"""The errors of the connection to a worker's agent.

Every error is a `WorkerError` with a stable `.code` (for the API and the TUI to branch on), a
`.message` written for the operator (what happened and what to do), and `.details` (a JSON-able
dict: what a client needs to act, e.g. the fingerprint to show before accepting a host key).
"""

from __future__ import annotations

from typing import Any


class WorkerError(Exception):
    """Base class: something went wrong reaching or talking to a worker."""

    code: str = "worker_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """`{"code", "message", "details"}`, e.g. for an API error body."""
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


class HostKeyUnknown(WorkerError):
    """The worker's SSH host key is not trusted yet: the operator must accept its fingerprint."""

    code = "host_key_unknown"

    def __init__(
        self,
        host: str,
        port: int,
        key_type: str,
        fingerprint: str,
        *,
        offered_fingerprint: str | None = None,
    ) -> None:
        where = host if port == 22 else f"{host}:{port}"
        if offered_fingerprint:
            intro = (
                f"the {key_type} host key of {where} is {fingerprint}, which is not the "
                f"fingerprint given to accept ({offered_fingerprint}); refusing to connect."
            )
        else:
            intro = f"the authenticity of {where} can't be established: it is not a known host."
        message = (
            f"{intro} Its {key_type} host key fingerprint is {fingerprint}. Check it on the "
            f"worker (`ssh-keygen -lf /etc/ssh/ssh_host_{_short_type(key_type)}_key.pub`) and "
            "accept it only if it matches."
        )
        super().__init__(
            message,
            {"host": host, "port": port, "key_type": key_type, "fingerprint": fingerprint},
        )
        self.host = host
        self.port = port
        self.key_type = key_type
        self.fingerprint = fingerprint


class HostKeyChanged(WorkerError):
    """The worker presented a host key different from the stored one: possible interception."""

    code = "host_key_changed"

    def __init__(
        self,
        host: str,
        port: int,
        key_type: str,
        expected_fingerprint: str,
        got_fingerprint: str,
    ) -> None:
        where = host if port == 22 else f"{host}:{port}"
        message = (
            f"the host key of {where} has CHANGED: expected {expected_fingerprint}, got "
            f"{got_fingerprint} ({key_type}). Someone may be intercepting the connection, or the "
            "worker was reinstalled. Refusing to connect; if the change is legitimate, remove the "
            "old entry from the known_hosts file and accept the new key."
        )
        super().__init__(
            message,
            {
                "host": host,
                "port": port,
                "key_type": key_type,
                "expected_fingerprint": expected_fingerprint,
                "fingerprint": got_fingerprint,
            },
        )
        self.host = host
        self.port = port
        self.key_type = key_type
        self.expected_fingerprint = expected_fingerprint
        self.got_fingerprint = got_fingerprint


class WorkerUnreachable(WorkerError):
    """The worker cannot be reached (DNS, refused, timeout, not an SSH server...)."""

    code = "unreachable"


class WorkerAuthFailed(WorkerError):
    """The SSH server refused the login (no key it accepts)."""

    code = "auth_failed"


class AgentUnreachable(WorkerUnreachable):
    """The agent's stream closed or broke, or it did not answer in time."""


class AgentError(WorkerError):
    """The agent answered with an error, or could not be set up / spoke the wrong protocol.

    `.code` is always "agent_error"; the agent's own code (`not_found`, `start_failed`,
    `python_missing`, `protocol_mismatch`...) is `.agent_code` (also in `.details`).
    """

    code = "agent_error"

    def __init__(self, agent_code: str, message: str) -> None:
        super().__init__(message, {"agent_code": agent_code})
        self.agent_code = agent_code


class AgentSetupFailed(AgentError):
    """The agent could not be installed or started on the worker (e.g. no python3 there)."""


def _short_type(key_type: str) -> str:
    """`ssh-ed25519` -> `ed25519`, `ecdsa-sha2-nistp256` -> `ecdsa` (host key file names)."""
    if key_type.startswith("ecdsa"):
        return "ecdsa"
    return key_type.removeprefix("ssh-")
