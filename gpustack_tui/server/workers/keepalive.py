"""Finding out that an SSH connection is dead, within about two keepalive periods.

paramiko's own `set_keepalive` only sends packets nobody answers: a connection whose peer
vanished (a machine powered off, a network that drops packets, a frozen sshd) stays "active"
until TCP gives up, many minutes later. So every `interval` seconds `KeepaliveMonitor` sends
OpenSSH's `keepalive@openssh.com` global request *wanting a reply* (sshd answers it, with a
failure reply, which is enough), and closes the transport when no reply came within `interval`
seconds. Closing it ends the agent channel's streams, so the RPC layer marks the connection dead
and the session manager reconnects. The worst case: a connection that dies right after a reply
is closed 2 x `interval` later.

The interval is `GPUSTACK_TUI_SSH_KEEPALIVE_SECONDS` (default 15).
"""

from __future__ import annotations

import logging
import os
import threading

import paramiko

log = logging.getLogger(__name__)

KEEPALIVE_ENV = "GPUSTACK_TUI_SSH_KEEPALIVE_SECONDS"
DEFAULT_INTERVAL = 15.0
MIN_INTERVAL = 0.2
REQUEST = "keepalive@openssh.com"


def keepalive_interval() -> float:
    """The interval from the environment (a bad value is logged and the default used)."""
    raw = os.environ.get(KEEPALIVE_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < MIN_INTERVAL:
        log.warning(
            "ignoring %s=%r: want a number of seconds >= %g; using %g",
            KEEPALIVE_ENV,
            raw,
            MIN_INTERVAL,
            DEFAULT_INTERVAL,
        )
        return DEFAULT_INTERVAL
    return value


class KeepaliveMonitor:
    """Probes one paramiko transport in a daemon thread; closes it when a probe goes unanswered.

    `dead_reason` says why it closed the transport (None while it has not).
    """

    def __init__(self, transport: paramiko.Transport, label: str, interval: float) -> None:
        self.transport = transport
        self.label = label
        self.interval = interval
        self.dead_reason: str | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"ssh-keepalive[{label}]", daemon=True
        )

    def start(self) -> KeepaliveMonitor:
        """Start probing; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop probing (the transport is left as it is)."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            if not self.transport.is_active():
                return
            # global_request(wait=True) blocks until a reply or until the transport is closed:
            # the timer closes it when the reply is late, which also ends the wait.
            timer = threading.Timer(self.interval, self._expire)
            timer.daemon = True
            timer.start()
            try:
                self.transport.global_request(REQUEST, wait=True)
            except Exception as exc:  # the connection broke while sending
                log.debug("keepalive to %s failed: %s", self.label, exc)
            finally:
                timer.cancel()

    def _expire(self) -> None:
        if self._stopped.is_set() or not self.transport.is_active():
            return
        self.dead_reason = (
            f"the SSH connection to {self.label} is dead: no answer to a keepalive within "
            f"{self.interval:g} s"
        )
        log.warning("%s", self.dead_reason)
        self.transport.close()
