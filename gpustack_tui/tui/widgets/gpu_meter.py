"""nvtop-like meters: a bar per figure, coloured by level, with a level glyph so that colour is
never the only sign (`!` high, `‼` critical), shrinking to the width there is."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from gpustack_tui.domain.text import sanitize_terminal_text
from gpustack_tui.domain.units import GIB
from gpustack_tui.domain.worker import Gpu, GpuHolder

EIGHTHS = " ▏▎▍▌▋▊▉"
"""Partial blocks: a bar moves in eighths of a cell."""


@dataclass(frozen=True)
class Level:
    """How high a figure is: its colour and the glyph that says the same without colour."""

    name: str
    colour: str
    glyph: str


OK = Level("ok", "green", " ")
HIGH = Level("high", "yellow", "!")
CRITICAL = Level("critical", "red", "‼")
UNKNOWN = Level("unknown", "dim", "?")

USAGE_THRESHOLDS = (0.70, 0.90)
"""Utilisation and memory: yellow from 70 %, red from 90 %."""
TEMPERATURE_THRESHOLDS = (75.0, 85.0)
"""Celsius: yellow from 75, red from 85 (most data-centre GPUs throttle near 85-90)."""


def level(value: float | None, thresholds: tuple[float, float]) -> Level:
    """The level of `value` against (high, critical) thresholds; UNKNOWN for None."""
    if value is None:
        return UNKNOWN
    if value >= thresholds[1]:
        return CRITICAL
    if value >= thresholds[0]:
        return HIGH
    return OK


def bar(fraction: float | None, width: int, colour: str) -> Text:
    """`width` cells filled to `fraction` (0..1) in eighths; blank-dotted when unknown."""
    if width <= 0:
        return Text()
    if fraction is None:
        return Text("·" * width, style="dim")
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    filled = "█" * full + (EIGHTHS[part] if part and full < width else "")
    return Text(filled, style=colour) + Text(" " * (width - len(filled)), style="on grey15")


def meter(label: str, fraction: float | None, width: int, figure: str, lev: Level) -> Text:
    """`GPU▕████▌   ▏ 43%!`: a label, a bar of `width` cells, the figure and the level glyph."""
    line = Text(label, style="bold")
    line.append("▕", style="dim")
    line.append_text(bar(fraction, width, lev.colour))
    line.append("▏", style="dim")
    line.append(f"{figure}{lev.glyph}", style=lev.colour)
    return line


def gib_short(size: int) -> str:
    """Bytes as GiB, one decimal under 100 and none above: `12.5`, `140`."""
    value = size / GIB
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def utilization_meter(gpu: Gpu, width: int) -> Text:
    """The utilisation meter of a GPU (`?` when the tool does not report it)."""
    share = None if gpu.utilization is None else gpu.utilization / 100
    figure = "   ?%" if gpu.utilization is None else f"{gpu.utilization:4.0f}%"
    return meter("GPU", share, width, figure, level(share, USAGE_THRESHOLDS))


def memory_meter(gpu: Gpu, width: int) -> Text:
    """The memory meter of a GPU: used / total GiB."""
    share = gpu.memory_used / gpu.memory_total if gpu.memory_total else None
    figure = f"{gib_short(gpu.memory_used):>5}/{gib_short(gpu.memory_total)}G"
    return meter("MEM", share, width, figure, level(share, USAGE_THRESHOLDS))


def temperature_text(gpu: Gpu) -> Text:
    """`54°C` coloured by level, with its glyph; `--°C` when not reported."""
    if gpu.temperature is None:
        return Text(" --°C ", style="dim")
    lev = level(gpu.temperature, TEMPERATURE_THRESHOLDS)
    return Text(f"{gpu.temperature:3.0f}°C{lev.glyph}", style=lev.colour)


SIMULATED_MARK = "SIM"
FIXED_CELLS = 3 + 11 + 1 + 17 + 1 + 6 + 4
"""A GPU line but its two bars: index, the GPU meter's label, edges and figure, a space, the
memory meter's, a space, the temperature and the SIM mark."""
MIN_BAR, MAX_BAR = 3, 30


def bar_width(total: int) -> int:
    """Cells of each of the two bars in a GPU line `total` cells wide."""
    return max(MIN_BAR, min(MAX_BAR, (total - FIXED_CELLS) // 2))


def gpu_line(gpu: Gpu, total: int) -> Text:
    """One GPU, nvtop-like, in `total` cells: `0 GPU▕██  ▏ 43%  MEM▕█   ▏ 12.0/80G  54°C SIM`."""
    width = bar_width(total)
    line = Text(f"{gpu.index:>2} ")
    line.append_text(utilization_meter(gpu, width))
    line.append(" ")
    line.append_text(memory_meter(gpu, width))
    line.append(" ")
    line.append_text(temperature_text(gpu))
    if gpu.simulated:
        line.append(f" {SIMULATED_MARK}", style="bold magenta")
    return line


def holders_line(holders: list[GpuHolder], total: int) -> Text | None:
    """`   └ chat/chat-x1 20.0G, …`: the instances holding one GPU and their claims, or None."""
    if not holders:
        return None
    parts = []
    for holder in holders:
        name = sanitize_terminal_text(holder.instance)
        claim = f" {gib_short(holder.claim)}G" if holder.claim else ""
        parts.append(f"{name}{claim}")
    line = Text("   └ ", style="dim")
    line.append(", ".join(parts), style="cyan")
    line.truncate(max(10, total), overflow="ellipsis")
    return line


def usage_fraction(used: int | None, total: int) -> float | None:
    """used / total, None when either is unknown."""
    if used is None or not total:
        return None
    return max(0.0, min(1.0, used / total))
