"""How an instance's phase reads: `starting 12s`, `loading 2m14s`, `downloading 37% 1m02s`.

One formatter for every face: `gpustack-tui ls`, the TUI's tables and both describe pages.
Pure: the caller gives the time.
"""

from __future__ import annotations

from gpustack_tui.domain.instance import Instance, Progress
from gpustack_tui.domain.phases import PULLING_IMAGE, phase_of

GIB = 1024**3


def duration(seconds: float) -> str:
    """A short duration: `12s`, `2m14s` (under 10 minutes), `37m`, `3h05m`, `2d04h`."""
    whole = max(0, int(seconds))
    minutes, secs = divmod(whole, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if minutes == 0:
        return f"{secs}s"
    if minutes < 10:
        return f"{minutes}m{secs:02d}s"
    if hours == 0:
        return f"{minutes}m"
    if days == 0:
        return f"{hours}h{mins:02d}m"
    return f"{days}d{hrs:02d}h"


def progress_text(phase: str, progress: Progress | None) -> str:
    """`37%` of a download, `3.1/9.8 GiB` of an image pull; empty without a known total."""
    if progress is None or progress.total <= 0:
        return ""
    if phase == PULLING_IMAGE:
        return f"{progress.done / GIB:.1f}/{progress.total / GIB:.1f} GiB"
    return f"{min(100, progress.done * 100 // progress.total)}%"


def state_label(instance: Instance, now: float) -> str:
    """The phase, its progress and the time spent in it: `downloading 37% 1m02s`; the bare
    phase when the server did not record when it began (a row from an older server)."""
    phase = phase_of(instance)
    parts = [phase, progress_text(phase, instance.progress)]
    if instance.phase and instance.phase_since > 0:
        parts.append(duration(now - instance.phase_since))
    return " ".join(part for part in parts if part)
