"""The Workers view's parts: one table row per worker (state, GPUs, CPU load, RAM, labels) and,
under it, nvtop's GPU block for every worker: one meter line per GPU and who holds it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from gpustack_tui.domain.worker import Gpu, GpuHolder, Worker, WorkerState, WorkerStats
from gpustack_tui.tui.presentation import WORKER_LOOK, flexible, gib, one_line, plain, state_text
from gpustack_tui.tui.widgets.gpu_meter import (
    SIMULATED_MARK,
    USAGE_THRESHOLDS,
    bar,
    gib_short,
    gpu_line,
    holders_line,
    level,
    usage_fraction,
)
from gpustack_tui.tui.widgets.keyed_table import TableRow

LIVE_WORKER_COLUMNS = (
    ("name", "NAME"),
    ("state", "STATE"),
    ("gpus", "GPUS"),
    ("cpu", "CPU LOAD"),
    ("ram", "RAM USED"),
    ("labels", "LABELS"),
)
"""The table's columns; LABELS takes the width left (the state message is in the detail line)."""

SMALL_BAR = 5
COMPACT_WIDTH = 100
"""Below this many columns the CPU and RAM cells drop their bars and GPU names get shorter."""
_VENDOR_WORDS = ("NVIDIA ", "GeForce ", "AMD ", "Radeon ")


def live_gpus(worker: Worker, stats: WorkerStats | None) -> list[Gpu]:
    """The freshest GPU list: the live figures when the agent answered, else the stored one."""
    return stats.gpus if stats is not None and stats.at else worker.gpus


def _small_meter(fraction: float | None, figure: str, compact: bool = False) -> Text:
    lev = level(fraction, USAGE_THRESHOLDS)
    line = Text() if compact else bar(fraction, SMALL_BAR, lev.colour) + Text(" ")
    line.append(f"{figure}{lev.glyph}", style=lev.colour)
    return line


def cpu_cell(worker: Worker, stats: WorkerStats | None, compact: bool = False) -> Text:
    """`▕██▌  ▏ 4.2/16`: the 1-minute load against the CPU count."""
    cpus = (stats.cpu_count if stats else 0) or worker.cpu_count
    load = stats.load_average if stats and stats.at else None
    if load is None:
        return plain(f"{cpus} CPUs" if cpus else "-", style="dim")
    return _small_meter(load / cpus if cpus else None, f"{load:.1f}/{cpus}", compact)


def ram_cell(worker: Worker, stats: WorkerStats | None, compact: bool = False) -> Text:
    """`▕███  ▏ 41/126G`: RAM in use (total minus available)."""
    total = (stats.memory_total if stats else 0) or worker.memory_total
    available = stats.memory_available if stats and stats.at else None
    if available is None:
        return plain(f"{gib(total)} GiB" if total else "-", style="dim")
    used = max(0, total - available)
    figure = f"{gib_short(used)}/{gib_short(total)}G"
    return _small_meter(usage_fraction(used, total), figure, compact)


def short_gpu_name(name: str, limit: int) -> str:
    """`RTX 4090` for `NVIDIA GeForce RTX 4090`: the vendor words go first, then the tail."""
    for word in _VENDOR_WORDS:
        name = name.replace(word, "")
    return one_line(name, limit)


def gpus_cell(gpus: list[Gpu], compact: bool = False) -> Text:
    """`2x A100 simulated`: how many GPUs, the first name, and the simulated mark (`SIM` when
    `compact`)."""
    if not gpus:
        return plain("none", style="dim")
    name = short_gpu_name(gpus[0].name, 10 if compact else 16)
    kinds = {g.name for g in gpus}
    cell = plain(f"{len(gpus)}x {name}" + ("+" if len(kinds) > 1 else ""))
    if any(g.simulated for g in gpus):
        cell.append(f" {SIMULATED_MARK if compact else 'simulated'}", style="bold magenta")
    return cell


def worker_row(worker: Worker, stats: WorkerStats | None, compact: bool = False) -> TableRow:
    """The table row of a worker (`compact` for narrow terminals)."""
    labels = ",".join(f"{k}={v}" for k, v in sorted(worker.labels.items()))
    cells = (
        plain(one_line(worker.name, 24), style="bold"),
        state_text(WORKER_LOOK[worker.state], worker.state.value),
        gpus_cell(live_gpus(worker, stats), compact),
        cpu_cell(worker, stats, compact),
        ram_cell(worker, stats, compact),
        flexible(one_line(labels, 200) or "-"),
    )
    return TableRow(f"worker:{worker.name}", cells)


def worker_table_rows(
    workers: list[Worker], stats: dict[str, WorkerStats], width: int = COMPACT_WIDTH
) -> list[TableRow]:
    """One row per worker, by name, for a table `width` columns wide."""
    compact = width < COMPACT_WIDTH
    return [
        worker_row(w, stats.get(w.name), compact) for w in sorted(workers, key=lambda w: w.name)
    ]


def _worker_heading(worker: Worker, gpus: list[Gpu], width: int, selected: bool) -> Text:
    line = Text("▶ " if selected else "  ", style="bold")
    line.append(one_line(worker.name, 40), style="bold reverse" if selected else "bold")
    line.append(" ")
    line.append_text(state_text(WORKER_LOOK[worker.state], worker.state.value))
    if gpus:
        names = sorted({one_line(g.name, 40) for g in gpus})
        line.append(f"  {len(gpus)} GPU{'s' if len(gpus) != 1 else ''}: {', '.join(names)}")
    if any(g.simulated for g in gpus):
        line.append("  simulated, no real accelerator", style="magenta")
    if worker.state is not WorkerState.READY and worker.state_message:
        line.append(f"  {one_line(worker.state_message, 200)}", style="red")
    line.truncate(width, overflow="ellipsis")
    return line


def gpu_block(
    workers: list[Worker], stats: dict[str, WorkerStats], width: int, selected: str | None
) -> Text:
    """Every worker's GPUs: a heading per worker, a meter line per GPU, its holders beneath."""
    lines: list[Text] = []
    for worker in sorted(workers, key=lambda w: w.name):
        worker_stats = stats.get(worker.name)
        gpus = live_gpus(worker, worker_stats)
        lines.append(_worker_heading(worker, gpus, width, worker.name == selected))
        if not gpus:
            lines.append(Text("   no GPUs (CPU only)", style="dim"))
        stale = worker.state is not WorkerState.READY
        holders: dict[int, list[GpuHolder]] = {}
        for holder in worker_stats.holders if worker_stats else []:
            holders.setdefault(holder.gpu_index, []).append(holder)
        for gpu in gpus:
            line = gpu_line(gpu, width)
            if stale:
                line.stylize("dim")
            lines.append(line)
            held = holders_line(holders.get(gpu.index, []), width)
            if held is not None:
                lines.append(held)
    return Text("\n").join(lines) if lines else Text("no workers", style="dim")


class GpuPanel(VerticalScroll):
    """nvtop's header blocks for every worker's GPUs, scrolled when they do not fit."""

    DEFAULT_CSS = """
    GpuPanel {
        height: 1fr;
        border-top: solid $primary-background-lighten-2;
    }
    GpuPanel > Static {
        width: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[list[Worker], dict[str, WorkerStats], str | None] = ([], {}, None)

    def compose(self) -> ComposeResult:
        """The block's one Static."""
        yield Static(id="gpu-lines", markup=False)

    def show(
        self, workers: list[Worker], stats: dict[str, WorkerStats], selected: str | None
    ) -> None:
        """Redraw the block for these figures, marking the selected worker."""
        self._shown = (workers, stats, selected)
        width = max(40, self.scrollable_content_region.width or self.size.width or 80)
        self.query_one("#gpu-lines", Static).update(gpu_block(workers, stats, width, selected))

    def on_resize(self) -> None:
        """Bars shrink or grow with the terminal."""
        self.show(*self._shown)

    @property
    def text(self) -> str:
        """What the block shows, as plain text (for tests and screen readers)."""
        workers, stats, selected = self._shown
        width = max(40, self.scrollable_content_region.width or 80)
        return gpu_block(workers, stats, width, selected).plain
