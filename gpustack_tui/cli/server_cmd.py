"""`gpustack-tui server`: run the controller in the foreground, stop it, or ask how it is."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from gpustack_tui.cli.common import AppContext, CliError, clean, installation_options, pass_app
from gpustack_tui.cli.output import echo_json
from gpustack_tui.client import ApiError
from gpustack_tui.config import DEFAULT_HOST, DEFAULT_PORT, server_url

DEFAULT_INFERENCE_PORT = 9191


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
@click.option(
    "--inference-host",
    default=None,
    help="Serve /v1 and /model/proxy on this address instead (e.g. 0.0.0.0); the management "
    "API stays on --host.",
)
@click.option(
    "--inference-port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Port of the inference listener (with --inference-host; default 9191).",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM certificate: the inference listener speaks HTTPS (needs --tls-key).",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--upstream-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds to wait for an instance's answer before 504 (default: no limit).",
)
@click.pass_context
def server(
    ctx: click.Context,
    host: str,
    port: int,
    no_local_worker: bool,
    inference_host: str | None,
    inference_port: int | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    upstream_timeout: float | None,
) -> None:
    """Run the server in the foreground (Ctrl-C stops it; instances keep running).

    The server owns the state of the installation; the TUI and the other commands are its
    clients. `gpustack-tui` with no command starts one in the background when none answers.
    Applications use the inference routes with an API key (`gpustack-tui keys create`).
    """
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.ensure_object(AppContext)
    from gpustack_tui.server.daemon import ServerError, run_server

    if (tls_cert is None) != (tls_key is None):
        raise CliError("TLS needs both --tls-cert FILE and --tls-key FILE")
    options: dict[str, Any] = {}
    if inference_host or inference_port or tls_cert:
        from gpustack_tui.server.daemon import InferenceListener

        inference = InferenceListener(
            inference_host or host, inference_port or DEFAULT_INFERENCE_PORT, tls_cert, tls_key
        )
        if (inference.host, inference.port) == (host, port):
            raise CliError("--inference-port must differ from --port on the same host")
        options["inference"] = inference
    if upstream_timeout is not None:
        options["upstream_timeout"] = upstream_timeout
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_server(
                app.paths,
                host=host,
                port=port,
                add_local_worker=not no_local_worker,
                **options,
            )
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
