"""The demo's simulated workers: their GPUs, labels, and a little activity on them.

Each worker is a local agent (`local:NAME`) whose agent home holds `simulated-gpus.json`; the
agent reports exactly that list, every GPU marked simulated. While the demo runs, `Activity`
rewrites the files so the meters move: memory used is what the instances on a GPU claim, and
utilisation and temperature rise on GPUs that hold an instance.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gpustack_tui.domain.instance import Instance
from gpustack_tui.domain.units import GIB

SIMULATED_FILE = "simulated-gpus.json"
"""The file the agent reads in its home (agent/gpu/simulated.py)."""


@dataclass(frozen=True)
class SimulatedWorker:
    """One demo worker: its name, GPU model and memory, how many GPUs, and labels."""

    name: str
    gpu_name: str
    gpu_memory: int
    gpu_count: int
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def destination(self) -> str:
        """`local:NAME`: an agent of its own on this machine, no SSH."""
        return f"local:{self.name}"


FLEET = (
    SimulatedWorker(
        "sim-a100", "NVIDIA A100-SXM4-80GB", 80 * GIB, 2, {"gpu": "a100", "demo": "yes"}
    ),
    SimulatedWorker(
        "sim-4090", "NVIDIA GeForce RTX 4090", 24 * GIB, 4, {"gpu": "rtx4090", "demo": "yes"}
    ),
    SimulatedWorker("sim-cpu", "", 0, 0, {"demo": "yes"}),
)
"""2x 80 GiB, 4x 24 GiB and a CPU-only worker."""

IDLE_MEMORY = 512 * 1024**2
"""What a simulated GPU shows in use with nothing on it (a driver's reservation)."""


def agent_home(data_dir: Path, worker: SimulatedWorker) -> Path:
    """Where the server runs this worker's agent (see server/workers/connect.py)."""
    return data_dir / f"local-agent-{worker.name}"


def gpu_entries(
    worker: SimulatedWorker, claims: dict[int, int], busy: dict[int, float]
) -> list[dict[str, object]]:
    """The simulated-GPU list of a worker: `claims` bytes and `busy` utilisation per index."""
    entries = []
    for index in range(worker.gpu_count):
        used = min(worker.gpu_memory, IDLE_MEMORY + claims.get(index, 0))
        utilization = round(busy.get(index, 0.0), 1)
        entries.append(
            {
                "name": worker.gpu_name,
                "memory_total": worker.gpu_memory,
                "memory_used": used,
                "utilization": utilization,
                "temperature": round(31 + utilization * 0.52, 1),
                "uuid": f"GPU-simulated-{worker.name}-{index}",
            }
        )
    return entries


def write_gpus(home: Path, entries: list[dict[str, object]]) -> None:
    """Replace the agent home's simulated-GPU file at once (the agent never reads half a file)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = home / f".{SIMULATED_FILE}.tmp"
    temporary.write_text(json.dumps(entries, indent=1), encoding="utf-8")
    os.replace(temporary, home / SIMULATED_FILE)


def prepare(data_dir: Path, fleet: tuple[SimulatedWorker, ...] = FLEET) -> None:
    """Write every worker's idle GPU list before its agent starts."""
    for worker in fleet:
        write_gpus(agent_home(data_dir, worker), gpu_entries(worker, {}, {}))


def load_wave(now: float, index: int, period: float = 23.0) -> float:
    """A busy GPU's utilisation in percent: between 35 and 97, different per GPU."""
    phase = 2 * math.pi * (now / period + index * 0.37)
    return 66 + 31 * math.sin(phase) * abs(math.cos(phase / 3))


class Activity:
    """A thread that keeps the simulated figures in step with the placed instances."""

    def __init__(
        self,
        data_dir: Path,
        instances: Callable[[], list[Instance]],
        fleet: tuple[SimulatedWorker, ...] = FLEET,
        interval: float = 1.0,
        on_stop: Callable[[], None] = lambda: None,
    ) -> None:
        self.data_dir = data_dir
        self.on_stop = on_stop
        self.instances = instances
        self.fleet = fleet
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-activity", daemon=True)

    def start(self) -> None:
        """Begin updating, every `interval` seconds."""
        self._thread.start()

    def stop(self) -> None:
        """Stop updating (the files keep their last figures)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.on_stop()

    def step(self, now: float) -> None:
        """Write one round of figures."""
        placed = self.instances()
        for worker in self.fleet:
            if not worker.gpu_count:
                continue
            claims: dict[int, int] = {}
            busy: dict[int, float] = {}
            for instance in placed:
                if instance.worker != worker.name:
                    continue
                for index in instance.gpu_indexes:
                    claims[index] = claims.get(index, 0) + instance.vram_claim
                    busy[index] = load_wave(now, index)
            write_gpus(agent_home(self.data_dir, worker), gpu_entries(worker, claims, busy))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step(time.time())
            except Exception:  # a failed round (server busy, file race) only skips a beat
                continue
