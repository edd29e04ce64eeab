"""Model downloads on the worker: the real agent and its detached helper, fetching from the
loopback hub server (Hugging Face and ModelScope APIs) over real HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import AgentCallError, AgentProcess
from tests.fixtures.hub_server import HF_TOKEN, MS_TOKEN, HubRepo, HubServer
from tests.fixtures.ports import free_port
from tests.fixtures.waiting import wait_until

MIB = 1024 * 1024


def blob(size: int, seed: int) -> bytes:
    """`size` bytes that differ from file to file and from place to place."""
    pattern = bytes((seed * 31 + i * 7) % 251 for i in range(4093))
    return (pattern * (size // len(pattern) + 1))[:size]


@pytest.fixture
def hub(empty_hub: HubServer) -> HubServer:
    """A loopback hub holding a public, a gated, a private and a multi-file repository."""
    server = empty_hub
    state = server.state
    state.add(
        HubRepo(
            "acme/tiny",
            files={
                "config.json": b'{"architectures": ["TinyForCausalLM"]}',
                "model.safetensors": blob(3 * MIB, 1),
                "sub/tokenizer.json": blob(100_000, 2),
            },
        )
    )
    state.add(HubRepo("acme/gated", files={"config.json": b"{}"}, gated=True))
    state.add(HubRepo("acme/private", files={"model.bin": blob(MIB, 3)}, private=True))
    return server


@pytest.fixture
def helpers(agent_home: Path) -> Iterator[None]:
    """Ends every download helper a test leaves running in its home."""
    yield
    downloads = agent_home / "downloads"
    if not downloads.is_dir():
        return
    agent = AgentProcess(agent_home)
    try:
        for folder in downloads.iterdir():
            agent.call("download_cancel", id=folder.name)
    finally:
        agent.close()


def start_download(
    agent: AgentProcess, hub: HubServer, repo: str = "acme/tiny", **extra: Any
) -> dict[str, Any]:
    """`download` of a Hugging Face repository from the loopback hub; the answer."""
    return agent.call("download", source="huggingface", repo=repo, endpoint=hub.url, **extra)


def wait_state(agent: AgentProcess, download: str, timeout: float = 30.0) -> dict[str, Any]:
    """The status once the download is no longer running."""

    def finished() -> dict[str, Any] | None:
        status = agent.call("download_status", id=download)
        return status if status["state"] != "running" else None

    return wait_until("the download to finish", finished, timeout=timeout, interval=0.1)


def test_downloads_a_repository_with_progress(
    agent_proc: AgentProcess, hub: HubServer, agent_home: Path, helpers: None
) -> None:
    hub.state.chunk_delay = 0.1  # 3 MiB in 256 KiB chunks: about 1.2 s, long enough to watch
    first = start_download(agent_proc, hub)
    assert first["state"] == "running" and first["joined"] is False
    assert first["id"] == "huggingface--acme--tiny"
    folder = agent_home / "cache" / "huggingface" / "acme" / "tiny"
    assert first["path"] == str(folder)

    seen: list[int] = []

    def midway() -> bool:
        status = agent_proc.call("download_status", source="huggingface", repo="acme/tiny")
        seen.append(status["bytes_done"])
        return 0 < status["bytes_done"] < (status["bytes_total"] or 0)

    wait_until("the download to be midway", midway, timeout=10, interval=0.05)
    joined = start_download(agent_proc, hub)  # a second request joins the running download
    assert joined["joined"] is True and joined["state"] == "running"

    done = wait_state(agent_proc, first["id"])
    assert done["state"] == "done", done
    total = 3 * MIB + 100_000 + len(b'{"architectures": ["TinyForCausalLM"]}')
    assert done["bytes_done"] == done["bytes_total"] == total
    assert done["files_done"] == done["files_total"] == 3
    assert done["commit"] == hub.state.repos["acme/tiny"].sha
    for name, body in hub.state.repos["acme/tiny"].files.items():
        assert (folder / name).read_bytes() == body
    assert not list(folder.rglob("*.part"))
    assert seen == sorted(seen)
    listings = [r for r in hub.state.requests if r[1].startswith("/api/models/acme/tiny")]
    assert len(listings) == 1  # the joining request started nothing

    again = start_download(agent_proc, hub)  # done: answered from the cache, no transfer
    assert again["state"] == "done" and again["joined"] is True
    assert len(hub.state.ranges) == 3


def test_a_broken_transfer_resumes_with_a_range_request(
    agent_proc: AgentProcess, hub: HubServer, agent_home: Path, helpers: None
) -> None:
    hub.state.cut_once["model.safetensors"] = MIB + 12345
    status = wait_state(agent_proc, start_download(agent_proc, hub)["id"])
    assert status["state"] == "done", status
    folder = agent_home / "cache" / "huggingface" / "acme" / "tiny"
    assert (folder / "model.safetensors").read_bytes() == hub.state.repos["acme/tiny"].files[
        "model.safetensors"
    ]
    asked = [r for name, r in hub.state.ranges if name == "model.safetensors"]
    assert asked == [None, f"bytes={MIB + 12345}-"]


def _helper_pid(agent_home: Path, download: str) -> int:
    record = json.loads((agent_home / "downloads" / download / "helper.json").read_text())
    return int(record["pid"])


def test_a_killed_helper_is_reported_and_the_next_request_resumes(
    agent_proc: AgentProcess, hub: HubServer, agent_home: Path, helpers: None
) -> None:
    hub.state.chunk_delay = 0.1
    download = start_download(agent_proc, hub)["id"]
    part = agent_home / "cache" / "huggingface" / "acme" / "tiny" / "model.safetensors.part"
    wait_until(
        "a MiB of the .part file",
        lambda: part.exists() and part.stat().st_size >= MIB,
        timeout=15,
    )
    os.kill(_helper_pid(agent_home, download), signal.SIGKILL)
    status = wait_until(
        "the download to be interrupted",
        lambda: (
            (s := agent_proc.call("download_status", id=download))["state"] == "interrupted" and s
        ),
        timeout=10,
    )
    assert "ask again to resume" in status["error"]
    held = part.stat().st_size
    assert 0 < held < 3 * MIB

    hub.state.chunk_delay = 0.0
    resumed = start_download(agent_proc, hub)
    assert resumed["joined"] is False
    assert wait_state(agent_proc, download)["state"] == "done"
    asked = [r for name, r in hub.state.ranges if name == "model.safetensors"]
    assert asked[-1] == f"bytes={held}-"
    body = hub.state.repos["acme/tiny"].files["model.safetensors"]
    assert (part.parent / "model.safetensors").read_bytes() == body


def test_the_download_outlives_the_agent(
    start_agent: Callable[..., AgentProcess], hub: HubServer, agent_home: Path, helpers: None
) -> None:
    hub.state.chunk_delay = 0.05
    first = start_agent()
    download = start_download(first, hub)["id"]
    first.kill_group()  # as a dropped SSH session would
    second = start_agent()
    assert wait_state(second, download)["state"] == "done"


def test_gated_private_and_missing_repositories_are_refused_clearly(
    agent_proc: AgentProcess, hub: HubServer, helpers: None
) -> None:
    gated = wait_state(agent_proc, start_download(agent_proc, hub, "acme/gated")["id"])
    assert gated["state"] == "failed"
    assert "gated or private" in gated["error"] and "HF_TOKEN" in gated["error"]

    missing = wait_state(agent_proc, start_download(agent_proc, hub, "acme/nothing")["id"])
    assert missing["state"] == "failed"
    assert "acme/nothing was not found" in missing["error"] and "HF_TOKEN" in missing["error"]

    private = wait_state(agent_proc, start_download(agent_proc, hub, "acme/private")["id"])
    assert private["state"] == "failed" and "not found" in private["error"]

    # With the token both work; a failed download is started again by the next request.
    for repo in ("acme/gated", "acme/private"):
        again = start_download(agent_proc, hub, repo, token=HF_TOKEN)
        assert again["joined"] is False
        assert wait_state(agent_proc, again["id"])["state"] == "done"


def test_a_missing_revision_is_named(agent_proc: AgentProcess, hub: HubServer) -> None:
    status = wait_state(agent_proc, start_download(agent_proc, hub, revision="v9")["id"])
    assert status["state"] == "failed"
    assert "revision v9" in status["error"] and "HTTP 404" in status["error"]


def test_an_unreachable_hub_fails_with_what_to_do(agent_proc: AgentProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = agent_proc.call("download", source="modelscope", repo="acme/tiny", endpoint=dead)
    status = wait_state(agent_proc, result["id"])
    assert status["state"] == "failed"
    assert f"cannot reach {dead}" in status["error"] and "MODELSCOPE_ENDPOINT" in status["error"]


def test_modelscope_downloads_with_its_token_and_file_patterns(
    agent_proc: AgentProcess, hub: HubServer, agent_home: Path, helpers: None
) -> None:
    refused = agent_proc.call(
        "download", source="modelscope", repo="acme/private", endpoint=hub.url
    )
    status = wait_state(agent_proc, refused["id"])
    assert status["state"] == "failed" and "MODELSCOPE_API_TOKEN" in status["error"]

    result = agent_proc.call(
        "download",
        source="modelscope",
        repo="acme/tiny",
        endpoint=hub.url,
        token=MS_TOKEN,
        files=["*.json"],
    )
    assert result["id"] == "modelscope--acme--tiny"
    assert wait_state(agent_proc, result["id"])["state"] == "done"
    folder = agent_home / "cache" / "model_scope" / "acme" / "tiny"
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names == ["config.json", "sub/tokenizer.json"]
    cookies = [auth for _, path, auth in hub.state.requests if path.endswith("/repo")]
    assert cookies and all(auth == f"Bearer {MS_TOKEN}" for auth in cookies)


def test_the_token_is_never_written_on_the_worker(
    agent_proc: AgentProcess, hub: HubServer, agent_home: Path, helpers: None
) -> None:
    result = start_download(agent_proc, hub, "acme/gated", token=HF_TOKEN)
    assert wait_state(agent_proc, result["id"])["state"] == "done"
    for path in agent_home.rglob("*"):
        if path.is_file():
            assert HF_TOKEN.encode() not in path.read_bytes(), path
    with contextlib.suppress(subprocess.CalledProcessError):
        listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        assert HF_TOKEN not in listing


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"source": "github", "repo": "a/b"}, "huggingface or modelscope"),
        ({"source": "huggingface", "repo": "../etc"}, "org/name"),
        ({"source": "huggingface", "repo": "a/b/c"}, "org/name"),
        ({"source": "huggingface"}, "missing param 'repo'"),
        ({"source": "huggingface", "repo": "a/b", "files": "x"}, "'files'"),
    ],
)
def test_bad_download_requests_say_what_is_wrong(
    agent_proc: AgentProcess, params: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(AgentCallError) as error:
        agent_proc.call("download", **params)
    assert error.value.code == "bad_request" and fragment in error.value.message
    with pytest.raises(AgentCallError) as error:
        agent_proc.call("download_status", id="huggingface--no--such")
    assert error.value.code == "not_found"
    with pytest.raises(AgentCallError) as error:
        agent_proc.call("download_status", id="../../etc")
    assert error.value.code == "bad_request"


def test_a_model_bigger_than_the_free_disk_is_refused_before_any_transfer(
    agent_proc: AgentProcess, hub: HubServer
) -> None:
    hub.state.add(HubRepo("acme/huge", sizes={"model.safetensors": 10**16}))  # 10 PB
    status = wait_state(agent_proc, start_download(agent_proc, hub, "acme/huge")["id"])
    assert status["state"] == "failed"
    assert "not enough disk space" in status["error"] and "GPUSTACK_AGENT_HOME" in status["error"]
    assert status["bytes_total"] == 10**16 and status["bytes_done"] == 0
    assert hub.state.ranges == []


def test_a_cdn_redirect_keeps_the_range_but_never_gets_the_token(
    agent_proc: AgentProcess, hub: HubServer, agent_home: Path, helpers: None
) -> None:
    body = blob(2 * MIB, 4)
    hub.state.add(HubRepo("acme/lfs", files={"model.safetensors": body}, gated=True))
    hub.state.cdn_redirect = True
    hub.state.cut_once["model.safetensors"] = MIB + 7
    result = start_download(agent_proc, hub, "acme/lfs", token=HF_TOKEN)
    assert wait_state(agent_proc, result["id"])["state"] == "done"
    folder = agent_home / "cache" / "huggingface" / "acme" / "lfs"
    assert (folder / "model.safetensors").read_bytes() == body
    resolves = [auth for _, path, auth in hub.state.requests if "/resolve/" in path]
    cdn = [auth for _, path, auth in hub.state.requests if path.startswith("/cdn/")]
    assert resolves == [f"Bearer {HF_TOKEN}"] * 2
    assert cdn == [None, None]
    assert hub.state.ranges == [
        ("model.safetensors", None),
        ("model.safetensors", f"bytes={MIB + 7}-"),
    ]


def test_patterns_that_match_nothing_are_named(agent_proc: AgentProcess, hub: HubServer) -> None:
    status = wait_state(agent_proc, start_download(agent_proc, hub, files=["*.gguf"])["id"])
    assert status["state"] == "failed"
    assert status["error"] == "no file of acme/tiny matches *.gguf: check the patterns"


def test_files_come_from_one_commit_and_parts_of_an_older_one_are_dropped(
    agent_proc: AgentProcess, hub: HubServer, agent_home: Path, helpers: None
) -> None:
    hub.state.chunk_delay = 0.1
    repo = hub.state.repos["acme/tiny"]
    download = start_download(agent_proc, hub)["id"]
    part = agent_home / "cache" / "huggingface" / "acme" / "tiny" / "model.safetensors.part"
    wait_until(
        "a MiB of the .part file",
        lambda: part.exists() and part.stat().st_size >= MIB,
        timeout=15,
    )
    os.kill(_helper_pid(agent_home, download), signal.SIGKILL)
    wait_until(
        "the download to be interrupted",
        lambda: agent_proc.call("download_status", id=download)["state"] == "interrupted",
        timeout=10,
    )
    first_sha = repo.sha
    resolved = [path for _, path, _ in hub.state.requests if "/resolve/" in path]
    assert resolved and all(f"/resolve/{first_sha}/" in path for path in resolved)

    # The branch moves on: a new commit with other weights of the same size.
    repo.sha = "f" * 40
    repo.files["model.safetensors"] = blob(3 * MIB, 9)
    hub.state.chunk_delay = 0.0
    hub.state.ranges.clear()
    start_download(agent_proc, hub)
    status = wait_state(agent_proc, download)
    assert status["state"] == "done" and status["commit"] == "f" * 40
    assert ("model.safetensors", None) in hub.state.ranges  # fetched whole, not resumed
    body = (part.parent / "model.safetensors").read_bytes()
    assert body == repo.files["model.safetensors"]
