"""A client that answers every call the TUI makes from sample data, at a frozen time.

The snapshot tests and `scripts/export_screenshots.py` drive the real app against it, so a
picture changes only when a screen does: no wall clock, no random port, no machine's paths.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gpustack_tui.client import ServerUnavailable
from gpustack_tui.domain.api_key import ApiKeyInfo
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Failure, Instance, Phase
from gpustack_tui.domain.model import SearchHit
from gpustack_tui.domain.user_backend import UserBackend
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import Gpu, GpuHolder, Worker, WorkerState, WorkerStats
from tests.tui.samples import GIB, StubClient, sample_deployments, sample_workers

FROZEN_NOW = 1_795_185_000.0
"""2026-11-20 14:30:00 UTC: every time and age on screen is counted from here."""
SHOWN_URL = "http://127.0.0.1:8400"
"""The server address the title bars show (requests still go to a closed port)."""
HOUR = 3600.0

SAMPLE_LOG = "".join(
    [
        "\x1b[32mINFO\x1b[0m  loading model from /models/qwen2.5-0.5b\n",
        "INFO  architecture Qwen2ForCausalLM, 494M parameters, bf16\n",
        "INFO  KV cache: 24576 tokens fit in the 12.0 GiB claim\n",
        "INFO  listening on 0.0.0.0:40001\n",
        *(f'INFO  127.0.0.1 "POST /v1/chat/completions" 200 {12 + n % 7} ms\n' for n in range(60)),
        "\x1b[33mWARN\x1b[0m  request queue above 8, consider scaling\n",
    ]
)
PREVIOUS_LOG = (
    "INFO  loading model from /models/bge-m3\n"
    "\x1b[31mERROR\x1b[0m torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.0 GiB\n"
)


@contextmanager
def frozen_clock(now: float = FROZEN_NOW) -> Iterator[None]:
    """Make `time.time`, `time.localtime()` and `time.strftime(fmt)` read `now`, in UTC.

    Textual and asyncio time their work with `time.monotonic`, which keeps running; only the
    wall clock that screens print (ages, status line times, "data from HH:MM:SS") stands still.
    """
    real_time, real_localtime, real_strftime = time.time, time.localtime, time.strftime
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    time.time = lambda: now  # type: ignore[assignment]
    time.localtime = lambda secs=None: real_localtime(now if secs is None else secs)  # type: ignore[assignment]
    time.strftime = lambda fmt, t=None: real_strftime(fmt, real_localtime(now) if t is None else t)  # type: ignore[assignment]
    try:
        yield
    finally:
        time.time, time.localtime, time.strftime = real_time, real_localtime, real_strftime
        if old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old_tz
        time.tzset()


PHASES: dict[str, list[tuple[str, float]]] = {
    "chat-a1b2": [
        ("pending", 29 * HOUR),
        ("analyzing", 29 * HOUR - 1),
        ("scheduled", 29 * HOUR - 3),
        ("starting", 29 * HOUR - 4),
        ("loading", 29 * HOUR - 6),
        ("running", 29 * HOUR - 98),
    ],
    "chat-c3d4": [("scheduled", 3 * HOUR + 70), ("loading", 3 * HOUR + 64), ("running", 3 * HOUR)],
    "embed-e5f6": [("scheduled", 10 * 60), ("starting", 10 * 60 - 1), ("loading", 9 * 60)],
    "embed-g7h8": [("scheduled", 9 * 60), ("starting", 9 * 60 - 2), ("loading", 134)],
    "embed-i9j0": [("starting", 2 * HOUR), ("loading", 2 * HOUR - 3), ("running", 90 * 60)],
    "embed-k1l2": [("pending", 4 * 60 + 5)],
}
"""Each sample instance's phases: the word and how long before `FROZEN_NOW` it began; the
instance's own state follows the last one (an error, an unreachable worker)."""


def dated_phases(instance: Instance) -> dict[str, Any]:
    """The phase fields of a sample instance: its run's phases, the current one last."""
    steps = list(PHASES.get(instance.name, []))
    current = instance.state.value if instance.state.value != "starting" else "loading"
    if not steps or steps[-1][0] != current:
        steps.append((current, 3 * 60 if instance.state.value == "error" else HOUR))
    phases = [
        Phase(
            name=name,
            started_at=FROZEN_NOW - ago,
            ended_at=FROZEN_NOW - steps[n + 1][1] if n + 1 < len(steps) else None,
        )
        for n, (name, ago) in enumerate(steps)
    ]
    return {"phases": phases, "phase": phases[-1].name, "phase_since": phases[-1].started_at}


def dated_failures(instance: Instance) -> list[Failure]:
    """The sample failures of an instance that restarted: out of memory, each time."""
    lines = [
        "INFO  loading model from /models/bge-m3",
        "\x1b[31mERROR\x1b[0m torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB",
    ]
    failures = []
    for n in range(instance.restart_count + 1):
        failed = FROZEN_NOW - (instance.restart_count - n) * 10 * 60 - 3 * 60
        latest = n == instance.restart_count
        failures.append(
            Failure(
                failed_at=failed,
                reason="the process exited with code 1",
                exit_code=1,
                log_lines=lines,
                restarted_at=None if latest else failed + 3 * 60,
            )
        )
    return failures[-5:]


def dated_deployments() -> list[DeploymentView]:
    """The sample deployments, their instances created hours before `FROZEN_NOW`, with their
    phases and, for the failing one, its failures."""
    views = []
    for view in sample_deployments():
        instances = [
            i.model_copy(
                update={
                    "created_at": FROZEN_NOW - (30 - i.created_at) * HOUR,
                    "updated_at": FROZEN_NOW - 5 * i.created_at * 60,
                    "last_restart_at": FROZEN_NOW - 10 * 60 if i.restart_count else 0.0,
                    **dated_phases(i),
                    "failures": dated_failures(i) if i.state.value == "error" else [],
                }
            )
            for i in view.instances
        ]
        dates = {"created_at": FROZEN_NOW - 31 * HOUR, "updated_at": FROZEN_NOW - 2 * HOUR}
        views.append(view.model_copy(update={"instances": instances, **dates}))
    return views


def dated_workers() -> list[Worker]:
    """The sample workers, seen a moment before `FROZEN_NOW` (the unreachable one long ago)."""
    return [
        w.model_copy(
            update={
                "last_seen": FROZEN_NOW - (HOUR if w.state is WorkerState.UNREACHABLE else 1),
                "agent_version": "0.1.0",
            }
        )
        for w in sample_workers()
    ]


def live_stats() -> list[WorkerStats]:
    """What the agents report: gpu-a's two H100s busy and warm, the simulated A100 idle."""
    h100 = Gpu(index=0, name="H100", memory_total=80 * GIB)
    return [
        WorkerStats(
            name="gpu-a",
            state=WorkerState.READY,
            at=FROZEN_NOW - 1,
            gpus=[
                h100.model_copy(
                    update={"memory_used": 30 * GIB, "utilization": 41.0, "temperature": 54.0}
                ),
                h100.model_copy(
                    update={
                        "index": 1,
                        "memory_used": 75 * GIB,
                        "utilization": 97.0,
                        "temperature": 81.0,
                    }
                ),
            ],
            cpu_count=64,
            load_average=23.5,
            memory_total=512 * GIB,
            memory_available=301 * GIB,
            holders=[
                GpuHolder(gpu_index=0, instance="chat-a1b2", deployment="chat", claim=12 * GIB),
                GpuHolder(gpu_index=1, instance="embed-e5f6", deployment="embed", claim=12 * GIB),
            ],
        ),
        WorkerStats(
            name="local",
            state=WorkerState.READY,
            at=FROZEN_NOW - 1,
            gpus=[
                Gpu(
                    index=0,
                    name="Simulated A100",
                    memory_total=40 * GIB,
                    memory_used=2 * GIB,
                    utilization=0.0,
                    simulated=True,
                )
            ],
            cpu_count=8,
            load_average=0.4,
            memory_total=32 * GIB,
            memory_available=20 * GIB,
        ),
        WorkerStats(
            name="gpu-c",
            state=WorkerState.UNREACHABLE,
            error="ssh: connection timed out after 10 s",
        ),
    ]


HITS = [
    ("Qwen/Qwen3-0.6B", 4_213_000, 712, "2025-05-21", "text-generation"),
    ("Qwen/Qwen3-8B", 2_044_000, 905, "2025-07-26", "text-generation"),
    ("Qwen/Qwen3-Embedding-0.6B", 1_530_000, 650, "2025-06-20", "feature-extraction"),
    ("Qwen/Qwen3-30B-A3B", 998_000, 801, "2025-07-31", "text-generation"),
    ("Qwen/Qwen3-Reranker-4B", 310_000, 170, "2025-06-09", "text-ranking"),
    ("unsloth/Qwen3-14B-GGUF", 85_000, 90, "2025-08-02", "text-generation"),
]


class ShowcaseClient(StubClient):
    """Answers every call the TUI makes, from memory, as a server with three workers would.

    Writes other than an edit (deploy, scale, delete, ...) are not stubbed: they fail as
    against a stopped server, which no scene needs.
    """

    def __init__(
        self, deployments: list[DeploymentView] | None = None, workers: list[Worker] | None = None
    ) -> None:
        super().__init__(
            dated_deployments() if deployments is None else deployments,
            dated_workers() if workers is None else workers,
        )
        self.base_url = SHOWN_URL
        self.log_text = SAMPLE_LOG

    def get_deployment(self, name: str) -> DeploymentView:
        """One stored deployment."""
        return next(v for v in self.deployments if v.name == name)

    def apply_deployment(self, spec: DeploymentSpec) -> DeploymentView:
        """The stored deployment with the new spec; its instances are untouched (as the server
        does: a new spec reaches new instances only)."""
        stored = self.get_deployment(spec.name)
        return stored.model_copy(update={"spec": spec, "updated_at": FROZEN_NOW})

    def worker_stats(self) -> list[WorkerStats]:
        """Live figures of the sample workers."""
        return live_stats() if self.workers else []

    def read_logs(self, name: str, tail: int | None = None, previous: bool = False) -> str:
        """The log so far, or the previous run's (which ran out of GPU memory)."""
        return PREVIOUS_LOG if previous else self.log_text

    def search_models(self, query: str, source: str = "huggingface", limit: int = 20) -> list:
        """Sample hub hits whose name contains `query`, most downloaded first."""
        return [
            SearchHit(
                source=source, model_id=m, downloads=d, likes=lk, last_modified=u, pipeline_tag=t
            )
            for m, d, lk, u, t in HITS
            if query.lower() in m.lower()
        ][:limit]

    def estimate(self, body: dict[str, Any]) -> dict[str, Any]:
        """Qwen3-0.6B on one GPU of gpu-a."""
        best = {"claim_per_gpu": [12 * GIB], "largest_context": 40960}
        return {
            "metadata": {"weight_bytes": 1_503_300_328, "category": "llm"},
            "gpu_source": "worker gpu-a",
            "estimate": best,
            "minimum": {"gpu_count": 1, "estimate": best, "reasons": []},
        }

    def plan(self, spec: DeploymentSpec) -> dict[str, Any]:
        """The first replica on gpu-a's free GPU; no room for a second."""
        claim = int((spec.advanced.vram_claim_gib or 12) * GIB)
        node = {
            "worker": "gpu-a",
            "gpus": [0],
            "vram_claim_bytes": {"0": claim},
            "ram_claim_bytes": 0,
        }
        fits = {"fits": True, "max_context": 40960, "reasons": [], "nodes": [node]}
        full = {
            "fits": False,
            "nodes": [],
            "max_context": None,
            "reasons": [
                "gpu-a: GPU 1 has 5.0 GiB free, 12.0 GiB needed",
                "local: GPU 0 (simulated) has 38.0 GiB free but is taken by chat-a1b2",
                "gpu-c: unreachable (ssh: connection timed out after 10 s)",
            ],
        }
        return {"replicas": ([fits] + [full] * max(0, spec.replicas - 1))[: spec.replicas]}

    def list_files(
        self,
        path: str,
        worker: str | None = None,
        all_files: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """A models folder with two model directories and a GGUF file."""
        entries = [
            {"name": "bge-m3", "is_dir": True, "size": 0},
            {"name": "qwen2.5-0.5b", "is_dir": True, "size": 0},
            {"name": "tinyllama-1.1b-q4_k_m.gguf", "is_dir": False, "size": 668_788_096},
        ]
        return {"path": path, "where": worker or "server", "entries": entries, "truncated": False}

    def list_keys(self) -> list[ApiKeyInfo]:
        """An application's key, a scoped one used a minute ago, an expired and a revoked one."""
        day = 24 * HOUR
        return [
            ApiKeyInfo(
                id="k1",
                name="chat-app",
                deployments=["chat"],
                created_at=FROZEN_NOW - 9 * day,
                last_used_at=FROZEN_NOW - 60,
            ),
            ApiKeyInfo(
                id="k2",
                name="notebooks",
                created_at=FROZEN_NOW - 30 * day,
                expires_at=FROZEN_NOW + 60 * day,
                last_used_at=FROZEN_NOW - 2 * day,
            ),
            ApiKeyInfo(
                id="k3",
                name="trial",
                created_at=FROZEN_NOW - 40 * day,
                expires_at=FROZEN_NOW - 10 * day,
            ),
            ApiKeyInfo(
                id="k4",
                name="old-ci",
                created_at=FROZEN_NOW - 90 * day,
                revoked_at=FROZEN_NOW - 20 * day,
            ),
        ]

    def usage(self) -> dict[str, Any]:
        """Requests served since the server started, per deployment and per key."""

        def row(by: str, name: str, requests: int, errors: int, p50: float, tokens: int) -> dict:
            return {
                by: name,
                "requests": requests,
                "errors": errors,
                "p50_ms": p50,
                "p90_ms": p50 * 2.1,
                "p99_ms": p50 * 4.6,
                "prompt_tokens": tokens * 3,
                "completion_tokens": tokens,
                "total_tokens": tokens * 4,
            }

        return {
            "deployments": [
                row("deployment", "chat", 18_204, 12, 184.0, 2_950_112),
                row("deployment", "embed", 1_022, 97, 21.5, 0),
            ],
            "keys": [
                row("key", "chat-app", 17_990, 10, 181.0, 2_911_000),
                row("key", "notebooks", 1_236, 99, 35.2, 39_112),
            ],
        }

    def list_backends(self) -> list[UserBackend]:
        """One backend a user defined: llama.cpp's server as a process."""
        return [
            UserBackend(
                name="llama-cpp",
                command="llama-server -m {model_path} --port {port} -ngl 99",
                health_path="/health",
                versions=[{"version": "b6000"}, {"version": "b6123"}],
                default_version="b6123",
                cpu_offloading=True,
            )
        ]


class UnreachableAfterFirst(ShowcaseClient):
    """Answers once, then behaves like a server that went away."""

    def __init__(self) -> None:
        super().__init__()
        self.answered = False

    def list_deployments(self) -> list:
        """The sample once, then ServerUnavailable."""
        if self.answered:
            raise ServerUnavailable(
                "server_unavailable",
                f"no server answers at {SHOWN_URL}: start it with `gpustack-tui server`",
            )
        self.answered = True
        return super().list_deployments()
