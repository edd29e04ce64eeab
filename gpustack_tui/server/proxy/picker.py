"""Round-robin choice of a deployment's upstream."""

from __future__ import annotations

import threading
from collections.abc import Sequence


class RoundRobinPicker:
    """Rotates through each deployment's upstreams, one step per request.

    Each deployment has its own counter, so traffic to one never shifts another's rotation. The
    n-th call for a deployment starts at index ``n % len(upstreams)`` of the tuple it is given:
    deterministic for a fixed list. Safe to share between threads and tasks (a lock guards the
    counters and nothing awaits while holding it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}

    def order(self, deployment: str, upstreams: Sequence[str]) -> tuple[str, ...]:
        """All of `upstreams`, rotated so that this request's pick comes first.

        The rest follow in rotation order: the ones to fail over to. Empty in, empty out (and the
        counter does not move).
        """
        if not upstreams:
            return ()
        with self._lock:
            turn = self._counters.get(deployment, 0)
            self._counters[deployment] = turn + 1
        start = turn % len(upstreams)
        return tuple(upstreams[start:]) + tuple(upstreams[:start])

    def pick(self, deployment: str, upstreams: Sequence[str]) -> str:
        """This request's upstream. Raises ValueError when `upstreams` is empty."""
        ordered = self.order(deployment, upstreams)
        if not ordered:
            raise ValueError(f"deployment {deployment!r} has no upstream to pick")
        return ordered[0]

    def forget(self, deployment: str) -> None:
        """Drop a deployment's counter (e.g. once it is deleted)."""
        with self._lock:
            self._counters.pop(deployment, None)
