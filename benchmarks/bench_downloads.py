"""Model downloads on the worker. Run: python benchmarks/bench_downloads.py [--mib N]

Prints, for one file of `--mib` MiB served by the loopback hub server the tests use (Hugging
Face API), fetched by the real agent's detached helper into a temporary agent home:
1. the baseline: the same file read by plain urllib into /dev/null (what the hub can send);
2. a fresh download through the agent (`download`, then `download_status` polled every 50 ms
   until done): seconds and MiB/s;
3. a resume: the transfer breaks off at half the file, the helper resumes it with a Range
   request: seconds and the bytes sent twice (goal: none);
4. a second `download` of the finished repository: the answer's round trip (from the cache).
Loopback only; everything is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.fixtures.hub_server, the loopback hub the tests use

from tests.fixtures.hub_server import HubRepo, HubServer  # noqa: E402

MIB = 1024 * 1024


class Agent:
    """A real agent process on a home of its own, spoken to in JSON lines."""

    def __init__(self, home: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "agent"],
            cwd=REPO,
            env={"GPUSTACK_AGENT_HOME": str(home), "PATH": "/usr/bin:/bin"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.next_id = 0

    def call(self, method: str, **params: Any) -> Any:
        """One request; its result (an error answer raises)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.next_id += 1
        request = {"id": self.next_id, "method": method, "params": params}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def close(self) -> None:
        """EOF, then wait for it to exit."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def download(agent: Agent, hub: HubServer) -> float:
    """Seconds from `download` to `done`."""
    started = time.perf_counter()
    ident = agent.call("download", source="huggingface", repo="bench/model", endpoint=hub.url)["id"]
    while (status := agent.call("download_status", id=ident))["state"] == "running":
        time.sleep(0.05)
    if status["state"] != "done":
        raise RuntimeError(status)
    return time.perf_counter() - started


def main() -> None:
    """Run the four measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="the file's size in MiB")
    args = parser.parse_args()
    size = args.mib * MIB
    body = (bytes(range(256)) * (size // 256 + 1))[:size]
    hub = HubServer().start()
    hub.state.chunk_size = MIB
    hub.state.add(HubRepo("bench/model", files={"model.safetensors": body}))
    workdir = Path(tempfile.mkdtemp(prefix="bench-downloads-"))
    try:
        url = f"{hub.url}/bench/model/resolve/main/model.safetensors"
        started = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            while response.read(MIB):
                pass
        baseline = time.perf_counter() - started
        print(
            f"1. urllib baseline: {args.mib} MiB in {baseline:.2f} s "
            f"= {args.mib / baseline:.0f} MiB/s"
        )

        agent = Agent(workdir / "home")
        fresh = download(agent, hub)
        print(f"2. fresh download: {args.mib} MiB in {fresh:.2f} s = {args.mib / fresh:.0f} MiB/s")

        shutil.rmtree(workdir / "home" / "cache")
        hub.state.ranges.clear()
        hub.state.cut_once["model.safetensors"] = size // 2
        resumed = download(agent, hub)
        ranges = [r for _, r in hub.state.ranges]
        start = int(ranges[-1].removeprefix("bytes=").rstrip("-")) if ranges[-1] else 0
        twice = (size // 2) - start if start else size // 2
        print(
            f"3. broken at half, resumed: {resumed:.2f} s, ranges asked {ranges}, "
            f"bytes sent twice: {twice} (goal: 0)"
        )

        rounds = []
        for _ in range(20):
            started = time.perf_counter()
            agent.call("download", source="huggingface", repo="bench/model", endpoint=hub.url)
            rounds.append(time.perf_counter() - started)
        rounds.sort()
        print(f"4. download of a finished repository: p50 {rounds[10] * 1000:.1f} ms")
        agent.close()
    finally:
        hub.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
