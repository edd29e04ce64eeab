"""One placement decision on large clusters. Run: python benchmarks/bench_scheduler.py

Prints the median and p95 of `place()` (spread and binpack) on 64 x 8 and 1,000 x 8 GPUs with
4,000 existing instances, and the cost of building the snapshot and load from stored workers and
instances (once per reconcile pass). Goals: 1.3 ms at 64 x 8, under 10 ms at 1,000 x 8.
"""

from __future__ import annotations

import random
import statistics
import time

from gpustack_tui.domain.instance import Instance
from gpustack_tui.domain.units import GIB
from gpustack_tui.domain.worker import Gpu, Worker, WorkerState
from gpustack_tui.scheduler.model import Request
from gpustack_tui.scheduler.schedule import place
from gpustack_tui.scheduler.scoring import Load
from gpustack_tui.scheduler.snapshot import placed_instances, worker_snapshots

G80 = 80 * GIB


def cluster(workers: int, gpus: int, instances: int) -> tuple[list[Worker], list[Instance]]:
    """Workers with `gpus` 80 GiB GPUs; `instances` small claims spread at random."""
    rng = random.Random(7)
    stored = [
        Worker(
            name=f"w{n:04d}",
            destination=f"w{n}",
            state=WorkerState.READY,
            memory_total=1024 * GIB,
            gpus=[Gpu(index=i, name="H100", memory_total=G80) for i in range(gpus)],
        )
        for n in range(workers)
    ]
    placed = [
        Instance(
            name=f"i{k}",
            deployment=f"d{k % 50}",
            worker=f"w{rng.randrange(workers):04d}",
            gpu_indexes=[rng.randrange(gpus)],
            vram_claim=GIB,
        )
        for k in range(instances)
    ]
    return stored, placed


def timed(fn, rounds: int) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    """Print the figures."""
    print(
        f"{'cluster':<22}{'strategy':<12}{'decision p50':>12}{'p95':>10}"
        f"{'+ snapshot and load p50':>26}"
    )
    for workers, gpus, rounds in ((64, 8, 300), (1000, 8, 40)):
        stored, instances = cluster(workers, gpus, 4000)
        placed = placed_instances(instances)
        snapshots = worker_snapshots(stored, placed)
        load = Load.of(placed)
        for strategy, share in (("spread", 0.0), ("binpack", 0.0), ("spread", 0.9)):
            # share 0.9: a vLLM replica, whose GPUs must each have 90% unclaimed.
            request = Request(
                "d1",
                vram=20 * GIB,
                placement=strategy,  # type: ignore[arg-type]
                utilization=share,
                tp_divisors=(32, 151936) if share else (),
            )
            p50, p95 = timed(lambda r=request, s=snapshots, ld=load: place(r, s, ld), rounds)

            def decision(r: Request = request, st=stored, inst=instances) -> None:
                now = placed_instances(inst)
                place(r, worker_snapshots(st, now), Load.of(now))

            full, _ = timed(decision, rounds)
            label = f"{workers} x {gpus}, 4000 inst"
            name = f"{strategy} {share:.0%}" if share else strategy
            print(f"{label:<22}{name:<12}{p50:>9.2f} ms{p95:>7.2f} ms{full:>23.2f} ms")
    print("decision: place() on the pass's snapshot and load, as the server does per instance;")
    print("+ snapshot and load: building both from stored workers and instances (once per pass).")


if __name__ == "__main__":
    main()
