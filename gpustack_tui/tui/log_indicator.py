"""The log screen's one-line indicator: what the view is doing, k9s style.

`Follow:On  Wrap:Off  Time:Off  Stream:connected`, preceded by what needs the operator's eye
first (the previous run shown, new lines while paused, the search and its counter), because at
80 columns the end of the line is cut.
"""

from __future__ import annotations

from rich.text import Text

from gpustack_tui.tui.widgets.log_view import LogView

STREAM_COLOURS = {"connected": "green", "ended": "dim", "connecting": "yellow", "waiting": "yellow"}


def indicator(view: LogView, follow: bool, unseen: int, stream: str, previous: bool) -> Text:
    """The indicator for `view` (the one on screen); `unseen` lines came while not following;
    `stream` is the live stream's state; `previous` when the previous run's log is shown."""
    line = Text(no_wrap=True, overflow="ellipsis")
    if previous:
        line.append("PREVIOUS RUN (p: live log)  ", style="bold magenta")
    if not follow and unseen:
        line.append(f"▼ {unseen} new lines (G to follow)  ", style="bold yellow")
    if view.search_text:
        line.append(f"/{view.search_text} {view.counter}", style="bold")
        line.append(" filtered  " if view.filtering else "  ", style="bold cyan")
    line.append("Follow:")
    line.append("On" if follow else "Off", style="green" if follow else "yellow")
    line.append(f"  Wrap:{'On' if view.wrap_lines else 'Off'}")
    # The server relays the program's output as is: the only time known is arrival.
    line.append(f"  Time:{'arrival' if view.show_times else 'Off'}  Stream:")
    line.append(stream, style=STREAM_COLOURS.get(stream, "red"))
    return line
