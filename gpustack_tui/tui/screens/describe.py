"""`d`: the whole deployment on one scrollable page, like `kubectl describe`.

The spec as YAML (what `gpustack-tui deploy -f` accepts), then every instance with its worker,
GPUs, port, restarts, state message and timestamps. Read-only; `escape` goes back.
"""

from __future__ import annotations

import time

import yaml
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from gpustack_tui.domain.instance import Instance
from gpustack_tui.domain.text import sanitize_terminal_text
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.presentation import gib, instance_state, stopped_note


def when(timestamp: float) -> str:
    """A unix time as local `YYYY-MM-DD HH:MM:SS`, or `-` when unknown (0)."""
    if not timestamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def spec_yaml(view: DeploymentView) -> str:
    """The spec as block YAML in the spec's field order, made safe for the terminal."""
    data = view.spec.model_dump(mode="json", exclude_none=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return sanitize_terminal_text(text)


def instance_block(instance: Instance) -> Text:
    """One instance: state line, then placement, restarts, times and the whole message."""
    block = Text(f"{instance.name}  ", style="bold")
    block.append_text(instance_state(instance))
    gpus = ",".join(str(i) for i in instance.gpu_indexes) or "-"
    rows = [
        ("worker", instance.worker or "- (not placed yet)"),
        ("GPUs", f"{gpus}" + (f" ({gib(instance.vram_claim)} GiB each)" if gpus != "-" else "")),
        ("port", str(instance.port) if instance.port else "-"),
        ("pid", str(instance.pid) if instance.pid else "-"),
        ("restarts", str(instance.restart_count)),
        ("created", when(instance.created_at)),
        ("updated", when(instance.updated_at)),
        ("last restart", when(instance.last_restart_at)),
    ]
    for label, value in rows:
        block.append(f"\n  {label + ':':<14}", style="dim")
        block.append(sanitize_terminal_text(value))
    message = sanitize_terminal_text(instance.state_message).strip()
    block.append(f"\n  {'message:':<14}", style="dim")
    if message:
        block.append("\n    " + message.replace("\n", "\n    "))
    else:
        block.append("-")
    return block


def describe_text(view: DeploymentView) -> Text:
    """The whole page for `view`."""
    text = Text()
    text.append(f"Deployment {view.name}\n", style="bold underline")
    text.append(f"created {when(view.created_at)}, updated {when(view.updated_at)}, ")
    text.append(f"{view.running}/{view.spec.replicas} replicas running")
    if view.spec.replicas == 0:
        text.append_text(stopped_note(view))
    text.append("\n\nSpec\n", style="bold")
    text.append(spec_yaml(view))
    text.append(f"\nInstances ({len(view.instances)})\n", style="bold")
    if not view.instances:
        text.append("none\n", style="dim")
    for instance in sorted(view.instances, key=lambda i: (i.created_at, i.name)):
        text.append_text(instance_block(instance))
        text.append("\n\n")
    return text


class DescribeScreen(ModalScreen[None]):
    """The describe page of one deployment; arrows, page keys and j/k scroll, `escape` closes."""

    DEFAULT_CSS = """
    DescribeScreen {
        align: center middle;
    }
    DescribeScreen > VerticalScroll {
        width: 100%;
        max-width: 120;
        height: 100%;
        border: thick $accent;
        border-title-align: left;
        border-subtitle-align: right;
        background: $surface;
        padding: 0 1;
    }
    DescribeScreen #describe-body {
        width: 100%;
    }
    """

    BINDINGS = [
        Binding("escape,q", "close", "Back", id="describe.back"),
        Binding("j", "scroll('down')", "Down", show=False, id="describe.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="describe.up"),
    ]

    def __init__(self, view: DeploymentView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        """A scrolling box holding the page."""
        box = VerticalScroll(id="describe")
        box.border_title = f"describe {self.view.name}"
        box.border_subtitle = "escape: back"
        with box:
            yield Static(describe_text(self.view), id="describe-body", markup=False)

    def on_mount(self) -> None:
        """Focus the scroll box so arrows and page keys scroll it."""
        self.query_one("#describe", VerticalScroll).focus()

    def action_scroll(self, direction: str) -> None:
        """j/k scroll one line."""
        box = self.query_one("#describe", VerticalScroll)
        box.scroll_relative(y=1 if direction == "down" else -1, animate=False)

    def action_close(self) -> None:
        """Back to the table."""
        self.dismiss(None)
