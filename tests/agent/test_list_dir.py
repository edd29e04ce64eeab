"""`list_dir` through a real agent process: folders and chosen files, bounded, clear errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.agent.conftest import REPO_ROOT, AgentCallError, AgentProcess

AGENT_PYTHON = "/usr/bin/python3" if os.geteuid() == 0 else sys.executable
"""As nobody, the venv's interpreter may not be reachable; the agent needs only the stdlib."""


def make_tree(root: Path) -> Path:
    models = root / "models"
    (models / "Qwen3-0.6B").mkdir(parents=True)
    (models / "llama").mkdir()
    (models / ".cache").mkdir()
    (models / "tiny.gguf").write_bytes(b"GGUF" + b"\0" * 60)
    (models / "BIG.GGUF").write_bytes(b"GGUF")
    (models / "notes.txt").write_text("x")
    (models / ".hidden.gguf").write_bytes(b"GGUF")
    (models / "snapshot").symlink_to(models / "Qwen3-0.6B")
    (models / "dangling").symlink_to(models / "gone")
    return models


def test_lists_folders_and_the_files_asked_for(agent_proc: AgentProcess, tmp_path: Path) -> None:
    models = make_tree(tmp_path)
    answer = agent_proc.call("list_dir", path=str(models), suffixes=[".gguf"])
    assert answer["path"] == str(models)
    assert answer["truncated"] is False
    assert answer["entries"] == [
        {"name": "BIG.GGUF", "is_dir": False, "size": 4},
        {"name": "Qwen3-0.6B", "is_dir": True, "size": 0},
        {"name": "llama", "is_dir": True, "size": 0},
        {"name": "snapshot", "is_dir": True, "size": 0},
        {"name": "tiny.gguf", "is_dir": False, "size": 64},
    ]
    every = agent_proc.call("list_dir", path=str(models))
    assert "notes.txt" in [e["name"] for e in every["entries"]]
    assert not [e for e in every["entries"] if e["name"].startswith(".")]


def test_home_is_expanded_and_the_answer_is_bounded(
    agent_proc: AgentProcess, tmp_path: Path
) -> None:
    crowd = tmp_path / "crowd"
    crowd.mkdir()
    for number in range(50):
        (crowd / f"m{number:03d}").mkdir()
    answer = agent_proc.call("list_dir", path=str(crowd), limit=10)
    assert [e["name"] for e in answer["entries"]] == [f"m{n:03d}" for n in range(10)]
    assert answer["truncated"] is True
    home = agent_proc.call("list_dir", path="~")
    assert home["path"] == os.path.expanduser("~")


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"path": "/no/such/folder"}, "not_found", "/no/such/folder does not exist"),
        ({"path": "FILE"}, "bad_request", "is a file, not a folder"),
        ({"path": "/", "limit": 0}, "bad_request", "between 1 and 5000"),
        ({"path": "/", "suffixes": "gguf"}, "bad_request", "'suffixes' must be a list"),
        ({}, "bad_request", "'path'"),
    ],
)
def test_bad_requests_are_refused_clearly(
    agent_proc: AgentProcess, tmp_path: Path, params: dict, code: str, words: str
) -> None:
    file = tmp_path / "model.gguf"
    file.write_bytes(b"GGUF")
    if params.get("path") == "FILE":
        params = {**params, "path": str(file)}
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("list_dir", **params)
    assert caught.value.code == code
    assert words in caught.value.message
    assert agent_proc.call("hello")["protocol"] == 1


def as_unprivileged_agent(request: str) -> dict:
    """One request to a real agent that cannot read everything: run as `nobody` when the
    tests run as root (root reads every folder), as this user otherwise."""
    command = [AGENT_PYTHON, "-u", "-m", "agent"]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    done = subprocess.run(
        command, input=request + "\n", capture_output=True, text=True, timeout=30,
        cwd=REPO_ROOT, env={**os.environ, "HOME": "/tmp", "GPUSTACK_AGENT_HOME": "/tmp/gt-nobody"},
    )  # fmt: skip
    return json.loads(done.stdout.splitlines()[0])


def test_an_unreadable_folder_is_a_permission_error() -> None:
    outer = Path(tempfile.mkdtemp(prefix="gt-list-dir-"))  # /tmp: reachable by nobody
    try:
        outer.chmod(0o755)
        locked = outer / "locked"
        locked.mkdir()
        locked.chmod(0)
        request = {"id": 1, "method": "list_dir", "params": {"path": str(locked)}}
        answer = as_unprivileged_agent(json.dumps(request))
    finally:
        shutil.rmtree(outer, ignore_errors=True)
    assert answer["error"]["code"] == "permission_denied"
    assert f"cannot read {locked}: permission denied" in answer["error"]["message"]
