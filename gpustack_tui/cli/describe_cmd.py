"""`gpustack-tui describe NAME`: the TUI's describe page of a deployment, on stdout."""

from __future__ import annotations

import click
from rich.console import Console

from gpustack_tui.cli.common import AppContext, pass_app
from gpustack_tui.cli.output import colour_enabled
from gpustack_tui.tui.describe_page import describe_text


@click.command("describe")
@click.argument("name")
@pass_app
def describe(app: AppContext, name: str) -> None:
    """Show deployment NAME whole: its spec, then each instance with its placement, message,
    the current run's phases (start times, durations) and its last failures (reason or exit
    code, last log lines)."""
    page = describe_text(app.client().get_deployment(name))
    if colour_enabled():
        Console(highlight=False, soft_wrap=True).print(page, end="")
    else:
        click.echo(page.plain, nl=False)
