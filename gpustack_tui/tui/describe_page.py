"""The describe page of a deployment, like `kubectl describe`: pure Rich text, no terminal.

The spec as YAML (what `gpustack-tui deploy -f` accepts), then every instance with its worker,
GPUs, port, restarts, state message and timestamps, the current run's phases with their start
times and durations, and its last failures with their reasons and last log lines. The TUI's
`d` (screens/describe.py) and `gpustack-tui describe` both show this page.
"""

from __future__ import annotations

import time

import yaml
from rich.text import Text

from gpustack_tui.domain.instance import Failure, Instance
from gpustack_tui.domain.phase_text import duration
from gpustack_tui.domain.text import sanitize_terminal_text
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.presentation import gib, instance_state, stopped_note

LABEL_WIDTH = 14


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


def _safe_line(text: str) -> str:
    return " ".join(sanitize_terminal_text(text).split())


def phases_block(instance: Instance, now: float) -> Text:
    """The current run's phases, one a line: word, start time, duration (`so far` for the
    current one); empty for a row from a server that did not record them."""
    block = Text()
    if not instance.phases:
        return block
    block.append(f"\n  {'phases:':<{LABEL_WIDTH}}", style="dim")
    # The page is a picture of one moment: say which, for the durations still running.
    block.append(f"the current run, as of {when(now)}", style="dim")
    if instance.earlier_phases:
        block.append(f"\n    ({instance.earlier_phases} earlier phases not kept)", style="dim")
    for phase in instance.phases:
        end = now if phase.ended_at is None else phase.ended_at
        took = duration(end - phase.started_at)
        block.append(f"\n    {_safe_line(phase.name):<14}{when(phase.started_at)}  ")
        block.append(f"{took} so far" if phase.ended_at is None else took)
    return block


def failure_text(failure: Failure) -> Text:
    """One failed run: when, why (with its exit code), whether it was restarted, its last log
    lines (made safe for the terminal)."""
    reason = _safe_line(failure.reason)
    code = failure.exit_code
    if code is not None and f"code {code}" not in reason:
        reason += f" (exit code {code})"
    line = Text(f"\n    {when(failure.failed_at)}  ")
    line.append(reason, style="red")
    if failure.restarted_at is None:
        line.append("; not restarted", style="dim")
    else:
        line.append(f"; restarted {when(failure.restarted_at)}", style="dim")
    lines = [_safe_line(entry) for entry in failure.log_lines]
    for entry in [e for e in lines if e] or ["(no log lines were read)"]:
        line.append(f"\n      │ {entry}", style="dim")
    return line


def failures_block(instance: Instance) -> Text:
    """The runs that ended in error, the newest first; empty when none did."""
    block = Text()
    if not instance.failures:
        return block
    block.append(f"\n  {'failures:':<{LABEL_WIDTH}}", style="dim")
    block.append(f"the last {len(instance.failures)}, newest first", style="dim")
    for failure in reversed(instance.failures):
        block.append_text(failure_text(failure))
    return block


def instance_block(instance: Instance, now: float) -> Text:
    """One instance: state line, then placement, restarts, times, the whole message, the
    current run's phases and its failures."""
    block = Text(f"{instance.name}  ", style="bold")
    block.append_text(instance_state(instance, now))
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
        block.append(f"\n  {label + ':':<{LABEL_WIDTH}}", style="dim")
        block.append(sanitize_terminal_text(value))
    message = sanitize_terminal_text(instance.state_message).strip()
    block.append(f"\n  {'message:':<{LABEL_WIDTH}}", style="dim")
    if message:
        block.append("\n    " + message.replace("\n", "\n    "))
    else:
        block.append("-")
    block.append_text(phases_block(instance, now))
    block.append_text(failures_block(instance))
    return block


def describe_text(view: DeploymentView, now: float | None = None) -> Text:
    """The whole page for `view`, its durations counted to `now` (default: the clock)."""
    now = time.time() if now is None else now
    text = header_text(view)
    for block in instance_blocks(view, now):
        text.append_text(block)
        text.append("\n\n")
    return text


def instance_blocks(view: DeploymentView, now: float) -> list[Text]:
    """Each instance's block, the oldest first."""
    ordered = sorted(view.instances, key=lambda i: (i.created_at, i.name))
    return [instance_block(instance, now) for instance in ordered]


def header_text(view: DeploymentView) -> Text:
    """The page down to the instances' heading: the deployment's line and its spec."""
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
    return text
