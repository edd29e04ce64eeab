"""Stopping and starting deployments: `stop NAME`, `start NAME`."""

from __future__ import annotations

import click

from gpustack_tui.cli.common import AppContext, pass_app, plural


@click.command("stop")
@click.argument("name")
@pass_app
def stop(app: AppContext, name: str) -> None:
    """Stop every instance of NAME, keeping the deployment (replicas to 0; `start` brings
    back the count it had)."""
    view = app.client().stop_deployment(name)
    if view.stopped_replicas:
        click.echo(
            f"stopped {view.name}; `gpustack-tui start {view.name}` brings back its "
            f"{plural(view.stopped_replicas, 'replica')}"
        )
    else:
        click.echo(f"stopped {view.name}; `gpustack-tui start {view.name}` starts 1 replica")


@click.command("start")
@click.argument("name")
@click.option(
    "--replicas",
    type=click.IntRange(min=1, max=64),
    metavar="N",
    help="Start N replicas instead of the count it had when stopped.",
)
@pass_app
def start(app: AppContext, name: str, replicas: int | None) -> None:
    """Start a stopped deployment again, with the replica count it had (1 if none is known)."""
    client = app.client()
    before = client.get_deployment(name).spec.replicas
    view = client.start_deployment(name, replicas)
    if before and replicas is None:
        click.echo(f"{view.name} already runs {plural(before, 'replica')}: nothing to start")
    else:
        click.echo(f"started {view.name} with {plural(view.spec.replicas, 'replica')}")
