"""Instance lifecycle rules: restart backoff, error messages, rescheduling after a lost worker.

Pure: every function takes the time (`now`, seconds since the epoch) and the settings it needs,
so the reconciler drives them with the real clock and the tests with a fake one.

Restart backoff, as GPUStack does it: an instance in error is restarted after 0 s the first
time, then 10, 20, 40, 80, 160 s, then every 300 s, counted from its last restart; the counter
(`Instance.restart_backoff`) goes back to 0 once the instance runs again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.text import sanitize_terminal_text
from gpustack_tui.domain.worker import Worker, WorkerState

log = logging.getLogger(__name__)

BACKOFF_BASE_ENV = "GPUSTACK_TUI_RESTART_BACKOFF_SECONDS"
BACKOFF_CAP_ENV = "GPUSTACK_TUI_RESTART_BACKOFF_MAX_SECONDS"
RESCHEDULE_ENV = "GPUSTACK_TUI_RESCHEDULE_AFTER_SECONDS"

DEFAULT_BACKOFF_BASE = 10.0
DEFAULT_BACKOFF_CAP = 300.0
DEFAULT_RESCHEDULE_AFTER = 300.0

LOG_TAIL_LINES = 5
MAX_LOG_LINE = 160
MAX_MESSAGE = 1000


@dataclass(frozen=True)
class LifecyclePolicy:
    """The timings of restarts and rescheduling, in seconds."""

    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    reschedule_after: float = DEFAULT_RESCHEDULE_AFTER

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LifecyclePolicy:
        """The defaults, overridden by the environment (tests shorten them); a value that is
        not a number of at least 0 is logged, naming the variable, and the default used."""
        env = os.environ if environ is None else environ
        return cls(
            backoff_base=_seconds(env, BACKOFF_BASE_ENV, DEFAULT_BACKOFF_BASE),
            backoff_cap=_seconds(env, BACKOFF_CAP_ENV, DEFAULT_BACKOFF_CAP),
            reschedule_after=_seconds(env, RESCHEDULE_ENV, DEFAULT_RESCHEDULE_AFTER),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        log.warning("%s=%r is not a number of seconds (at least 0): using %g", name, raw, default)
        return default
    return value


def restart_delay(backoff: int, policy: LifecyclePolicy) -> float:
    """Seconds to wait, after the last restart, before restart number `backoff + 1`:
    0 when `backoff` is 0, else base * 2^(backoff-1), capped."""
    if backoff <= 0:
        return 0.0
    # min() on the exponent first: 2.0**huge would overflow to an error.
    return min(policy.backoff_base * 2.0 ** min(backoff - 1, 64), policy.backoff_cap)


def restart_wait(instance: Instance, enabled: bool, now: float, policy: LifecyclePolicy) -> float:
    """Seconds until `instance` (in error) is due for a restart: 0 when due now, `inf` when it
    is never restarted (not in error, or auto-restart is off for its deployment)."""
    if not enabled or instance.state is not InstanceState.ERROR:
        return float("inf")
    due = instance.last_restart_at + restart_delay(instance.restart_backoff, policy)
    return max(0.0, due - now)


def restart_fields(instance: Instance, now: float) -> dict[str, object]:
    """What changes on an instance when it is restarted (besides its state)."""
    return {
        "restart_count": instance.restart_count + 1,
        "restart_backoff": instance.restart_backoff + 1,
        "last_restart_at": now,
    }


def log_lines(text: str, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last `lines` non-blank lines of `text`, made safe for a terminal, each shortened."""
    clean = sanitize_terminal_text(text).replace("\t", " ")
    kept = [line.strip() for line in clean.splitlines() if line.strip()][-lines:]
    return [_shorten(line, MAX_LOG_LINE) for line in kept]


def log_excerpt(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """`log_lines` joined by ` | `, so that the message stays on one table row."""
    return " | ".join(log_lines(text, lines))


def error_message(reason: str, log_tail: str, wait: float) -> str:
    """`<reason>; last log lines: a | b; restarting in N s` (parts left out when empty;
    `wait` is `inf` when no restart will come)."""
    parts = [reason]
    excerpt = log_excerpt(log_tail)
    if excerpt:
        parts.append(f"last log lines: {excerpt}")
    if wait == 0:
        parts.append("restarting now")
    elif wait != float("inf"):
        parts.append(f"restarting in {wait:.0f} s")
    return _shorten("; ".join(parts), MAX_MESSAGE)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lost_for(worker: Worker, now: float) -> float:
    """Seconds since the worker was last seen, 0 while it is ready (or was never seen)."""
    if worker.state is WorkerState.READY or worker.last_seen <= 0:
        return 0.0
    return max(0.0, now - worker.last_seen)


def workers_to_evacuate(workers: list[Worker], now: float, policy: LifecyclePolicy) -> set[str]:
    """Workers lost for longer than the grace period, when another worker is ready to take
    their instances (otherwise they are left to be re-adopted when their worker returns)."""
    lost = {w.name for w in workers if lost_for(w, now) > policy.reschedule_after}
    ready = any(w.state is WorkerState.READY for w in workers)
    return lost if ready else set()
