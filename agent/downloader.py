"""The download helper: `python3 -m agent.downloader <download folder>`.

The agent starts it in a new session with the hub's token and endpoint as one JSON line on its
stdin (so no secret is ever written to disk or shown in a process list), and the rest of the
request in the folder's request.json. It forks at once: the first process exits when the second
has recorded itself in helper.json, so the agent reaps it and the second lives on, outliving the
agent and the SSH connection. That second process lists the repository's files, fetches each one
into `<file>.part` (resuming a part left by an earlier try with an HTTP Range request) and renames
it into place, writing its progress to status.json about twice a second.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from agent import files, procs
from agent.hub_files import Hub, HubFailure

REQUEST_FILE = "request.json"  # source, repo, revision, files, path (never the token)
STATUS_FILE = "status.json"  # what download_status answers
HELPER_FILE = "helper.json"  # the helper's process record (agent.procs)
COMMIT_FILE = "commit.json"  # the commit the parts in the model folder come from
LOG_FILE = "log"  # the helper's own stderr
PART_SUFFIX = ".part"
TRIES = 4  # per step; a broken transfer resumes where it stopped
RETRY_DELAY = 0.5  # seconds before the second try, doubled for each one after
WRITE_EVERY = 0.5  # seconds between progress writes
GIB = 1024**3


def safe_path(path: str) -> Optional[str]:
    """The repository path as a relative path inside the model folder, or None when it would
    leave it (absolute, `..`)."""
    normal = os.path.normpath(path)
    if not path or os.path.isabs(normal) or normal == "." or normal.split(os.sep)[0] == "..":
        return None
    return normal


def select(listing: List[Tuple[str, int]], patterns: Optional[List[str]]) -> List[Tuple[str, int]]:
    """The files that match any of `patterns` (shell patterns; all files when none given)."""
    if not patterns:
        return listing
    return [(p, s) for p, s in listing if any(fnmatch.fnmatchcase(p, pat) for pat in patterns)]


def _retrying(step: Any) -> Any:
    delay = RETRY_DELAY
    for attempt in range(TRIES):
        try:
            return step()
        except HubFailure as failure:
            if not failure.retry or attempt == TRIES - 1:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class Progress:
    """status.json, written atomically, at most every WRITE_EVERY seconds while bytes flow."""

    def __init__(self, folder: str, status: Dict[str, Any]) -> None:
        self.path = os.path.join(folder, STATUS_FILE)
        self.status = status
        self._written = 0.0

    def update(self, force: bool = False, **changes: Any) -> None:
        """Apply `changes` and write them out (now when `force`, else when it is time)."""
        self.status.update(changes)
        now = time.time()
        if force or now - self._written >= WRITE_EVERY:
            self.status["updated_at"] = now
            files.write_json_atomic(self.path, self.status)
            self._written = now


def _check_space(target: str, chosen: List[Tuple[str, int]]) -> None:
    """Refuse, before fetching a byte, a download the disk cannot hold (parts count as held)."""
    missing = 0
    for path, size in chosen:
        dest = os.path.join(target, str(safe_path(path)))
        for held in (dest, dest + PART_SUFFIX):
            if os.path.isfile(held) and os.path.getsize(held) <= size:
                size -= os.path.getsize(held)
                break
        missing += size
    stat = os.statvfs(target)
    free = stat.f_bavail * stat.f_frsize
    if missing > free:
        raise HubFailure(
            "not enough disk space for the model in %s: %.1f GiB more are needed, %.1f GiB "
            "are free; free some space (old models in that cache), or set GPUSTACK_AGENT_HOME "
            "to a bigger disk" % (target, missing / GIB, free / GIB)
        )


def _same_commit(folder: str, target: str, chosen: List[Tuple[str, int]], commit: str) -> None:
    """Parts left by a try at another commit (the branch moved since) are not a prefix of
    these files: drop them, so no file is stitched together from two versions."""
    record = os.path.join(folder, COMMIT_FILE)
    previous = files.read_json(record)
    if previous is not None and previous != commit:
        for path, _ in chosen:
            files.remove_file(os.path.join(target, str(safe_path(path))) + PART_SUFFIX)
    files.write_json_atomic(record, commit)


def run(folder: str, request: Dict[str, Any], secrets: Dict[str, Any]) -> None:
    """Download what `request` asks for, recording progress and the outcome in status.json."""
    status = files.read_json(os.path.join(folder, STATUS_FILE))
    progress = Progress(folder, status if isinstance(status, dict) else dict(request))
    hub = Hub(
        request["source"],
        request["repo"],
        request.get("revision"),
        str(secrets.get("token") or ""),
        str(secrets.get("endpoint") or ""),
    )
    target = request["path"]
    try:
        listing, commit = _retrying(hub.list_files)
        chosen = select(listing, request.get("files"))
        if not chosen and request.get("files"):
            wanted = ", ".join(request["files"])
            raise HubFailure(f"no file of {hub.repo} matches {wanted}: check the patterns")
        if not chosen:
            raise HubFailure(f"{hub.repo} has no files at revision {hub.revision}")
        unsafe = [p for p, _ in chosen if safe_path(p) is None]
        if unsafe:
            raise HubFailure(f"{hub.repo} lists a file outside its folder: {unsafe[0]!r}")
        total = sum(size for _, size in chosen)
        progress.update(True, commit=commit, bytes_total=total, files_total=len(chosen))
        _same_commit(folder, target, chosen, commit)
        hub.pin(commit)
        _check_space(target, chosen)
        done = 0
        for number, (path, size) in enumerate(chosen):
            dest = os.path.join(target, str(safe_path(path)))
            if not (os.path.isfile(dest) and os.path.getsize(dest) == size):
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                base = done

                def moved(held: int, base: int = base) -> None:
                    progress.update(bytes_done=base + held)

                _retrying(lambda: hub.fetch(path, dest + PART_SUFFIX, size, moved))  # noqa: B023
                os.replace(dest + PART_SUFFIX, dest)
            done += size
            progress.update(number == len(chosen) - 1, bytes_done=done, files_done=number + 1)
        progress.update(True, state="done", error=None, finished_at=time.time())
    except HubFailure as failure:
        progress.update(True, state="failed", error=failure.message, finished_at=time.time())
    except OSError as exc:
        message = f"cannot write the model into {target}: {exc.strerror or exc}"
        progress.update(True, state="failed", error=message, finished_at=time.time())


def _detach(folder: str) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    log = os.open(os.path.join(folder, LOG_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(log, 2)
    os.close(devnull)
    os.close(log)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: read the secrets, fork, record the helper, download."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python3 -m agent.downloader DOWNLOAD_FOLDER", file=sys.stderr)
        return 2
    folder = os.path.abspath(args[0])
    secrets = json.loads(sys.stdin.readline() or "{}")
    request = files.read_json(os.path.join(folder, REQUEST_FILE))
    if not isinstance(request, dict):
        print(f"no valid {REQUEST_FILE} in {folder}", file=sys.stderr)
        return 1
    ready_read, ready_write = os.pipe()
    if os.fork() > 0:
        os.close(ready_write)
        os.read(ready_read, 1)  # the helper has recorded itself: the agent may look now
        os._exit(0)
    os.close(ready_read)
    files.write_json_atomic(os.path.join(folder, HELPER_FILE), procs.record(os.getpid()))
    os.write(ready_write, b"x")
    os.close(ready_write)
    _detach(folder)
    try:
        run(folder, request, secrets)
    except Exception as exc:
        failed = {"state": "failed", "error": f"the download helper failed: {exc!r}"}
        status = files.read_json(os.path.join(folder, STATUS_FILE)) or {}
        files.write_json_atomic(os.path.join(folder, STATUS_FILE), {**status, **failed})
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
