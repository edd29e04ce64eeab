"""A download over a real SSH connection: the agent uploaded to a loopback sshd starts its
helper, answers at once (the helper holds none of the channel's descriptors), and the download
goes on after the connection is dropped."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gpustack_tui.config import Paths
from gpustack_tui.server.workers import AgentConnection
from tests.fixtures.hub_server import HubRepo, HubServer
from tests.fixtures.sshd import SshdServer

MIB = 1024 * 1024


@pytest.fixture
def hub(empty_hub: HubServer) -> HubServer:
    """The loopback hub with one 4 MiB model, sent in about 1.6 s."""
    server = empty_hub
    body = (bytes(range(251)) * (4 * MIB // 251 + 1))[: 4 * MIB]
    server.state.add(HubRepo("acme/over-ssh", files={"model.safetensors": body}))
    server.state.chunk_delay = 0.1
    return server


def connect(sshd: SshdServer, paths: Paths) -> AgentConnection:
    """A fresh SSH connection to the worker's agent."""
    return sshd.open_trusted(paths)[0]


def test_a_download_over_ssh_outlives_the_connection(
    sshd_server: SshdServer, hub: HubServer, paths: Paths
) -> None:
    first = connect(sshd_server, paths)
    started = time.monotonic()
    answer: dict[str, Any] = first.call(
        "download", source="huggingface", repo="acme/over-ssh", endpoint=hub.url
    )
    assert time.monotonic() - started < 5
    assert answer["state"] == "running"
    first.close()  # the SSH connection goes away mid-download

    second = connect(sshd_server, paths)
    try:
        deadline = time.monotonic() + 30
        status = second.call("download_status", id=answer["id"])
        while status["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = second.call("download_status", id=answer["id"])
    finally:
        second.close()
    assert status["state"] == "done", status
    folder = sshd_server.agent_home / "cache" / "huggingface" / "acme" / "over-ssh"
    assert status["path"] == str(folder)
    assert (folder / "model.safetensors").read_bytes() == hub.state.repos["acme/over-ssh"].files[
        "model.safetensors"
    ]
    assert [r for _, r in hub.state.ranges] == [None]  # one transfer, never restarted
