"""Instances and their logs: `instances ls`, `instances rm`, `logs`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import click

from gpustack_tui.cli.common import AppContext, pass_app
from gpustack_tui.cli.output import echo_json, echo_lines, instances_table
from gpustack_tui.domain.text import sanitize_terminal_text

HOLD_BACK_MAX = 256
"""A chunk's unterminated escape sequence is held for the next chunk, up to this many chars."""


@click.group()
def instances() -> None:
    """Replicas of deployments, as placed on workers."""


@instances.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def list_instances(app: AppContext, as_json: bool) -> None:
    """List every instance: deployment, state, worker, GPUs, port, restarts, message."""
    found = app.client().list_instances()
    if as_json:
        echo_json(found)
    elif not found:
        click.echo("no instances")
    else:
        echo_lines(instances_table(found))


@instances.command("rm")
@click.argument("name")
@pass_app
def remove_instance(app: AppContext, name: str) -> None:
    """Stop and forget one instance (its deployment makes a new one if replicas ask for it)."""
    app.client().delete_instance(name)
    click.echo(f"removed instance {name}")


def sanitized_stream(chunks: Iterable[str]) -> Iterator[str]:
    """Chunks made safe for a terminal, holding back an escape sequence cut between chunks.

    Without the hold-back a sequence split in two would have its tail (`[31m`) shown as text.
    """
    pending = ""
    for chunk in chunks:
        text = pending + chunk
        pending = ""
        start = text.rfind("\x1b")
        if start != -1 and "\n" not in text[start:] and len(text) - start < HOLD_BACK_MAX:
            text, pending = text[:start], text[start:]
        if text:
            yield sanitize_terminal_text(text)
    if pending:
        yield sanitize_terminal_text(pending)


@click.command("logs")
@click.argument("instance")
@click.option("--follow", "-f", is_flag=True, help="Keep printing as the log grows (Ctrl-C ends).")
@click.option(
    "--tail", type=click.IntRange(min=0), metavar="N", help="Start with the last N lines."
)
@click.option(
    "--previous", "-p", is_flag=True, help="The log of the program's previous run instead."
)
@pass_app
def logs(app: AppContext, instance: str, follow: bool, tail: int | None, previous: bool) -> None:
    """Print an instance's log (escape sequences and control characters removed)."""
    client = app.client()
    if previous and follow:
        raise click.UsageError("--previous prints a finished run's log: leave out --follow")
    if previous:
        text = sanitize_terminal_text(client.read_logs(instance, tail=tail, previous=True))
        click.echo(text, nl=bool(text) and not text.endswith("\n"))
        return
    if not follow:
        text = sanitize_terminal_text(client.read_logs(instance, tail=tail))
        click.echo(text, nl=bool(text) and not text.endswith("\n"))
        return
    stream = client.follow_logs(instance, tail=tail)
    try:
        for text in sanitized_stream(stream):
            click.echo(text, nl=False)
    except KeyboardInterrupt:
        pass
    finally:
        stream.close()
