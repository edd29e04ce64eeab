"""How deployments, instances and workers read in a table: glyphs, colours, short numbers.

Pure functions from domain objects to Rich `Text` cells, so they are tested without a terminal.
Colour is never the only signal: every state also has its own glyph and word.
"""

from __future__ import annotations

import time

from rich.text import Text

from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.phase_text import state_label
from gpustack_tui.domain.text import sanitize_terminal_text
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import Gpu, Worker, WorkerState

GIB = 1024**3

RUNNING = ("●", "green")
IN_PROGRESS = ("◐", "yellow")
FAILED = ("✖", "red")
LOST = ("?", "magenta")
STOPPED = ("○", "dim")

INSTANCE_LOOK: dict[InstanceState, tuple[str, str]] = {
    InstanceState.RUNNING: RUNNING,
    InstanceState.PENDING: IN_PROGRESS,
    InstanceState.ANALYZING: IN_PROGRESS,
    InstanceState.SCHEDULED: IN_PROGRESS,
    InstanceState.DOWNLOADING: IN_PROGRESS,
    InstanceState.STARTING: IN_PROGRESS,
    InstanceState.ERROR: FAILED,
    InstanceState.UNREACHABLE: LOST,
}

WORKER_LOOK: dict[WorkerState, tuple[str, str]] = {
    WorkerState.READY: RUNNING,
    WorkerState.CONNECTING: IN_PROGRESS,
    WorkerState.UNREACHABLE: LOST,
}

DEPLOYMENT_COLUMNS = (
    ("name", "NAME"),
    ("state", "STATE"),
    ("worker", "WORKER"),
    ("gpus", "GPUS"),
    ("port", "PORT"),
    ("restarts", "RST"),
    ("details", "DETAILS"),
)
"""The headers are short so that the table fits 80 columns (RST: restarts).

Deployment rows fill NAME, STATE (with running/desired replicas) and DETAILS (backend and
source); instance rows every column (STATE: the phase and its time; DETAILS: the message)."""

DETAILS_WIDTH = 160
"""Details longer than this are cut before the table cuts them to the terminal's width;
the detail line under the table shows them whole."""

WORKER_COLUMNS = (
    ("name", "NAME"),
    ("state", "STATE"),
    ("address", "ADDRESS"),
    ("gpus", "GPUS"),
    ("cpu", "CPU"),
    ("ram", "RAM"),
    ("labels", "LABELS"),
    ("message", "MESSAGE"),
)


def one_line(text: str, limit: int = 80) -> str:
    """Text from a worker made safe and short: no escapes, no line breaks, at most `limit` cells."""
    flat = " ".join(sanitize_terminal_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def shorten_left(text: str, limit: int) -> str:
    """Keep the end of a long path (the model's directory name matters most)."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def plain(text: str, style: str = "") -> Text:
    """A cell that is never read as markup (names and messages may contain brackets)."""
    return Text(text, style=style)


def flexible(text: str, style: str = "") -> Text:
    """A cell of the table's flexible column: cut with an ellipsis to the width there is."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def gib(size_bytes: int) -> str:
    """Bytes as GiB with one decimal: `12.0`."""
    return f"{size_bytes / GIB:.1f}"


def short_gib(size_bytes: int) -> str:
    """GiB without a needless decimal: `12`, `7.5`."""
    text = gib(size_bytes)
    return text.removesuffix(".0")


def state_text(glyph_colour: tuple[str, str], word: str) -> Text:
    """A glyph and a word in one colour, e.g. a green `● running`."""
    glyph, colour = glyph_colour
    return Text(f"{glyph} {word}", style=colour)


def instance_state(instance: Instance, now: float | None = None) -> Text:
    """The state cell of an instance row: the glyph, then its phase with the time spent in it
    (`◐ loading 2m14s`), counted to `now` (default: the clock)."""
    label = state_label(instance, time.time() if now is None else now)
    return state_text(INSTANCE_LOOK[instance.state], label)


STATE_SEVERITY = [
    InstanceState.ERROR,
    InstanceState.UNREACHABLE,
    InstanceState.PENDING,
    InstanceState.ANALYZING,
    InstanceState.SCHEDULED,
    InstanceState.DOWNLOADING,
    InstanceState.STARTING,
    InstanceState.RUNNING,
]
"""Instance states, the worst first: a deployment shows (and sorts by) its worst instance."""


def deployment_state(view: DeploymentView) -> Text:
    """The state cell of a deployment row: its worst instance; at 0 replicas `stopped (N)` when
    Stop remembered N replicas for Start, plain `stopped` when scaled to 0 by hand."""
    if view.spec.replicas == 0:
        if view.instances:
            return state_text(IN_PROGRESS, "stopping")
        if view.stopped_replicas:
            return state_text(STOPPED, f"stopped ({view.stopped_replicas})")
        return state_text(STOPPED, "stopped")
    if not view.instances:
        return state_text(IN_PROGRESS, "pending")
    worst = min(view.instances, key=lambda i: STATE_SEVERITY.index(i.state)).state
    if worst is InstanceState.RUNNING and view.running < view.spec.replicas:
        return state_text(IN_PROGRESS, "scaling")
    return state_text(INSTANCE_LOOK[worst], worst.value)


def ready_text(view: DeploymentView) -> Text:
    """`running/desired`, green when every wanted replica serves, yellow otherwise."""
    ready, wanted = view.running, view.spec.replicas
    style = "green" if ready == wanted and wanted > 0 else ("dim" if wanted == 0 else "yellow")
    return Text(f"{ready}/{wanted}", style=style)


def source_text(view: DeploymentView) -> str:
    """Where the model comes from, short: `local:/models/…/qwen`."""
    source = view.spec.source
    prefix = {"local_path": "local", "huggingface": "hf", "modelscope": "ms"}[source.kind]
    return f"{prefix}:{shorten_left(source.value, 60)}"


def deployment_cells(view: DeploymentView) -> tuple:
    """The cells of a deployment row, in `DEPLOYMENT_COLUMNS` order; the state cell ends with
    its running/desired replicas (`✖ error 0/3`) unless it has none."""
    details = flexible(view.spec.backend, style="cyan")
    details.append(f" {source_text(view)}", style="")
    blank = plain("")
    state = deployment_state(view)
    if view.spec.replicas:
        state = Text.assemble(state, " ", ready_text(view))
    return (
        plain(view.name, style="bold"),
        state,
        blank,
        blank,
        blank,
        blank,
        details,
    )


def instance_cells(instance: Instance, last: bool) -> tuple:
    """The cells of an instance row (indented under its deployment)."""
    branch = "└─" if last else "├─"
    gpus = ",".join(str(i) for i in instance.gpu_indexes)
    if gpus and instance.vram_claim:
        gpus = f"{gpus} {short_gib(instance.vram_claim)}G"
    restarts = plain(str(instance.restart_count), style="yellow" if instance.restart_count else "")
    message_style = "red" if instance.state is InstanceState.ERROR else ""
    return (
        plain(f" {branch} {instance.name}"),
        instance_state(instance),
        plain(instance.placement_text),
        plain(gpus or "-"),
        plain(str(instance.port) if instance.port else "-"),
        restarts,
        flexible(one_line(instance.state_message, DETAILS_WIDTH), style=message_style),
    )


def deployment_detail(view: DeploymentView) -> Text:
    """The detail line of a deployment: everything the row had to cut."""
    spec = view.spec
    line = Text(f"{view.name}: ", style="bold")
    line.append(f"{spec.backend} backend, {spec.source.kind} {spec.source.value}, ")
    line.append(f"{view.running}/{spec.replicas} replicas running, cluster {spec.cluster}")
    if spec.replicas == 0:
        line.append_text(stopped_note(view))
    if spec.advanced.command:
        line.append(f"\ncommand: {one_line(spec.advanced.command, 400)}", style="dim")
    return line


def stopped_note(view: DeploymentView) -> Text:
    """Why a deployment has no replicas: stopped with `x` (X restores N) or scaled to 0."""
    if view.stopped_replicas:
        return Text(f"; stopped: X starts its {view.stopped_replicas} replica(s) again", "dim")
    return Text("; scaled to 0 replicas: s scales it up", style="dim")


def instance_detail(instance: Instance) -> Text:
    """The detail line of an instance: state, placement and the whole message."""
    line = Text(f"{instance.name}: ", style="bold")
    line.append_text(instance_state(instance))
    if instance.worker:
        gpus = ",".join(str(i) for i in instance.gpu_indexes) or "none"
        line.append(f" on {instance.worker} GPUs {gpus}")
        for follower in instance.followers:
            ranks = ",".join(str(i) for i in follower.gpu_indexes) or "none"
            line.append(f", {follower.worker} GPUs {ranks} (rank {follower.rank})")
        if instance.port:
            line.append(f" port {instance.port}")
    if instance.restart_count:
        line.append(f", restarted {instance.restart_count}x", style="yellow")
    if instance.state_message:
        style = "red" if instance.state is InstanceState.ERROR else ""
        line.append(f"\n{one_line(instance.state_message, 400)}", style=style)
    return line


def gpu_line(gpu: Gpu) -> Text:
    """One GPU of a worker: index, name, memory used/total GiB, utilisation, simulated mark."""
    line = Text(f"{gpu.index} {gpu.name} {gib(gpu.memory_used)}/{gib(gpu.memory_total)}G")
    if gpu.memory_total:
        share = gpu.memory_used / gpu.memory_total
        line.stylize("red" if share >= 0.9 else "yellow" if share >= 0.7 else "")
    if gpu.utilization is not None:
        line.append(f" {gpu.utilization:.0f}%")
    if gpu.simulated:
        line.append(" simulated", style="italic magenta")
    return line


def worker_cells(worker: Worker) -> tuple:
    """The cells of a worker row; the GPU cell has one line per GPU."""
    gpus = Text("\n").join(gpu_line(g) for g in worker.gpus) if worker.gpus else Text("none")
    address = "local (head node)" if worker.transport == "local" else worker.destination
    labels = ",".join(f"{k}={v}" for k, v in sorted(worker.labels.items()))
    message_style = "red" if worker.state is WorkerState.UNREACHABLE else ""
    return (
        plain(worker.name, style="bold"),
        state_text(WORKER_LOOK[worker.state], worker.state.value),
        plain(one_line(address, 28)),
        gpus,
        plain(str(worker.cpu_count) if worker.cpu_count else "-"),
        plain(f"{gib(worker.memory_total)} GiB" if worker.memory_total else "-"),
        plain(one_line(labels, 24) or "-"),
        flexible(one_line(worker.state_message, DETAILS_WIDTH), style=message_style),
    )


def worker_detail(worker: Worker) -> Text:
    """The detail line of a worker: where it is, its agent, and the whole message."""
    line = Text(f"{worker.name}: ", style="bold")
    line.append_text(state_text(WORKER_LOOK[worker.state], worker.state.value))
    line.append(f" {worker.transport} {worker.destination}")
    if worker.identity_file:
        line.append(f" key {worker.identity_file}")
    if worker.agent_version:
        line.append(f", agent {worker.agent_version}")
    if any(g.simulated for g in worker.gpus):
        line.append(", simulated GPUs (no real accelerator)", style="magenta")
    if worker.labels:
        line.append(", labels " + ",".join(f"{k}={v}" for k, v in sorted(worker.labels.items())))
    if worker.state_message:
        style = "red" if worker.state is WorkerState.UNREACHABLE else ""
        line.append(f"\n{one_line(worker.state_message, 400)}", style=style)
    return line


def worker_row_height(worker: Worker) -> int:
    """Rows a worker takes: one per GPU, at least one."""
    return max(1, len(worker.gpus))
