"""Running the server in the foreground, and stopping one that runs in the background."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from gpustack_tui.config import Paths
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.access.auth import ensure_token
from gpustack_tui.server.app import InferenceParts, create_app, create_inference_app
from gpustack_tui.server.context import ServerContext
from gpustack_tui.server.control.reconciler import Reconciler
from gpustack_tui.server.proxy.lean_exchange import LeanInference
from gpustack_tui.server.proxy.lean_server import LeanService, serve_lean, tls_context
from gpustack_tui.server.proxy.lean_upstream import UpstreamPool
from gpustack_tui.server.proxy.lean_uvicorn import LeanProtocol
from gpustack_tui.server.state.store import Store
from gpustack_tui.server.workers.sessions import SessionManager

log = logging.getLogger("gpustack_tui.server")

GRACEFUL_STOP_SECONDS = 5
"""How long a stopping server lets the answers being sent finish before it cuts them."""


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


@dataclass(frozen=True)
class InferenceListener:
    """Where the inference routes listen when not beside the management API, and their TLS."""

    host: str
    port: int
    tls_cert: Path | None = None
    tls_key: Path | None = None

    def check(self) -> None:
        """ServerError unless the address is free and the certificate and key are readable."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ServerError("TLS needs both --tls-cert and --tls-key")
        for path in (self.tls_cert, self.tls_key):
            if path is not None and not os.access(path, os.R_OK):
                raise ServerError(f"cannot read {path}: give a readable PEM file")
        _check_port(self.host, self.port, flag="--inference-port")

    @property
    def url(self) -> str:
        """The base URL applications use."""
        return _url(self.host, self.port, "https" if self.tls_cert else "http")


class _Leader(uvicorn.Server):
    """The management listener; `on_exit` runs when a SIGTERM/SIGINT tells it to stop,
    `on_stopped` once its connections are closed and the app's lifespan has ended."""

    on_exit: Callable[[], None] | None = None
    on_stopped: Callable[[], None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self.on_exit is not None:
            self.on_exit()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        if self.on_stopped is not None:
            self.on_stopped()


async def _serve_with_lean(
    leader: _Leader, parts: InferenceParts, inference: InferenceListener, timeout: float | None
) -> None:
    """The management API on uvicorn and the lean inference listener, on one loop.

    The lean listener stops taking connections as soon as the leader is told to stop, and
    finishes the requests it has before the leader's lifespan closes what they use.
    """
    await parts.forwarder.start()  # for the requests the lean path hands to the app
    handler = _lean_inference(parts, timeout)
    tls = None
    if inference.tls_cert is not None and inference.tls_key is not None:
        tls = tls_context(str(inference.tls_cert), str(inference.tls_key))
    service = LeanService(handler, parts.fast(create_inference_app(parts)), tls=tls is not None)
    listener = await serve_lean(service, inference.host, inference.port, tls)
    leader.on_exit = listener.close
    try:
        await leader.serve()
    finally:
        listener.close()
        await service.close(grace=5.0)
        handler.pool.close()


def _lean_inference(parts: InferenceParts, timeout: float | None) -> LeanInference:
    """The lean handler of the inference routes, on the parts the app serves them with."""
    pool = UpstreamPool(read_timeout=timeout)
    return LeanInference(parts.table, keys=parts.keys, usage=parts.usage, pool=pool)


def _check_port(host: str, port: int, flag: str = "--port") -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServerError(
                    f"port {port} on {host} is in use: choose another with {flag}"
                ) from exc
            raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _config(app: ASGIApp, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for the server's main port (`options`: more of them)."""
    # proxy_headers off: nothing sits in front of this server, and the proxy passes the real
    # peer on in X-Forwarded-For itself. A stop waits this long for answers being sent (a
    # followed log never ends by itself).
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
        **options,
    )


def _url(host: str, port: int, scheme: str = "http") -> str:
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return f"{scheme}://{shown}:{port}"


def run_server(
    paths: Paths,
    host: str,
    port: int,
    add_local_worker: bool = True,
    *,
    inference: InferenceListener | None = None,
    upstream_timeout: float | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT. Instances keep running after the server stops.

    The inference routes (/v1, /model/proxy) are answered by the lean listener
    (proxy/lean_server.py: httptools on a plain asyncio Protocol, measured by
    benchmarks/bench_proxy.py). Without `inference` it is the main port's HTTP protocol under
    uvicorn, handing the management API to the app. With `inference`, it listens there
    instead, in this process and on the same event loop, and the management API stays on
    `host` on uvicorn's own protocol: two sockets, so no request can reach the management API
    through the network-facing address whatever its Host header says. `upstream_timeout`
    (seconds) bounds the wait for an instance's answer (504 after it); None waits as long as
    the instance thinks.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    paths.ensure()
    lock = _lock(paths)
    try:
        _check_port(host, port)
        if inference is not None:
            inference.check()
        token = ensure_token(paths)
        store = Store(paths.database)
        if store.created and add_local_worker:
            store.add_worker(Worker(name="local", destination="local", transport="local"))
            log.info("new installation: the head node is the worker 'local'")
        sessions = SessionManager(store, paths)
        context = ServerContext(paths, store, sessions, Reconciler(store, sessions), token)
        parts = InferenceParts.for_context(context, upstream_timeout)
        app = create_app(
            context,
            on_shutdown=lambda: _forget_server_file(paths),
            inference=parts,
            serve_inference=inference is None,
        )
        url = _url(host, port)
        endpoint = inference.url if inference is not None else url
        paths.server_file.write_text(
            json.dumps({"url": url, "pid": os.getpid(), "inference_url": endpoint})
        )
        log.info("serving %s (data dir %s)", url, paths.data_dir)
        if inference is None:
            served = parts.fast(app)
            lean = _lean_inference(parts, upstream_timeout)
            http = LeanProtocol(LeanService(lean, served))
            leader = _Leader(_config(served, host, port, http=http))
            leader.on_stopped = lean.pool.close
            leader.run()
            return
        config = _config(app, host, port)
        log.info("inference routes on %s (lean listener)", inference.url)
        factory = config.get_loop_factory()
        loop = factory() if factory is not None else asyncio.new_event_loop()
        try:
            loop.run_until_complete(
                _serve_with_lean(_Leader(config), parts, inference, upstream_timeout)
            )
        finally:
            loop.close()
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
