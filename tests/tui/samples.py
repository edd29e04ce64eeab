"""Sample model objects for TUI tests and screenshots (no server needed)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

from gpustack_tui.client import Client
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import Gpu, Worker, WorkerState

GIB = 1024**3


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StubClient(Client):
    """Answers list calls from memory (for views that need a quiet, answering server)."""

    def __init__(self, deployments: list | None = None, workers: list | None = None) -> None:
        super().__init__(f"http://127.0.0.1:{closed_port()}", None, timeout=2)
        self.deployments = deployments or []
        self.workers = workers or []
        self.log_text = ""
        self.closed = threading.Event()

    def list_deployments(self) -> list:
        """The stored deployments."""
        return list(self.deployments)

    def list_workers(self) -> list:
        """The stored workers."""
        return list(self.workers)

    def follow_logs(
        self, name: str, tail: int | None = None, on_open: Callable | None = None
    ) -> Iterator[str]:
        """`self.log_text`, then nothing more until the client is closed or `on_open`'s
        function ends the stream (a quiet instance), as the real client does."""
        ended = threading.Event()
        if on_open is not None:
            on_open(ended.set)
        yield self.log_text
        while not ended.wait(0.05) and not self.closed.is_set():
            pass

    def close(self) -> None:
        """End any log stream."""
        self.closed.set()
        super().close()


def spec(name: str, replicas: int = 1, path: str = "/models/qwen2.5-0.5b") -> DeploymentSpec:
    """A custom-backend deployment of a local model."""
    return DeploymentSpec.model_validate(
        {
            "name": name,
            "source": {"local_path": path},
            "replicas": replicas,
            "advanced": {"command": "python -m server --model {model_path} --port {port}"},
        }
    )


def instance(
    name: str,
    deployment: str,
    state: InstanceState = InstanceState.RUNNING,
    message: str = "",
    worker: str | None = "gpu-a",
    port: int | None = 40001,
    restarts: int = 0,
    created: float = 0.0,
) -> Instance:
    """An instance on one GPU."""
    return Instance(
        name=name,
        deployment=deployment,
        state=state,
        state_message=message,
        worker=worker,
        gpu_indexes=[0] if worker else [],
        vram_claim=12 * GIB if worker else 0,
        port=port,
        restart_count=restarts,
        created_at=created,
    )


def sample_deployments() -> list[DeploymentView]:
    """Two deployments: one healthy, one with a failing and a starting instance."""
    return [
        DeploymentView(
            spec=spec("chat", 2),
            instances=[
                instance("chat-a1b2", "chat", created=1),
                instance("chat-c3d4", "chat", worker="gpu-b", port=40002, created=2),
            ],
        ),
        DeploymentView(
            spec=spec("embed", 3, "/models/bge-m3"),
            instances=[
                instance(
                    "embed-e5f6",
                    "embed",
                    InstanceState.ERROR,
                    "exited with code 1: CUDA out of memory",
                    restarts=3,
                    created=1,
                ),
                instance(
                    "embed-g7h8",
                    "embed",
                    InstanceState.STARTING,
                    "waiting for /health",
                    port=40003,
                    created=2,
                ),
                instance(
                    "embed-i9j0",
                    "embed",
                    InstanceState.UNREACHABLE,
                    "worker gpu-c does not answer",
                    worker="gpu-c",
                    created=3,
                ),
                instance(
                    "embed-k1l2",
                    "embed",
                    InstanceState.PENDING,
                    "no GPU with 12.0 GiB free",
                    worker=None,
                    port=None,
                    created=4,
                ),
            ],
        ),
    ]


def sample_workers() -> list[Worker]:
    """A real GPU worker, a simulated one, and an unreachable one."""
    return [
        Worker(
            name="gpu-a",
            destination="root@10.0.0.11",
            state=WorkerState.READY,
            gpus=[
                Gpu(
                    index=0,
                    name="H100",
                    memory_total=80 * GIB,
                    memory_used=30 * GIB,
                    utilization=41,
                ),
                Gpu(
                    index=1,
                    name="H100",
                    memory_total=80 * GIB,
                    memory_used=75 * GIB,
                    utilization=97,
                ),
            ],
            cpu_count=64,
            memory_total=512 * GIB,
            labels={"rack": "r1"},
        ),
        Worker(
            name="local",
            destination="local",
            transport="local",
            state=WorkerState.READY,
            gpus=[Gpu(index=0, name="Simulated A100", memory_total=40 * GIB, simulated=True)],
            cpu_count=8,
            memory_total=32 * GIB,
        ),
        Worker(
            name="gpu-c",
            destination="ops@10.0.0.13:2222",
            state=WorkerState.UNREACHABLE,
            state_message="ssh: connection timed out after 10 s",
        ),
    ]
