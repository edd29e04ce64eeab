"""Running the server in the foreground, and stopping one that runs in the background."""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import signal
import socket
import time
from pathlib import Path

import uvicorn

from gpustack_tui.config import Paths
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.app import create_app
from gpustack_tui.server.auth import ensure_token
from gpustack_tui.server.context import ServerContext
from gpustack_tui.server.reconciler import Reconciler
from gpustack_tui.server.sessions import SessionManager
from gpustack_tui.server.store import Store

log = logging.getLogger("gpustack_tui.server")


class ServerError(RuntimeError):
    """The server cannot start; the message says why and what to do."""


def _lock(paths: Paths) -> int:
    """Hold the installation's lock for the server's life: one server per data dir."""
    fd = os.open(paths.state_dir / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise ServerError(
            f"another server already runs for {paths.data_dir}: "
            "stop it with `gpustack-tui server stop`"
        ) from exc
    return fd


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServerError(
                    f"port {port} on {host} is in use: choose another with --port"
                ) from exc
            raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return f"http://{shown}:{port}"


def run_server(paths: Paths, host: str, port: int, add_local_worker: bool = True) -> None:
    """Serve until SIGTERM/SIGINT. Instances keep running after the server stops."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    paths.ensure()
    lock = _lock(paths)
    try:
        _check_port(host, port)
        token = ensure_token(paths)
        store = Store(paths.database)
        if store.created and add_local_worker:
            store.add_worker(Worker(name="local", destination="local", transport="local"))
            log.info("new installation: the head node is the worker 'local'")
        sessions = SessionManager(store, paths)
        context = ServerContext(paths, store, sessions, Reconciler(store, sessions), token)
        app = create_app(context, on_shutdown=lambda: _forget_server_file(paths))
        url = _url(host, port)
        paths.server_file.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        log.info("serving %s (data dir %s)", url, paths.data_dir)
        config = uvicorn.Config(app, host=host, port=port, log_level="info", access_log=False)
        uvicorn.Server(config).run()
    finally:
        _forget_server_file(paths)
        os.close(lock)


def _forget_server_file(paths: Paths) -> None:
    try:
        if json.loads(paths.server_file.read_text()).get("pid") == os.getpid():
            paths.server_file.unlink()
    except (OSError, ValueError):
        pass


def running_pid(paths: Paths) -> int | None:
    """The pid of this installation's running server, if one runs."""
    try:
        pid = int(json.loads(paths.server_file.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if _alive(pid) and _is_our_server(pid) else None


def _alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (exited, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _is_our_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the file
    return any(b"gpustack" in part for part in cmdline)


def stop_server(paths: Paths, timeout: float = 20.0) -> bool:
    """Stop the installation's server; False if none was running."""
    pid = running_pid(paths)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    raise ServerError(f"the server (pid {pid}) did not stop within {timeout:.0f} s")
