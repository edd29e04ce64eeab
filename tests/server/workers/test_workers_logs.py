"""Instance logs relayed from the worker: `?tail=N` (the agent's backwards scan), `?previous=true`
(the previous run's log), and a follower that crosses into a new run. A real server, its local
worker's real agent, the HTTP API, the client and the CLI."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

import pytest

from gpustack_tui.client import ApiError
from gpustack_tui.domain.instance import Instance
from tests.fixtures.chatty import start_again
from tests.fixtures.server import RunningServer, cli
from tests.fixtures.waiting import wait_until


def test_tail_and_previous(server: RunningServer, chatty: Instance) -> None:
    client = server.client()
    assert client.read_logs(chatty.name, tail=3) == (
        "first line 4997\nfirst line 4998\nfirst line 4999\n"
    )
    assert client.read_logs(chatty.name, tail=0) == ""
    assert client.read_logs(chatty.name).count("\n") == 5000

    with pytest.raises(ApiError) as caught:
        client.read_logs(chatty.name, previous=True)
    assert caught.value.code == "no_previous_log"
    assert "has no previous log" in caught.value.message
    refused = cli(server, "logs", chatty.name, "--previous", "--follow", check=False)
    assert refused.returncode == 2 and "leave out --follow" in refused.stderr

    start_again(server, chatty, "second")
    wait_until(
        "the new run's log", lambda: "second line 4999" in client.read_logs(chatty.name), timeout=30
    )
    assert client.read_logs(chatty.name, tail=1) == "second line 4999\n"
    previous = client.read_logs(chatty.name, previous=True)
    assert previous.startswith("first line 0\n") and previous.endswith("first line 4999\n")
    assert client.read_logs(chatty.name, previous=True, tail=2) == (
        "first line 4998\nfirst line 4999\n"
    )
    printed = cli(server, "logs", chatty.name, "--previous", "--tail", "1", check=False)
    assert (printed.returncode, printed.stdout) == (0, "first line 4999\n")


def test_a_follower_crosses_into_the_new_run(server: RunningServer, chatty: Instance) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "gpustack_tui", "logs", chatty.name, "--follow", "--tail", "1"],
        env=server.cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen = b""

    def read_until(text: bytes, timeout: float = 30.0) -> None:
        nonlocal seen
        assert follower.stdout is not None
        deadline = time.monotonic() + timeout
        while text not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r} in {seen[-500:]!r}"
            if select.select([follower.stdout], [], [], left)[0]:
                chunk = os.read(follower.stdout.fileno(), 65536)
                assert chunk, f"the follower ended: {seen[-500:]!r}"
                seen += chunk

    try:
        read_until(b"first line 4999\n")
        start_again(server, chatty, "again")
        read_until(b"again line 4999\n")
    finally:
        follower.kill()
        follower.wait()
    text = seen.decode()
    assert text.startswith("first line 4999\n")
    assert "the instance's program was started again; its new log follows" in text
    # The new run's log is read from its start, once.
    assert text.count("again line 0\n") == 1 and text.count("again line 4999\n") == 1
