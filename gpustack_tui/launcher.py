"""Find the installation's server, or start one in the background.

Used by the TUI and the CLI; it never imports the server package, it runs it as a process that
outlives the TUI (quitting the TUI leaves the server and every instance running).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx

from gpustack_tui.config import DEFAULT_HOST, DEFAULT_PORT, Paths, server_url


class ServerStartFailed(RuntimeError):
    """The background server did not come up; the message points at its log."""


def server_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether a gpustack-tui server answers its health check at `url`."""
    try:
        response = httpx.get(f"{url}/healthz", timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json().get("service") == "gpustack-tui"


def ensure_server(
    paths: Paths, url: str | None = None, wait_seconds: float = 20.0
) -> tuple[str, bool]:
    """Return (url, started): the server's URL, and whether this call started it."""
    target = server_url(paths, url)
    if server_answers(target):
        return target, False
    parts = urlsplit(target)
    host = parts.hostname or DEFAULT_HOST
    port = parts.port or DEFAULT_PORT
    paths.ensure()
    log = open(paths.server_log, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gpustack_tui",
                "server",
                *paths.server_args(),
                "--host",
                host,
                "--port",
                str(port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=os.environ.copy(),
        )
    finally:
        log.close()
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if server_answers(target):
            return target, True
        time.sleep(0.2)
    raise ServerStartFailed(
        f"started a server for {target} but it did not answer within {wait_seconds:.0f} s; "
        f"see its log: {paths.server_log}"
    )
