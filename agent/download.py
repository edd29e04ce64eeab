"""The download methods of the protocol: `download`, `download_status`, `download_cancel`.

A repository is downloaded once per worker, into a cache all instances share:
`$GPUSTACK_AGENT_HOME/cache/huggingface/<org>/<name>` or `.../cache/model_scope/<org>/<name>`.
Each download has a folder `$GPUSTACK_AGENT_HOME/downloads/<id>` (id: `<source>--<org>--<name>`)
holding request.json, status.json and the helper's record; the work is done by a detached
helper process (agent.downloader) that outlives the agent and the SSH connection.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

from agent import files, procs
from agent.downloader import HELPER_FILE, REQUEST_FILE, STATUS_FILE
from agent.errors import BAD_REQUEST, NOT_FOUND, START_FAILED, AgentError
from agent.hub_files import DEFAULT_REVISION
from agent.params import get_optional_str, get_str
from agent.paths import agent_home, home_lock

CACHE_FOLDERS = {"huggingface": "huggingface", "modelscope": "model_scope"}
SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")
AGENT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELPER_REPORT_TIMEOUT = 30.0


def _source(params: Dict[str, Any]) -> str:
    source = get_str(params, "source")
    if source not in CACHE_FOLDERS:
        raise AgentError(
            BAD_REQUEST, f"param 'source' must be huggingface or modelscope, not {source!r}"
        )
    return source


def _repo(params: Dict[str, Any]) -> List[str]:
    repo = get_str(params, "repo")
    parts = repo.split("/")
    if not 1 <= len(parts) <= 2 or not all(SEGMENT.fullmatch(p) and ".." not in p for p in parts):
        raise AgentError(BAD_REQUEST, f"param 'repo' must look like org/name, not {repo!r}")
    return parts


def _patterns(params: Dict[str, Any]) -> Optional[List[str]]:
    value = params.get("files")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise AgentError(BAD_REQUEST, "param 'files' must be a list of file names or patterns")
    return list(value) or None


def download_id(source: str, parts: List[str]) -> str:
    """The id of the download of a repository: `<source>--<org>--<name>`."""
    return "--".join([source, *parts])


def _folder(download: str) -> str:
    if not re.fullmatch(
        r"(huggingface|modelscope)(--[A-Za-z0-9][A-Za-z0-9_.-]{0,95}){1,2}", download
    ):
        raise AgentError(BAD_REQUEST, f"param 'id' is not a download id: {download!r}")
    return os.path.join(agent_home(), "downloads", download)


def model_folder(source: str, parts: List[str]) -> str:
    """Where a repository's files go on this worker."""
    return os.path.join(agent_home(), "cache", CACHE_FOLDERS[source], *parts)


def _current(folder: str) -> Optional[Dict[str, Any]]:
    """The folder's status, with `state: interrupted` for a helper that died while running."""
    status = files.read_json(os.path.join(folder, STATUS_FILE))
    if not isinstance(status, dict):
        return None
    if status.get("state") == "running" and not procs.is_alive(
        files.read_json(os.path.join(folder, HELPER_FILE))
    ):
        status["state"] = "interrupted"
        status["error"] = (
            "the download stopped before it was done (its helper ended); ask again to resume"
        )
    return status


def _launch(folder: str, request: Dict[str, Any], secrets: Dict[str, str]) -> None:
    files.write_json_atomic(os.path.join(folder, REQUEST_FILE), request)
    files.remove_file(os.path.join(folder, HELPER_FILE))
    env = dict(os.environ)
    env.pop("PYTHONSAFEPATH", None)  # `-m agent.downloader` is found through the cwd
    helper = subprocess.Popen(
        [sys.executable or "python3", "-m", "agent.downloader", folder],
        cwd=AGENT_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, err = helper.communicate(json.dumps(secrets).encode() + b"\n", HELPER_REPORT_TIMEOUT)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.communicate()
        raise AgentError(START_FAILED, "the download helper did not start") from None
    if helper.returncode != 0:
        text = err.decode("utf-8", "replace").strip()
        raise AgentError(START_FAILED, f"the download helper did not start: {text}")


def download(params: Dict[str, Any]) -> Dict[str, Any]:
    """`download`: start (or join, or resume) the download of a repository; its status."""
    source = _source(params)
    parts = _repo(params)
    revision = get_optional_str(params, "revision") or DEFAULT_REVISION[source]
    patterns = _patterns(params)
    secrets = {
        "token": get_optional_str(params, "token") or "",
        "endpoint": get_optional_str(params, "endpoint") or "",
    }
    ident = download_id(source, parts)
    folder = _folder(ident)
    path = model_folder(source, parts)
    with home_lock():
        status = _current(folder)
        if status is not None:
            same = status.get("revision") == revision and status.get("files") == patterns
            if status["state"] == "running":
                return {**status, "joined": True}
            if status["state"] == "done" and same and os.path.isdir(path):
                return {**status, "joined": True}
        os.makedirs(folder, exist_ok=True)
        os.makedirs(path, exist_ok=True)
        now = time.time()
        request = {
            "id": ident,
            "source": source,
            "repo": "/".join(parts),
            "revision": revision,
            "files": patterns,
            "path": path,
        }
        fresh = {
            **request,
            "state": "running",
            "commit": None,
            "bytes_done": 0,
            "bytes_total": None,
            "files_done": 0,
            "files_total": None,
            "error": None,
            "started_at": now,
            "updated_at": now,
            "finished_at": None,
        }
        files.write_json_atomic(os.path.join(folder, STATUS_FILE), fresh)
        _launch(folder, request, secrets)
        return {**(_current(folder) or fresh), "joined": False}


def _folder_of(params: Dict[str, Any]) -> str:
    if params.get("id") is not None:
        return _folder(get_str(params, "id"))
    return _folder(download_id(_source(params), _repo(params)))


def download_status(params: Dict[str, Any]) -> Dict[str, Any]:
    """`download_status`: the status of a download, by `id` or by `source` and `repo`."""
    folder = _folder_of(params)
    status = _current(folder)
    if status is None:
        raise AgentError(NOT_FOUND, f"no download {os.path.basename(folder)} on this worker")
    return status


def download_cancel(params: Dict[str, Any]) -> Dict[str, Any]:
    """`download_cancel`: end a running download (what it fetched stays, to resume later)."""
    folder = _folder_of(params)
    with home_lock():
        helper = files.read_json(os.path.join(folder, HELPER_FILE))
        cancelled = procs.signal_process(helper, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while cancelled and procs.is_alive(helper) and time.monotonic() < deadline:
            time.sleep(0.05)
    return {"cancelled": cancelled}
