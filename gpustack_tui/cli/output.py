"""Human tables and `--json` output for workers, deployments and instances.

Every cell is passed through `sanitize_terminal_text` (names and messages come from workers),
columns are aligned on the plain text, and colours are added only when stdout is a terminal (click
strips them otherwise) and NO_COLOR is not set.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import click
from pydantic import BaseModel

from gpustack_tui.cli.common import clean
from gpustack_tui.domain.instance import Instance
from gpustack_tui.domain.phase_text import state_label
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import Gpu, Worker

GIB = 1024**3
TIMES = "\u00d7"
"""The multiplication sign of `2× sim-A100 ...`."""  # noqa: RUF001

_STATE_COLOURS = {
    "running": "green",
    "ready": "green",
    "error": "red",
    "unreachable": "red",
}


class Cell(NamedTuple):
    """A table cell: its text and, optionally, a colour for terminals."""

    text: str
    fg: str | None = None


def state_cell(state: str, text: str | None = None) -> Cell:
    """A state, coloured: green when serving, red when failing, yellow on the way; `text`
    shows instead of the state's word (an instance's phase and time)."""
    return Cell(state if text is None else text, _STATE_COLOURS.get(state, "yellow"))


def colour_enabled() -> bool:
    """Colours only for a terminal, and never when NO_COLOR is set."""
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def render_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str | Cell]],
    colour: bool | None = None,
) -> list[str]:
    """Aligned lines (header first); the last column is not padded.

    `colour` defaults to `colour_enabled()`; alignment never counts the colour codes.
    """
    cells = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in rows]
    cells = [[Cell(clean(c.text), c.fg) for c in row] for row in cells]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell.text))
    if colour is None:
        colour = colour_enabled()
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    if colour:
        lines[0] = click.style(lines[0], bold=True)
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            text = cell.text if i == len(row) - 1 else cell.text.ljust(widths[i])
            parts.append(click.style(text, fg=cell.fg) if colour and cell.fg else text)
        lines.append("  ".join(parts).rstrip())
    return lines


def echo_lines(lines: Iterable[str]) -> None:
    """Print lines to stdout."""
    for line in lines:
        click.echo(line)


def echo_json(data: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    """Print models (or a dict) as indented JSON: `model_dump(mode="json")`."""
    if isinstance(data, BaseModel):
        payload: Any = data.model_dump(mode="json")
    elif isinstance(data, dict):
        payload = data
    else:
        payload = [item.model_dump(mode="json") for item in data]
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def gib(num_bytes: int | float) -> str:
    """Bytes as GiB with one decimal: `24.0 GiB`."""
    return f"{num_bytes / GIB:.1f} GiB"


def format_gpus(gpus: Sequence[Gpu]) -> str:
    """Identical GPUs grouped, e.g. `2× sim-A100 24.0 GiB (simulated)`; `none` without GPUs."""  # noqa: RUF002
    groups: dict[tuple[str, int, bool], int] = {}
    for gpu in gpus:
        key = (gpu.name, gpu.memory_total, gpu.simulated)
        groups[key] = groups.get(key, 0) + 1
    parts = [
        f"{count}{TIMES} {name} {gib(memory)}" + (" (simulated)" if simulated else "")
        for (name, memory, simulated), count in groups.items()
    ]
    return ", ".join(parts) or "none"


def format_labels(labels: dict[str, str]) -> str:
    """`k=v,k2=v2` or `-`."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-"


def workers_table(workers: Sequence[Worker]) -> list[str]:
    """NAME STATE ADDRESS GPUS CPU RAM LABELS MESSAGE, one row per worker."""
    rows: list[list[str | Cell]] = [
        [
            w.name,
            state_cell(w.state.value),
            w.address or "-",
            format_gpus(w.gpus),
            str(w.cpu_count) if w.cpu_count else "-",
            gib(w.memory_total) if w.memory_total else "-",
            format_labels(w.labels),
            w.state_message,
        ]
        for w in workers
    ]
    headers = ["NAME", "STATE", "ADDRESS", "GPUS", "CPU", "RAM", "LABELS", "MESSAGE"]
    return render_table(headers, rows)


def _instance_cells(instance: Instance, now: float) -> list[str | Cell]:
    return [
        state_cell(instance.state.value, state_label(instance, now)),
        instance.placement_text,
        ",".join(str(i) for i in instance.gpu_indexes) or "-",
        str(instance.port) if instance.port else "-",
        str(instance.restart_count),
        instance.state_message,
    ]


def deployments_table(views: Sequence[DeploymentView]) -> list[str]:
    """One row per deployment (running/replicas, source), its instances indented beneath, each
    with its phase and the time spent in it."""
    now = time.time()
    rows: list[list[str | Cell]] = []
    for view in views:
        spec = view.spec
        ready = f"{view.running}/{spec.replicas} running"
        fg = "green" if view.running == spec.replicas else "yellow"
        source = f"{spec.backend}, {spec.source.kind}: {spec.source.value}"
        rows.append([spec.name, Cell(ready, fg), "", "", "", "", source])
        rows.extend([f"  {inst.name}", *_instance_cells(inst, now)] for inst in view.instances)
    headers = ["NAME", "STATE", "WORKER", "GPUS", "PORT", "RESTARTS", "MESSAGE"]
    return render_table(headers, rows)


def instances_table(instances: Sequence[Instance]) -> list[str]:
    """NAME DEPLOYMENT STATE WORKER GPUS PORT RESTARTS MESSAGE, one row per instance."""
    now = time.time()
    rows = [[inst.name, inst.deployment, *_instance_cells(inst, now)] for inst in instances]
    headers = ["NAME", "DEPLOYMENT", "STATE", "WORKER", "GPUS", "PORT", "RESTARTS", "MESSAGE"]
    return render_table(headers, rows)
