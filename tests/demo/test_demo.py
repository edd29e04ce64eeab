"""`gpustack-tui demo --no-tui`: a private installation with simulated workers, a demo deployment
answering through /v1 with a key, and nothing left running once it is stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gpustack_tui.client import Client
from gpustack_tui.config import resolve_paths
from gpustack_tui.demo.tui import DemoApp
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.domain.units import GIB
from gpustack_tui.server.workers.connect import make_transport
from gpustack_tui.server.workers.destination import LocalTarget, parse_destination
from gpustack_tui.server.workers.sessions import default_worker_name
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.widgets.title_bar import TitleBar
from tests.fixtures.processes import cmdline, environ, pids_where
from tests.tui.samples import StubClient

START_SECONDS = 90


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line or environment holds `text` (the demo's data dir)."""

    def mentions(pid: int) -> bool:
        variables = (f"{key}={value}" for key, value in environ(pid).items())
        return any(text in part for part in (*cmdline(pid), *variables))

    return pids_where(mentions)


class DemoProcess:
    """`gpustack-tui demo --no-tui` with its stdout collected line by line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gpustack_tui", "demo", "--no-tui", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, seconds: float = START_SECONDS) -> re.Match[str]:
        """The first match of `pattern` in the output; fails the test on exit or timeout."""
        deadline = time.monotonic() + seconds
        while True:
            found = re.search(pattern, self.output, re.M)
            if found:
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"demo did not print {pattern!r}:\n{self.output}")
            time.sleep(0.1)

    def interrupt(self, seconds: float = 60) -> int:
        """Ctrl-C, then the exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=seconds)

    def kill(self) -> None:
        """Last resort at teardown."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def demo() -> Iterator[DemoProcess]:
    running = DemoProcess()
    yield running
    running.kill()


def test_demo_serves_a_chat_through_v1_with_a_key_then_leaves_nothing(demo: DemoProcess) -> None:
    demo.wait_for(r"^demo ready$")
    url = demo.wait_for(r"^demo server:\s+(http://127\.0\.0\.1:\d+) \(data in (.+)\)$")
    base, data_dir = url.group(1), url.group(2)
    key = demo.wait_for(r"^demo API key:\s+(\S+)$").group(1)
    assert Path(data_dir).is_dir() and Path(data_dir).name.startswith("gpustack-tui-demo-")

    with Client.for_paths(resolve_paths(data_dir), base) as client:
        workers = {w.name: w for w in client.list_workers()}
        assert sorted(workers) == ["sim-4090", "sim-a100", "sim-cpu"]
        assert all(w.state.value == "ready" for w in workers.values())
        a100, rtx = workers["sim-a100"].gpus, workers["sim-4090"].gpus
        assert [g.memory_total for g in a100] == [80 * GIB] * 2
        assert [g.memory_total for g in rtx] == [24 * GIB] * 4
        assert all(g.simulated for g in a100 + rtx)
        assert workers["sim-cpu"].gpus == []
        deployments = {d.spec.name: d for d in client.list_deployments()}
        chat = deployments["demo-chat"]
        assert [i.state for i in chat.instances] == [InstanceState.RUNNING] * 2
        assert {i.worker for i in chat.instances} == {"sim-a100"}
        stats = {s.name: s for s in client.worker_stats()}
        held = {(h.gpu_index, h.deployment) for h in stats["sim-a100"].holders}
        assert held == {(0, "demo-chat"), (1, "demo-chat")}
        backend_pids = [i.pid for d in deployments.values() for i in d.instances if i.pid]
    assert len(backend_pids) == 3

    body = {"model": "demo-chat", "messages": [{"role": "user", "content": "hello demo"}]}
    answer = httpx.post(
        f"{base}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "hello demo"
    refused = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=10)
    assert refused.status_code == 401

    running = processes_mentioning(data_dir)
    assert len(running) >= 4  # the server and one agent per simulated worker at least

    assert demo.interrupt() == 0
    assert "demo stopped; nothing is left running" in demo.output
    left = processes_mentioning(data_dir)
    alive = [pid for pid in backend_pids if Path(f"/proc/{pid}").exists()]
    assert (left, alive) == ([], [])
    assert not Path(data_dir).exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)


def test_a_kept_demo_outlives_its_command_until_demo_stop(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    demo = DemoProcess("--dir", str(folder), "--keep")
    try:
        demo.wait_for(r"^demo ready$")
        base = demo.wait_for(r"^demo server:\s+(\S+) ").group(1)
        assert (folder / "local-agent-sim-a100" / "simulated-gpus.json").is_file()
        assert demo.interrupt() == 0
    finally:
        demo.kill()
    assert f"to end it: gpustack-tui demo --stop {folder}" in demo.output
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    assert processes_mentioning(str(folder))

    not_a_demo = subprocess.run(
        [sys.executable, "-m", "gpustack_tui", "demo", "--stop", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert not_a_demo.returncode == 1 and "is not a demo folder" in not_a_demo.stderr
    ended = subprocess.run(
        [sys.executable, "-m", "gpustack_tui", "demo", "--stop", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ended.returncode == 0, ended.stderr
    assert processes_mentioning(str(folder)) == []
    assert folder.is_dir()  # a folder the user named is theirs: kept, but nothing runs
    assert not list(folder.glob("local-agent-*/workloads/*"))


def test_local_destinations_name_their_own_agent_home(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path)
    target = parse_destination("local:sim-a100")
    assert isinstance(target, LocalTarget) and target.label == "local:sim-a100"
    assert default_worker_name("local:sim-a100") == "sim-a100"
    transport = make_transport("local:sim-a100", paths)
    assert transport.home == tmp_path / "local-agent-sim-a100"  # type: ignore[attr-defined]
    assert make_transport("local", paths).home is None  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="use local:NAME with letters, digits"):
        parse_destination("local:../etc")


async def test_the_demo_tui_says_demo_in_every_title_bar() -> None:
    app = DemoApp(StubClient(), "demo: simulated", refresh_interval=None)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("", "w"):
            if key:
                await pilot.press(key)
                await pilot.pause()
            title = str(app.screen.query_one(TitleBar).render())
            assert title.startswith(" DEMO  gpustack-tui"), title
    plain = GpustackApp(StubClient(), refresh_interval=None)
    async with plain.run_test(size=(80, 24)):
        assert str(plain.screen.query_one(TitleBar).render()).startswith("gpustack-tui")
