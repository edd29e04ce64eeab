"""Process identity, so that a recycled pid is never signalled.

A process is recorded as `{"pid", "start_time", "boot_id"}` when it starts. Later it counts as the
same process only if a live (non-zombie) process has that pid, the same start time in
/proc/<pid>/stat, and the machine has not rebooted since.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

_PROC = "/proc"


def _has_proc() -> bool:
    return os.path.isdir(os.path.join(_PROC, "self"))


def _stat(pid: int) -> Optional[Tuple[str, int, int]]:
    """(state, process group, start time) of `pid`, or None if there is no such process."""
    try:
        with open(os.path.join(_PROC, str(pid), "stat"), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return fields[0], int(fields[2]), int(fields[19])
    except (IndexError, ValueError):
        return None


def _exists_without_proc(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def boot_id() -> str:
    """An id of the current boot ("" where the system does not tell)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def start_time(pid: int, zombie_too: bool = False) -> Optional[int]:
    """The start time of `pid` (clock ticks since boot), 0 without /proc, None if not running.

    A zombie (exited, not yet reaped) counts as not running unless `zombie_too`.
    """
    if not _has_proc():
        return 0 if _exists_without_proc(pid) else None
    stat = _stat(pid)
    if stat is None or (stat[0] in ("Z", "X") and not zombie_too):
        return None
    return stat[2]


def record(pid: int) -> Dict[str, object]:
    """The identity of process `pid` (a child that already exited, unreaped, included)."""
    return {"pid": pid, "start_time": start_time(pid, zombie_too=True), "boot_id": boot_id()}


def is_alive(rec: Optional[Dict[str, object]]) -> bool:
    """Whether the process recorded in `rec` is still running (and is not a recycled pid)."""
    if not isinstance(rec, dict):
        return False
    pid = rec.get("pid")
    if not isinstance(pid, int):
        return False
    if rec.get("boot_id", "") != boot_id():
        return False
    current = start_time(int(pid))
    return current is not None and current == rec.get("start_time")


def group_members(pgid: int) -> List[int]:
    """The live (non-zombie) processes of process group `pgid`."""
    if not _has_proc():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for entry in os.listdir(_PROC):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == pgid and stat[0] not in ("Z", "X"):
                members.append(int(entry))
    return members


def group_alive(leader: Optional[Dict[str, object]]) -> bool:
    """Whether the process group led by the recorded `leader` still has live members.

    The leader may have exited while its children live on. Linux does not hand out a pid while
    it still names a process group, so members of group <pid> are ours, unless a process with that
    very pid runs with another start time: then our group had emptied and the number was reused.
    """
    if not isinstance(leader, dict):
        return False
    pid = leader.get("pid")
    if not isinstance(pid, int):
        return False
    if leader.get("boot_id", "") != boot_id():
        return False
    pgid = int(pid)
    current = start_time(pgid)
    if current is not None and current != leader.get("start_time"):
        return False
    return bool(group_members(pgid))


def _pid(rec: Optional[Dict[str, object]]) -> Optional[int]:
    """The pid in a record, or None when it has none."""
    pid = rec.get("pid") if isinstance(rec, dict) else None
    return pid if isinstance(pid, int) else None


def signal_process(rec: Optional[Dict[str, object]], sig: int) -> bool:
    """Send `sig` to the recorded process if it is still ours; whether it was sent."""
    pid = _pid(rec)
    if pid is None or not is_alive(rec):
        return False
    try:
        os.kill(int(pid), sig)
    except OSError:
        return False
    return True


def signal_group(leader: Optional[Dict[str, object]], sig: int) -> bool:
    """Send `sig` to the process group of the recorded `leader` if it is still ours."""
    pid = _pid(leader)
    if pid is None or not group_alive(leader):
        return False
    try:
        os.killpg(int(pid), sig)
    except OSError:
        return False
    return True
