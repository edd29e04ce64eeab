"""Bring up and take down the demo: a private server with simulated workers and deployments.

The installation lives in a data dir of its own (a new temporary folder unless one is given) and
its server listens on a port of its own, so it never touches the user's installation. Stopping
deletes the demo deployments (their backends stop), stops the server (its local agents exit with
it) and removes the temporary folder: nothing is left running.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gpustack_tui.client import ApiError, Client
from gpustack_tui.config import Paths, resolve_paths, server_url
from gpustack_tui.demo.fleet import FLEET, Activity, agent_home, prepare
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.launcher import ServerStartFailed, server_answers

STARTUP_SECONDS = 30.0
RUNNING_SECONDS = 60.0
STOP_SECONDS = 30.0
DEMO_KEY = "demo"
TEMPORARY_PREFIX = "gpustack-tui-demo-"


def backend_command() -> str:
    """The built-in backend as a deployment's command line ({port} and {model_name} filled in
    by the server)."""
    python = shlex.quote(sys.executable)
    return f"{python} -m gpustack_tui.demo.backend --port {{port}} --model-name {{model_name}}"


def demo_specs(model_dir: Path) -> list[DeploymentSpec]:
    """Two deployments of the built-in backend: a chat model on both A100s, an embedding model
    on one RTX 4090."""

    def spec(name: str, replicas: int, gib: float, gpu: str, category: str) -> DeploymentSpec:
        return DeploymentSpec.model_validate(
            {
                "name": name,
                "source": {"local_path": str(model_dir)},
                "replicas": replicas,
                "scheduling": {"worker_selector": {"gpu": gpu}, "gpus_per_replica": 1},
                "advanced": {
                    "command": backend_command(),
                    "vram_claim_gib": gib,
                    "category": category,
                },
            }
        )

    return [
        spec("demo-chat", 2, 38.0, "a100", "llm"),
        spec("demo-embed", 1, 6.0, "rtx4090", "embedding"),
    ]


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_model(data_dir: Path) -> Path:
    """A small model folder the demo deployments point at (the built-in backend needs no
    weights)."""
    folder = data_dir / "models" / "demo-model"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"architectures": ["DemoForCausalLM"]}\n')
    (folder / "README.md").write_text("Files of the gpustack-tui demo: no real weights.\n")
    return folder


@dataclass
class Demo:
    """A running demo installation."""

    data_dir: Path
    url: str
    process: subprocess.Popen[bytes]
    temporary: bool
    api_key: str = ""
    deployments: list[str] = field(default_factory=list)
    activity: Activity | None = None

    @property
    def paths(self) -> Paths:
        """The installation's folders."""
        return resolve_paths(self.data_dir)

    def client(self, timeout: float = 15.0) -> Client:
        """A management client with the installation's token."""
        return Client.for_paths(self.paths, self.url, timeout=timeout)

    def stop(self, say: Callable[[str], None] = lambda _: None) -> None:
        """Delete the demo deployments, wait until their instances are gone, stop the server,
        and remove the folder if it was a temporary one."""
        if self.activity is not None:
            self.activity.stop()
        if self.process.poll() is None:
            say("stopping the demo deployments…")
            with self.client(timeout=10.0) as client:
                _delete_deployments(client, self.data_dir)
            say("stopping the demo server…")
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.temporary:
            _remove_tree(self.data_dir)


def _delete_deployments(client: Client, data_dir: Path) -> None:
    """Delete every deployment and wait until the demo agents hold no workload."""
    try:
        for view in client.list_deployments():
            client.delete_deployment(view.spec.name)
        # The rows go at once; the reconciler stops the workloads on its next pass.
        deadline = time.monotonic() + STOP_SECONDS
        while _workloads_left(data_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
    except ApiError:
        pass  # the server is gone already: stopping it is all that is left


def _workloads_left(data_dir: Path) -> list[str]:
    """The workloads the demo agents still hold (the agent removes a workload's folder once
    it stopped it)."""
    return sorted(p.name for p in data_dir.glob("local-agent-*/workloads/*") if p.is_dir())


def _remove_tree(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """`gpustack-tui server` for the demo: no `local` worker, processes as the runtime."""
    paths = resolve_paths(data_dir).ensure()
    env = {**os.environ, "GPUSTACK_AGENT_RUNTIME": "process"}
    env.pop("GPUSTACK_AGENT_SIMULATED_GPUS", None)  # each agent home has its own list
    log = open(paths.server_log, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gpustack_tui",
                "server",
                "--data-dir",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-local-worker",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
        )
    finally:
        log.close()


def wait_for(
    what: str, check: Callable[[], bool], seconds: float, process: subprocess.Popen[bytes]
) -> None:
    """Poll `check` until true; ServerStartFailed when the server exits or time runs out."""
    deadline = time.monotonic() + seconds
    while not check():
        if process.poll() is not None:
            raise ServerStartFailed(f"the demo server exited ({process.returncode}) {what}")
        if time.monotonic() > deadline:
            raise ServerStartFailed(f"the demo timed out after {seconds:.0f} s {what}")
        time.sleep(0.2)


def start_demo(data_dir: Path | None = None, say: Callable[[str], None] = lambda _: None) -> Demo:
    """Start the demo server, add the simulated workers, deploy the demo models and wait until
    they run. On any failure everything started so far is stopped again."""
    temporary = data_dir is None
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX))
    data_dir = data_dir.resolve()
    prepare(data_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    say(f"starting a demo server at {url} (data in {data_dir})…")
    demo = Demo(data_dir, url, start_server(data_dir, port), temporary)
    try:
        wait_for("before answering", lambda: server_answers(url), STARTUP_SECONDS, demo.process)
        _populate(demo, say)
    except BaseException:
        demo.stop()
        raise
    return demo


def _running(client: Client, name: str) -> bool:
    view = client.get_deployment(name)
    running = [i for i in view.instances if i.state is InstanceState.RUNNING]
    return len(running) == view.spec.replicas


def _populate(demo: Demo, say: Callable[[str], None]) -> None:
    with demo.client() as client:
        for worker in FLEET:
            say(f"adding simulated worker {worker.name}…")
            client.add_worker(worker.destination, worker.name)
            client.set_worker_labels(worker.name, worker.labels)
        figures = demo.client(timeout=5.0)
        demo.activity = Activity(demo.data_dir, figures.list_instances, on_stop=figures.close)
        model = write_model(demo.data_dir)
        for spec in demo_specs(model):
            # One at a time, so that the demo says which one it waits for.
            say(f"deploying {spec.name} and waiting for it to run…")
            client.create_deployment(spec)
            demo.deployments.append(spec.name)
            try:
                wait_for(
                    f"before {spec.name} ran",
                    functools.partial(_running, client, spec.name),
                    RUNNING_SECONDS,
                    demo.process,
                )
            except ServerStartFailed as exc:
                states = [
                    f"{i.name} {i.state.value} {i.state_message}".strip()
                    for i in client.get_deployment(spec.name).instances
                ]
                raise ServerStartFailed(f"{exc} ({'; '.join(states) or 'no instances'})") from None
        demo.api_key = client.create_key(DEMO_KEY).key
    demo.activity.start()


def is_demo_folder(data_dir: Path) -> bool:
    """Whether `data_dir` holds a demo installation (the simulated workers' agent homes)."""
    return all(agent_home(data_dir, worker).is_dir() for worker in FLEET)


def is_temporary_demo_folder(data_dir: Path) -> bool:
    """Whether `data_dir` is a folder `start_demo` made in the temporary folder."""
    return data_dir.parent == Path(tempfile.gettempdir()).resolve() and data_dir.name.startswith(
        TEMPORARY_PREFIX
    )


def end_kept_demo(data_dir: Path, stop_server: Callable[[Paths], bool]) -> None:
    """End a demo left running with --keep: delete its deployments, wait until their backends
    stopped, stop its server with `stop_server`, and remove the folder if it was temporary."""
    paths = resolve_paths(data_dir)
    url = server_url(paths)
    if server_answers(url):
        with Client.for_paths(paths, url, timeout=10.0) as client:
            _delete_deployments(client, data_dir)
    stop_server(paths)
    if is_temporary_demo_folder(data_dir):
        _remove_tree(data_dir)
