"""The log viewer. Run: python benchmarks/bench_log_view.py [--lines N] [--skip-server]

Prints:
1. ingesting a live stream as the log screen does, without HTTP: a thread cuts 64 KiB chunks
   (`--lines` lines of about 100 characters with colours) into cleaned lines with the
   LineAssembler, a 10 Hz timer appends what is pending to a LogView bounded at the screen's
   MAX_LINES, following, and the app repaints: lines per second until the last line is on
   screen (goal: at least 50,000), and the process's RSS when the bound is reached and at the
   end (bounded memory: the two stay close);
2. a million-line view (bound raised to hold them all): appending them, the first paint at the
   end, page down (median of 50, and the part of it spent building a screenful of rows),
   jumping home, a search over every line, wrap on and filter on (each one call);
3. opening a 2 GiB log at its end through the whole chain: a real server, its local worker's
   real agent, the HTTP API and the log screen; the time from pushing the screen to its last
   line painted, median and worst of 5 (goal: under 1 s). The instance's program makes its log
   a sparse 2 GiB file and prints 100,000 lines at its end; the agent's size cap is raised for
   the run;
4. the live stream through that chain: a program prints 300,000 lines as fast as it can while
   the log screen follows; lines per second from the first of them on screen to the last.
Everything is made in a temporary folder and removed.

Headless (`App.run_test`), so painting is Textual's compositor without a terminal's output.
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
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.fixtures.server, the real server the tests use

from textual import work  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402

from agent.paths import LOG_FILE  # noqa: E402
from gpustack_tui.client import Client  # noqa: E402
from gpustack_tui.domain.deployment import DeploymentSpec  # noqa: E402
from gpustack_tui.tui.app import GpustackApp  # noqa: E402
from gpustack_tui.tui.log_buffer import LineAssembler, PendingLines  # noqa: E402
from gpustack_tui.tui.screens.logs import FLUSH_SECONDS, MAX_LINES, LogsScreen  # noqa: E402
from gpustack_tui.tui.widgets.log_view import LogView  # noqa: E402

CHUNK = 64 * 1024
SIZE = (120, 36)
PROGRAM = (
    "import os, sys, time\n"
    "os.ftruncate(1, 2 * 1024 ** 3)\n"
    "for i in range(100000):\n"
    "    print('request', i, 'served in', i % 97, 'ms', 'x' * 40)\n"
    "sys.stdout.flush()\n"
    "time.sleep(600)\n"
)
BURST_LINES = 300_000
BURST = (
    "import sys, time\n"
    "time.sleep(3)\n"
    "for i in range(COUNT):\n"
    "    print('burst', i, 'served in', i % 97, 'ms', 'x' * 60)\n"
    "sys.stdout.flush()\n"
    "time.sleep(600)\n"
)


def rss_mib() -> float:
    """The resident set size of this process now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class OneView(App):
    """One LogView filling a headless screen."""

    def __init__(self, max_lines: int) -> None:
        super().__init__()
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield LogView(self.max_lines, id="log")


def stream_chunks(lines: int) -> Iterator[str]:
    """The stream as the server sends it: 64 KiB chunks cutting lines anywhere."""
    buffer = ""
    for n in range(lines):
        buffer += (
            f"2026-11-26T21:00:00Z INFO \x1b[32mrequest {n}\x1b[0m served in {n % 97} ms "
            f"{'x' * 40}\n"
        )
        if len(buffer) >= CHUNK:
            yield buffer[:CHUNK]
            buffer = buffer[CHUNK:]
    yield buffer


class Ingest(OneView):
    """The log screen's pipeline without HTTP: a thread cleans chunks into PendingLines, a
    10 Hz timer appends what is pending in one batch, following."""

    def __init__(self, lines: int) -> None:
        super().__init__(MAX_LINES)
        self.lines = lines
        self.pending = PendingLines()
        self.rss_at_bound: float | None = None

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.flush)
        self.produce()

    @work(thread=True)
    def produce(self) -> None:
        assembler = LineAssembler()
        for chunk in stream_chunks(self.lines):
            self.pending.put(assembler.feed(chunk))
        self.pending.put(assembler.flush())

    def flush(self) -> None:
        view = self.query(LogView).first() if self.query(LogView) else None
        if view is None:
            return
        view.append(self.pending.take(), follow=True)
        if self.rss_at_bound is None and len(view.store) >= MAX_LINES:
            self.rss_at_bound = rss_mib()


async def ingest(lines: int) -> None:
    app = Ingest(lines)
    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        while view.store.end < lines:
            await pilot.pause(0.02)
        await pilot.pause()
        elapsed = time.perf_counter() - started
        last = view.render_line(view.scrollable_content_region.height - 1).text
        assert f"request {lines - 1} " in last, last
        print(
            f"1. ingest: {lines:,} lines in {elapsed:.2f} s = {lines / elapsed:,.0f} lines/s "
            f"(goal 50,000); kept {len(view.store):,} (bound {MAX_LINES:,}); RSS "
            f"{app.rss_at_bound or float('nan'):.0f} MiB at the bound, {rss_mib():.0f} MiB at "
            "the end"
        )


async def timed(what: str, pilot, action) -> float:
    started = time.perf_counter()
    action()
    await pilot.pause()
    return time.perf_counter() - started


async def million() -> None:
    count = 1_000_000
    lines = [f"{n:07d} request served in {n % 97} ms {'x' * 60}" for n in range(count)]
    app = OneView(count)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        view.focus()
        started = time.perf_counter()
        view.append(lines, follow=False)
        appended = time.perf_counter() - started
        paint = await timed("end", pilot, lambda: view.scroll_end(animate=False, immediate=True))
        view.scroll_to(y=400_000, animate=False, immediate=True)
        await pilot.pause()
        pages = []
        for _ in range(50):
            pages.append(await timed("page", pilot, view.action_page_down))
        screenful = []
        for _ in range(20):
            view.notify_style_update()  # forget the cached rows: build them all again
            started = time.perf_counter()
            for y in range(view.scrollable_content_region.height):
                view.render_line(y)
            screenful.append(time.perf_counter() - started)
        home = await timed("home", pilot, view.action_scroll_home)
        search = await timed("search", pilot, lambda: view.set_search("served in 96 ms"))
        wrap = await timed("wrap", pilot, lambda: view.set_wrap(True))
        filtered = await timed("filter", pilot, lambda: view.set_filter(True))
        print(
            f"2. 1,000,000 lines: append {appended:.2f} s, first paint at the end "
            f"{paint * 1000:.1f} ms, page down p50 {statistics.median(pages) * 1000:.1f} ms "
            f"(of which building the {view.scrollable_content_region.height} rows "
            f"{statistics.median(screenful) * 1000:.1f} ms; the rest is Textual's frame and "
            "the pilot's wait), "
            f"home {home * 1000:.1f} ms, search {search:.2f} s ({len(view.matches):,} lines), "
            f"wrap on {wrap:.2f} s, filter on {filtered * 1000:.0f} ms; "
            f"rows built {view.lines_built:,}; RSS {rss_mib():.0f} MiB"
        )


def deploy(client: Client, folder: Path, name: str, program: str) -> str:
    """Run `program` as a custom deployment on the local worker; its instance's name."""
    script = folder / f"{name}.py"
    script.write_text(program)
    spec = {
        "name": name,
        "source": {"local_path": str(folder)},
        "backend": "custom",
        "advanced": {
            "command": f"{sys.executable} {script}",
            "vram_claim_gib": 0,
            "allow_cpu_offloading": True,
        },
    }
    client.create_deployment(DeploymentSpec.model_validate(spec))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        started = [i for i in client.list_instances() if i.deployment == name and i.pid]
        if started:
            return started[0].name
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start")


def last_line(view: LogView) -> str:
    return view.store.plain(view.store.end - 1) if len(view.store) else ""


async def open_at_end(app: GpustackApp, pilot, client: Client, folder: Path, home: Path) -> None:
    name = deploy(client, folder, "big", PROGRAM)
    deadline = time.monotonic() + 60
    while "request 99999 " not in client.read_logs(name, tail=1):
        if time.monotonic() > deadline:
            raise RuntimeError("the big log did not appear")
        time.sleep(0.2)
    size = max(path.stat().st_size for path in home.rglob(LOG_FILE))
    times = []
    for _ in range(5):
        screen = LogsScreen(name, "big")
        started = time.perf_counter()
        app.push_screen(screen)
        await pilot.pause()
        view = screen.query_one("#log", LogView)
        while "request 99999 " not in last_line(view):
            await pilot.pause(0.01)
            if time.perf_counter() - started > 30:
                raise RuntimeError("the log did not open within 30 s")
        times.append(time.perf_counter() - started)
        screen.action_back()
        await pilot.pause()
    median = statistics.median(times) * 1000
    print(
        f"3. a {size / 1024**3:.2f} GiB log opened at its end: median {median:.0f} ms, "
        f"worst {max(times) * 1000:.0f} ms (goal 1 s; includes the 10 Hz flush and the "
        "screen switch)"
    )


async def live_through_server(app: GpustackApp, pilot, client: Client, folder: Path) -> None:
    name = deploy(client, folder, "burst", BURST.replace("COUNT", str(BURST_LINES)))
    screen = LogsScreen(name, "burst")
    app.push_screen(screen)
    await pilot.pause()
    view = screen.query_one("#log", LogView)
    deadline = time.monotonic() + 60
    while "burst " not in last_line(view):
        await pilot.pause(0.005)
        if time.monotonic() > deadline:
            raise RuntimeError("the burst did not start")
    first = time.perf_counter()
    seen = view.store.end
    while f"burst {BURST_LINES - 1} " not in last_line(view):
        await pilot.pause(0.01)
        if time.monotonic() > deadline:
            raise RuntimeError("the burst did not end")
    elapsed = time.perf_counter() - first
    rate = (view.store.end - seen) / elapsed
    print(
        f"4. live through the server: {view.store.end - seen:,} lines in {elapsed:.2f} s = "
        f"{rate:,.0f} lines/s (program -> agent log -> server relay -> HTTP stream -> view; "
        "the program writes as fast as it can)"
    )


async def with_server(folder: Path) -> None:
    from tests.fixtures.server import start_server, stop_server

    os.environ["GPUSTACK_AGENT_LOG_MAX_BYTES"] = str(4 * 1024**3)
    server = start_server(folder / "install")
    try:
        client = server.client()
        client.add_worker("local", "local")
        app = GpustackApp(client, refresh_interval=None)
        async with app.run_test(size=SIZE) as pilot:
            await open_at_end(app, pilot, client, folder, server.paths.local_agent_home)
            await live_through_server(app, pilot, client, folder)
    finally:
        stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--skip-server", action="store_true", help="leave out parts 3 and 4")
    args = parser.parse_args()
    asyncio.run(ingest(args.lines))
    asyncio.run(million())
    if not args.skip_server:
        folder = Path(tempfile.mkdtemp(prefix="bench-log-view-"))
        try:
            asyncio.run(with_server(folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
