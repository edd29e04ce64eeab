"""`gpustack-tui demo`: try every screen on a private installation with simulated GPUs."""

from __future__ import annotations

import contextlib
import shlex
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from gpustack_tui.cli.common import CliError
from gpustack_tui.demo.installation import Demo, end_kept_demo, is_demo_folder, start_demo
from gpustack_tui.launcher import ServerStartFailed


def _say(text: str) -> None:
    """Progress on stderr; a terminal that went away (SIGHUP) must not stop the cleanup."""
    with contextlib.suppress(OSError):
        click.echo(text, err=True)


def _how_to_use(demo: Demo) -> list[str]:
    data_dir = shlex.quote(str(demo.data_dir))
    return [
        f"demo server:   {demo.url} (data in {demo.data_dir})",
        f"demo API key:  {demo.api_key}",
        f"try:           curl -s {demo.url}/v1/chat/completions -H 'Authorization: Bearer "
        f"{demo.api_key}' -H 'Content-Type: application/json' -d "
        '\'{"model": "demo-chat", "messages": [{"role": "user", "content": "hello"}]}\'',
        f"the TUI:       gpustack-tui --data-dir {data_dir}",
    ]


def _wait_for_signal() -> None:
    """Block until Ctrl-C, SIGTERM or SIGHUP (the terminal went away)."""
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    done.wait()


@click.command("demo")
@click.option(
    "--keep",
    is_flag=True,
    help="Leave the demo server and its deployments running after the TUI quits.",
)
@click.option(
    "--no-tui",
    is_flag=True,
    help="Do not open the TUI: print how to reach the demo and run until Ctrl-C or SIGTERM.",
)
@click.option(
    "--dir",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's data here (default: a new temporary folder, removed at the end).",
)
@click.option(
    "--stop",
    "stop_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="End a demo left running with --keep (its folder), then exit.",
)
def demo(keep: bool, no_tui: bool, data_dir: Path | None, stop_dir: Path | None) -> None:
    """Start a private demo installation and open the TUI on it.

    Three simulated workers (2x 80 GiB and 4x 24 GiB GPUs, all marked simulated, and a CPU-only
    one) run as local agents, a built-in OpenAI-compatible test backend serves two demo
    deployments, and an API key `demo` is made. Nothing needs a GPU or the network, and the
    demo never touches your own installation. Quitting stops it and leaves nothing running.
    """
    if stop_dir is not None:
        _end(stop_dir.resolve())
        return
    if data_dir is not None and data_dir.is_dir() and any(data_dir.iterdir()):
        raise CliError(
            f"--dir {data_dir} is not empty: give a new or empty folder (the demo must not "
            "share an installation; a kept demo is ended with --stop)"
        )
    try:
        running = start_demo(data_dir, say=_say)
    except ServerStartFailed as exc:
        raise CliError(f"{exc}; nothing was left running") from None
    try:
        for line in _how_to_use(running):
            click.echo(line)
        click.echo("demo ready", err=True)
        if no_tui:
            _wait_for_signal()
        else:
            from gpustack_tui.demo.tui import run_demo_tui

            run_demo_tui(running, keep)
    finally:
        if keep:
            quoted = shlex.quote(str(running.data_dir))
            _say(f"the demo keeps running; to end it: gpustack-tui demo --stop {quoted}")
        else:
            running.stop(say=_say)
            _say("demo stopped; nothing is left running")


def _end(folder: Path) -> None:
    """`demo --stop DIR`."""
    if not is_demo_folder(folder):
        raise CliError(f"{folder} is not a demo folder (no simulated workers' agent homes there)")
    from gpustack_tui.server.daemon import ServerError, stop_server

    try:
        end_kept_demo(folder, stop_server)
    except ServerError as exc:
        raise CliError(str(exc)) from None
    _say("demo stopped; nothing is left running")
