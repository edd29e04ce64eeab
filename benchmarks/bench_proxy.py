"""Proxy benchmark: latency added, throughput, and many long streams (loopback only, bounded).

    .venv/bin/python benchmarks/bench_proxy.py [--quick] [--listener main|lean|asgi]

Starts, as separate processes on 127.0.0.1: a fast raw-ASGI backend on uvicorn (uvloop,
httptools), and the real inference routes of gpustack-tui (API key check, route table,
round robin, usage counting) in front of it: by default as the main port serves them (the lean
listener as uvicorn's protocol, `gpustack-tui server`); `--listener lean` the lean listener on
its own, as `--inference-port` serves them; `--listener asgi` the FastAPI routes on uvicorn's
own protocol (what the lean listener hands its rare requests to). Then, from this process
(aiohttp client):

1. latency: sequential small requests, direct and through the proxy interleaved, non-streamed
   and streamed (time to the whole answer); prints p50/p90/p99 and the p50 added;
2. throughput: 64 concurrent clients, in short rounds alternating direct, through a bare TCP
   relay (no HTTP: the floor under any proxy) and through the proxy; prints req/s, the ratio
   per round with its median and quartiles, and for the relay and the proxy their own CPU per
   request and the ratio that CPU per request gives when the cores are the limit (steady
   whatever else runs);
3. streams: 500 concurrent streams held for 30 s (one chunk every 0.5 s); prints the chunks
   missing (must be 0) and the proxy's memory at the start, middle and end.

About 2 minutes (`--quick`: 20 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
CHAT = {"model": "bench", "messages": [{"role": "user", "content": "hi"}]}
REPLY = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
).encode()


# -- the backend: raw ASGI, as fast as uvicorn gets -------------------------------------------


async def backend_app(scope: dict, receive: Any, send: Any) -> None:
    """Answers JSON at once; with "stream": n chunks, `interval` seconds apart."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    request = json.loads(body or b"{}")
    if not request.get("stream"):
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(REPLY))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": REPLY})
        return
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    chunks, interval = int(request.get("n", 5)), float(request.get("interval", 0))
    for i in range(chunks):
        event = b'data: {"i": %d, "choices": [{"delta": {"content": "w"}}]}\n\n' % i
        await send({"type": "http.response.body", "body": event, "more_body": True})
        if interval:
            await asyncio.sleep(interval)
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


def serve_backend(port: int) -> None:
    import uvicorn

    uvicorn.run(backend_app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- a bare TCP relay: the floor under any proxy's cost -------------------------------------


def serve_relay(port: int, upstream: str) -> None:
    """Bytes from each client connection to its own backend connection and back: no HTTP."""
    import uvloop

    host, backend_port = upstream.removeprefix("http://").split(":")

    class Back(asyncio.Protocol):
        def __init__(self, front: Front) -> None:
            self.front = front

        def data_received(self, data: bytes) -> None:
            assert self.front.transport is not None
            self.front.transport.write(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self.front.transport is not None:
                self.front.transport.close()

    class Front(asyncio.Protocol):
        transport: asyncio.Transport | None = None
        back: asyncio.Transport | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]
            self.pending: list[bytes] = []
            loop = asyncio.get_running_loop()
            opening = loop.create_task(
                loop.create_connection(lambda: Back(self), host, int(backend_port))
            )
            opening.add_done_callback(self._opened)

        def _opened(self, opening: asyncio.Task) -> None:
            self.back, _ = opening.result()
            self.back.writelines(self.pending)

        def data_received(self, data: bytes) -> None:
            if self.back is None:
                self.pending.append(data)
            else:
                self.back.write(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self.back is not None:
                self.back.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Front, "127.0.0.1", port, backlog=2048)
        await server.serve_forever()

    uvloop.run(main())


# -- the proxy: the real inference routes -------------------------------------------------


def serve_lean_proxy(port: int, table: Any, keys: Any, usage: Any, app: Any, fwd: Any) -> None:
    """The lean listener, as `gpustack-tui server --inference-port` runs it (uvloop)."""
    import uvloop

    from gpustack_tui.server.proxy.lean_exchange import LeanInference
    from gpustack_tui.server.proxy.lean_server import LeanService, serve_lean

    async def main() -> None:
        await fwd.start()  # for what the lean path hands to the app (none of it here)
        service = LeanService(LeanInference(table, keys=keys, usage=usage), app)
        server = await serve_lean(service, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(main())


def serve_main_port(port: int, table: Any, keys: Any, usage: Any, app: Any) -> None:
    """The lean listener as uvicorn's HTTP protocol, as `gpustack-tui server` serves its port."""
    import uvicorn

    from gpustack_tui.server.proxy.lean_exchange import LeanInference
    from gpustack_tui.server.proxy.lean_server import LeanService
    from gpustack_tui.server.proxy.lean_uvicorn import LeanProtocol

    service = LeanService(LeanInference(table, keys=keys, usage=usage), app)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        http=LeanProtocol(service),  # type: ignore[arg-type]
    )


def serve_proxy(
    port: int, upstream: str, data_dir: str, forwarder: str, slow: bool, listener: str
) -> None:
    import uvicorn
    from fastapi import FastAPI

    from gpustack_tui.domain.api_key import ApiKeyCreate
    from gpustack_tui.server.access.keys import KeyRing
    from gpustack_tui.server.proxy import InferenceRoutes, ModelRoute
    from gpustack_tui.server.proxy.fast_path import FastPath
    from gpustack_tui.server.proxy.usage import UsageBook
    from gpustack_tui.server.state.store import Store

    class Table:
        routes_ = {"bench": ModelRoute("bench", False, (upstream,))}

        def lookup(self, model: str) -> ModelRoute | None:
            return self.routes_.get(model)

        def routes(self) -> list[ModelRoute]:
            return list(self.routes_.values())

    keys = KeyRing(Store(Path(data_dir) / "state.db"))
    key = keys.create(ApiKeyCreate(name="bench")).key
    (Path(data_dir) / "key").write_text(key)
    if forwarder == "aiohttp":
        from gpustack_tui.server.proxy.forwarder import Forwarder as AioForwarder

        fwd: Any = AioForwarder()
    else:
        from httpx_forwarder import Forwarder as HttpxForwarder

        fwd = HttpxForwarder()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        await fwd.start()
        yield
        await fwd.aclose()

    app = FastAPI(lifespan=lifespan)
    usage = UsageBook()
    routes = InferenceRoutes(Table(), fwd, keys=keys, usage=usage)
    app.include_router(routes.router)
    served: Any = app if slow else FastPath(app, routes)
    if listener == "lean":
        return serve_lean_proxy(port, Table(), keys, usage, served, fwd)
    if listener == "main":
        return serve_main_port(port, Table(), keys, usage, served)
    uvicorn.run(
        served,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # as the server runs it
    )


# -- the measurements ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far: a cost that load elsewhere barely
    moves."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def one(session: Any, url: str, body: dict, headers: dict) -> float:
    t0 = time.perf_counter()
    async with session.post(url + "/v1/chat/completions", json=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: status {response.status}")
    return time.perf_counter() - t0


async def latency(session: Any, direct: str, proxy: str, headers: dict, n: int) -> None:
    for label, body in (
        ("non-streamed", CHAT),
        ("streamed (5 chunks)", {**CHAT, "stream": True, "n": 5}),
    ):
        for _ in range(200):  # warm up both paths and their connection pools
            await one(session, direct, body, headers)
            await one(session, proxy, body, headers)
        times: dict[str, list[float]] = {"direct": [], "proxy": []}
        for _ in range(n):
            times["direct"].append(await one(session, direct, body, headers))
            times["proxy"].append(await one(session, proxy, body, headers))
        d, p = times["direct"], times["proxy"]
        print(f"latency {label}, {n} requests each, ms:")
        for name, values in times.items():
            print(
                f"  {name:7} p50 {pct(values, 0.5):6.3f}  p90 {pct(values, 0.9):6.3f}"
                f"  p99 {pct(values, 0.99):6.3f}"
            )
        added = (statistics.median(p) - statistics.median(d)) * 1000
        print(f"  added p50 {added:.3f} ms (goal < 0.5)")


async def throughput(session: Any, url: str, headers: dict, seconds: float) -> tuple[float, int]:
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await one(session, url, CHAT, headers)
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(64)))
    return done / (time.perf_counter() - t0), done


async def streams(proxy: str, headers: dict, pid: int, count: int, seconds: float) -> None:
    import aiohttp

    interval = 0.5
    chunks = int(seconds / interval)
    body = {**CHAT, "stream": True, "n": chunks, "interval": interval}
    connector = aiohttp.TCPConnector(limit=0)
    memory = [rss_mib(pid)]

    async def stream(session: aiohttp.ClientSession) -> int:
        seen = 0
        async with session.post(proxy + "/v1/chat/completions", json=body, headers=headers) as r:
            async for line in r.content:
                if line.startswith(b"data: {"):
                    seen += 1
        return seen

    async def sample() -> None:
        await asyncio.sleep(seconds / 2)
        memory.append(rss_mib(pid))

    timeout = aiohttp.ClientTimeout(total=seconds * 3)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t0 = time.perf_counter()
        sampler = asyncio.ensure_future(sample())
        seen = await asyncio.gather(*(stream(session) for _ in range(count)))
        await sampler
        elapsed = time.perf_counter() - t0
    memory.append(rss_mib(pid))
    missing = sum(chunks - s for s in seen)
    print(f"streams: {count} concurrent for {elapsed:.1f} s, {chunks} chunks each")
    print(f"  chunks missing: {missing} (goal 0); streams short: {sum(s < chunks for s in seen)}")
    print("  proxy RSS MiB start/middle/end: " + " / ".join(f"{m:.1f}" for m in memory))


def cpu_total(pids: list[int]) -> float:
    """CPU seconds (user + system) of `pids` so far; 0 stands for this process."""
    total = 0.0
    for pid in pids:
        user, system = cpu_seconds(os.getpid() if pid == 0 else pid)
        total += user + system
    return total


async def measure(
    args: argparse.Namespace, urls: dict[str, str], key: str, pids: dict[str, int]
) -> None:
    import aiohttp

    direct, proxy = urls["direct"], urls["proxy"]
    headers = {"Authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        await latency(session, direct, proxy, headers, 300 if args.quick else 2000)
        # Short rounds, direct, relayed and proxied in turn: load from elsewhere on a shared
        # machine drifts over seconds, and alternating lets every side see the same drift.
        rounds, seconds = (3, 1.0) if args.quick else (12, 1.0)
        rates: dict[str, list[float]] = {"direct": [], "relay": [], "proxy": []}
        done = dict.fromkeys(rates, 0)
        others_cpu = dict.fromkeys(rates, 0.0)  # client + backend
        own_cpu = dict.fromkeys(rates, 0.0)  # the relay's or the proxy's own
        for _ in range(rounds):
            for side in rates:
                middle = pids.get(side)
                before = cpu_total([0, pids["backend"]])
                own_before = cpu_total([middle]) if middle else 0.0
                rate, count = await throughput(session, urls[side], headers, seconds)
                others_cpu[side] += cpu_total([0, pids["backend"]]) - before
                own_cpu[side] += (cpu_total([middle]) - own_before) if middle else 0.0
                done[side] += count
                rates[side].append(rate)
        ratios = [p / d for p, d in zip(rates["proxy"], rates["direct"], strict=True)]
        d, p = statistics.median(rates["direct"]), statistics.median(rates["proxy"])
        print(f"throughput, 64 concurrent clients, {rounds} rounds of {seconds} s each way:")
        print(f"  direct {d:7.0f} req/s  proxy {p:7.0f} req/s  (medians)")
        print("  ratio per round: " + " ".join(f"{r:.0%}" for r in ratios))
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(
            f"  ratio median {statistics.median(ratios):.0%} (goal >= 80%),"
            f" quartiles {quartiles[0]:.0%} / {quartiles[2]:.0%}"
        )
        direct_us = others_cpu["direct"] / done["direct"] * 1e6
        print(f"  CPU per request: direct {direct_us:.0f} us (client + backend)")
        # When the cores are the limit, throughput goes as 1 / CPU per request: this ratio is
        # what a machine busy with nothing else would show, whatever else runs here now.
        for side, label in (("relay", "bare TCP relay (no HTTP)"), ("proxy", "proxy")):
            own_us = own_cpu[side] / done[side] * 1e6
            rest_us = others_cpu[side] / done[side] * 1e6
            print(
                f"  {label}: {own_us:.0f} us of its own per request; client + backend"
                f" {rest_us:.0f} us; CPU-bound ratio {direct_us / (rest_us + own_us):.0%}"
            )
    count, hold = (50, 5.0) if args.quick else (500, 30.0)
    await streams(proxy, headers, pids["proxy"], count, hold)


def wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a benchmark server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("a benchmark server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, for a smoke run")
    parser.add_argument("--forwarder", choices=["httpx", "aiohttp"], default="aiohttp")
    parser.add_argument(
        "--listener",
        choices=["main", "lean", "asgi"],
        default="main",
        help="main: the server's port (lean listener under uvicorn); lean: the inference "
        "listener of --inference-port; asgi: the FastAPI routes on uvicorn's own protocol",
    )
    parser.add_argument(
        "--no-fast-path", action="store_true", help="route through FastAPI (for comparison)"
    )
    parser.add_argument("--serve-backend", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-relay", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-proxy", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_backend:
        return serve_backend(args.serve_backend)
    if args.serve_relay:
        return serve_relay(args.serve_relay, args.upstream)
    if args.serve_proxy:
        return serve_proxy(
            args.serve_proxy,
            args.upstream,
            args.data_dir,
            args.forwarder,
            args.no_fast_path,
            args.listener,
        )
    with tempfile.TemporaryDirectory() as data_dir:
        backend_port, relay_port, proxy_port = free_port(), free_port(), free_port()
        direct = f"http://127.0.0.1:{backend_port}"
        base = [sys.executable, str(HERE)]
        backend = subprocess.Popen([*base, "--serve-backend", str(backend_port)])
        relay = subprocess.Popen([*base, "--serve-relay", str(relay_port), "--upstream", direct])
        serve = ["--serve-proxy", str(proxy_port), "--upstream", direct, "--data-dir", data_dir]
        if args.no_fast_path:
            serve.append("--no-fast-path")
        serve += ["--listener", args.listener, "--forwarder", args.forwarder]
        proxy = subprocess.Popen([*base, *serve])
        try:
            wait_for(backend_port, backend)
            wait_for(relay_port, relay)
            wait_for(proxy_port, proxy)
            key = (Path(data_dir) / "key").read_text()
            fast = "off" if args.no_fast_path else "on"
            print(
                f"listener: {args.listener}; forwarder (asgi): {args.forwarder}; "
                f"fast path (asgi): {fast}; cpus: {os.cpu_count()}"
            )
            urls = {
                "direct": direct,
                "relay": f"http://127.0.0.1:{relay_port}",
                "proxy": f"http://127.0.0.1:{proxy_port}",
            }
            pids = {"backend": backend.pid, "relay": relay.pid, "proxy": proxy.pid}
            asyncio.run(measure(args, urls, key, pids))
        finally:
            for process in (proxy, relay, backend):
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
