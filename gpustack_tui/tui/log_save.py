"""Saving an instance's whole log to a file: streamed from the server, never held in memory.

The file is written as `NAME.part` and renamed when complete, so a full disk or a lost server
never leaves a truncated file that looks whole. Saved bytes are the log exactly as the server
keeps it (colour and other escape sequences included): open it with `less -R`, not `cat`.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

import platformdirs

from gpustack_tui.client import Client
from gpustack_tui.config import APP_NAME


def default_save_dir() -> Path:
    """Where saved logs go: the per-user log folder (on Linux ~/.local/state/gpustack-tui/log)."""
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def save_path(folder: Path, instance: str, previous: bool, now: datetime) -> Path:
    """`folder/INSTANCE[-previous]-YYYYmmdd-HHMMSS.log`, a new name when that one is taken."""
    stem = f"{instance}{'-previous' if previous else ''}-{now:%Y%m%d-%H%M%S}"
    path = folder / f"{stem}.log"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"{stem}-{counter}.log"
    return path


def save_log(client: Client, instance: str, folder: Path, previous: bool = False) -> Path:
    """Download the instance's whole log into a new file under `folder` and return its path.

    Raises OSError (folder not writable, disk full) or the client's ApiError; either way no
    partial file is left behind. Runs in a thread: it blocks until the download ends.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = save_path(folder, instance, previous, datetime.now())
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as out:
            client.download_logs(instance, out, previous=previous)
        partial.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise
    return path


def describe_os_error(exc: OSError, folder: Path) -> str:
    """Plain words for a failed save, with what to do."""
    reason = exc.strerror or str(exc)
    return (
        f"cannot save the log under {folder}: {reason}. Free some space or make the folder "
        "writable, then press s again"
    )
