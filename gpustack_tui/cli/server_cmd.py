"""`gpustack-tui server`: run the controller in the foreground, stop it, or ask how it is."""

from __future__ import annotations

import contextlib

import click

from gpustack_tui.cli.common import AppContext, CliError, clean, installation_options, pass_app
from gpustack_tui.cli.output import echo_json
from gpustack_tui.client import ApiError
from gpustack_tui.config import DEFAULT_HOST, DEFAULT_PORT, server_url


@click.group(invoke_without_command=True)
@installation_options
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--no-local-worker",
    is_flag=True,
    help="Do not add the head node itself as the worker `local` on first start.",
)
@click.pass_context
def server(ctx: click.Context, host: str, port: int, no_local_worker: bool) -> None:
    """Run the server in the foreground (Ctrl-C stops it; instances keep running).

    The server owns the state of the installation; the TUI and the other commands are its
    clients. `gpustack-tui` with no command starts one in the background when none answers.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.ensure_object(AppContext)
    from gpustack_tui.server.daemon import ServerError, run_server

    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_server(app.paths, host=host, port=port, add_local_worker=not no_local_worker)
    except ServerError as exc:  # another server for this data dir, port in use, ...
        raise CliError(str(exc)) from None


@server.command("stop")
@installation_options
@pass_app
def stop(app: AppContext) -> None:
    """Stop this installation's background server.

    Instances keep running on their workers. When no server is running this says so and exits
    with status 0: the server is stopped either way.
    """
    from gpustack_tui.server.daemon import ServerError, stop_server

    try:
        stopped = stop_server(app.paths)
    except ServerError as exc:  # it did not stop in time
        raise CliError(str(exc)) from None
    if stopped:
        click.echo("server stopped (instances keep running on their workers)")
    else:
        click.echo(f"no server is running for the installation in {app.paths.data_dir}")


@server.command("status")
@installation_options
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Whether the server answers, where, and whether it accepts this installation's token.

    Exits with status 1 when no server answers.
    """
    url = server_url(app.paths, app.server)
    client = app.client(timeout=5.0)
    health = client.health()  # ServerUnavailable -> error with how to start it
    token = "accepted"
    try:
        client.list_workers()
    except ApiError as exc:
        token = f"refused ({exc.message})" if exc.status == 401 else f"unknown ({exc.message})"
    if as_json:
        echo_json({"url": url, "data_dir": str(app.paths.data_dir), "token": token, **health})
        return
    version = health.get("version")
    click.echo(f"server:   running at {url}" + (f" (version {clean(version)})" if version else ""))
    click.echo(f"data dir: {app.paths.data_dir}")
    click.echo(f"token:    {token}")
