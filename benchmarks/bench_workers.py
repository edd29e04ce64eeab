"""Worker connections and logs. Run: python benchmarks/bench_workers.py [--workers N] [--calls N]

Prints:
1. the RPC round trip (`hello`, which does no work, one call at a time) over an established SSH
   channel to a real sshd on loopback: p50 / p95 / p99 over `--calls` calls (goal: p50 under
   5 ms); and the p50 of `list`, the agent's work included, for comparison;
2. a status poll across `--workers` workers, each a real sshd of its own on loopback with its own
   agent (50 sshd processes, 50 SSH connections, 50 agents): the time of one reconcile-style
   `list` sent to all at once and awaited (goal: under 2 s), median and worst of 20 polls;
3. the last 1,000 lines of a 2 GiB log (`read_log` with `tail_lines`) through a real agent
   (the local transport): median and worst of 50 reads (goal: under 100 ms). The log is a
   sparse file with 16 MiB of real lines at its end, made in a temporary folder and removed.

Loopback only; needs OpenSSH's sshd (as the tests do). Everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.fixtures.sshd, the real sshd the tests use

from gpustack_tui.config import Paths  # noqa: E402
from gpustack_tui.server.workers import AgentConnection, open_worker  # noqa: E402
from gpustack_tui.server.workers.known_hosts import KnownHosts  # noqa: E402
from tests.fixtures.sshd import SshdServer  # noqa: E402

GIB = 1024**3
LOG_SIZE = 2 * GIB
LOG_TAIL_BYTES = 16 * 1024 * 1024


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def make_paths(root: Path) -> Paths:
    return Paths(data_dir=root, config_dir=root / "config", state_dir=root / "state").ensure()


def start_sshd(root: Path) -> SshdServer:
    server = SshdServer(root=root, gpus=[])
    server.setup()
    server.start()
    return server


def connect(server: SshdServer, paths: Paths) -> AgentConnection:
    connection, _hello, _address = open_worker(
        server.destination,
        paths,
        identity_file=str(server.identity_file),
        accept_fingerprint=server.host_key_fingerprint,
        known_hosts=KnownHosts(paths.known_hosts, extra_paths=()),
        connect_timeout=60,  # 50 handshakes on a small, busy machine
    )
    return connection


def bench_round_trip(root: Path, calls: int) -> None:
    server = start_sshd(root / "rtt-sshd")
    try:
        connection = connect(server, make_paths(root / "rtt-install"))
        with connection:
            times = {}
            for method, count in (("hello", calls), ("list", min(calls, 200))):
                for _ in range(20):  # warm up
                    connection.call(method)
                times[method] = []
                for _ in range(count):
                    started = time.perf_counter()
                    connection.call(method)
                    times[method].append(time.perf_counter() - started)
    finally:
        server.stop()
    rtt, work = times["hello"], times["list"]
    p50 = percentile(rtt, 0.50)
    print(
        f"1. RPC round trip over SSH (loopback, `hello`: no work in the agent, {calls} calls): "
        f"p50 {ms(p50)}, p95 {ms(percentile(rtt, 0.95))}, p99 {ms(percentile(rtt, 0.99))} "
        f"(goal p50 < 5 ms: {'met' if p50 < 0.005 else 'NOT met'}); `list` with no "
        f"workloads, the agent's work included: p50 {ms(percentile(work, 0.5))} over {len(work)}"
    )


def bench_poll(root: Path, workers: int) -> None:
    paths = make_paths(root / "poll-install")
    servers: list[SshdServer] = []
    connections: list[AgentConnection] = []
    try:
        started = time.perf_counter()
        for number in range(workers):
            servers.append(start_sshd(root / f"poll-sshd-{number}"))
        sshd_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            connections = list(pool.map(lambda s: connect(s, paths), servers))
        connect_seconds = time.perf_counter() - started

        async def poll(method: str) -> float:
            began = time.perf_counter()
            await asyncio.gather(*(c.acall(method, timeout=60) for c in connections))
            return time.perf_counter() - began

        async def polls(method: str) -> list[float]:
            await poll(method)  # warm up
            return [await poll(method) for _ in range(20)]

        times = asyncio.run(polls("list"))
        bare = asyncio.run(polls("hello"))
    finally:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda c: c.close(), connections))
        for server in servers:
            server.stop()
    median = statistics.median(times)
    print(
        f"2. status poll across {workers} workers ({workers} real sshd on loopback, one SSH "
        f"connection and agent each; started in {sshd_seconds:.1f} s, connected in "
        f"{connect_seconds:.1f} s): one concurrent `list` to all: median {ms(median)}, worst "
        f"{ms(max(times))} over 20 polls (goal < 2 s: {'met' if max(times) < 2 else 'NOT met'}); "
        f"the same fan-out of `hello` (no work in the agents): median "
        f"{ms(statistics.median(bare))}, worst {ms(max(bare))}"
    )


def make_log(path: Path) -> None:
    """A sparse 2 GiB file whose last 16 MiB are numbered lines."""
    with open(path, "wb") as handle:
        handle.truncate(LOG_SIZE - LOG_TAIL_BYTES)
        handle.seek(0, os.SEEK_END)
        number = 0
        written = 0
        block: list[bytes] = []
        while written < LOG_TAIL_BYTES:
            line = f"2026-01-01T00:00:00Z INFO request {number:09d} served in 12 ms\n".encode()
            block.append(line)
            written += len(line)
            number += 1
        data = b"".join(block)[:LOG_TAIL_BYTES]
        handle.write(data[: data.rfind(b"\n") + 1])


def bench_tail(root: Path) -> None:
    paths = make_paths(root / "tail-install")
    folder = paths.local_agent_home / "workloads" / "bench-log"
    folder.mkdir(parents=True)
    make_log(folder / "log")
    size = (folder / "log").stat().st_size
    connection, _, _ = open_worker("local", paths)
    times = []
    with connection:
        for _ in range(50):
            started = time.perf_counter()
            answer = connection.call("read_log", name="bench-log", tail_lines=1000)
            times.append(time.perf_counter() - started)
            lines = answer["data"].splitlines()
            assert len(lines) == 1000 and answer["next_offset"] == size, answer["next_offset"]
    median = statistics.median(times)
    print(
        f"3. last 1,000 lines of a {size / GIB:.1f} GiB log (read_log tail_lines=1000 through "
        f"the agent): median {ms(median)}, worst {ms(max(times))} over 50 reads "
        f"(goal < 100 ms: {'met' if max(times) < 0.1 else 'NOT met'})"
    )


def main() -> None:
    """Run the three benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=50, help="workers to poll (default 50)")
    parser.add_argument("--calls", type=int, default=2000, help="round trips (default 2000)")
    args = parser.parse_args()
    if not Path("/usr/sbin/sshd").is_file():
        sys.exit("needs OpenSSH's sshd (Debian/Ubuntu: apt-get install openssh-server)")
    root = Path(tempfile.mkdtemp(prefix="gpustack-bench-workers-"))
    try:
        bench_round_trip(root, args.calls)
        bench_poll(root, args.workers)
        bench_tail(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
