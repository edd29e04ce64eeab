"""The root `gpustack-tui` group: global options, the TUI as default command, error handling.

Exit codes: 0 success; 1 the server refused or could not answer (`error: <message>` on stderr);
2 a usage error or an invalid spec or file (nothing was sent to the server).
"""

from __future__ import annotations

import shlex
from typing import Any

import click
from pydantic import ValidationError

from gpustack_tui.cli import (
    backends_cmd,
    demo_cmd,
    deploy_cmd,
    describe_cmd,
    estimate_cmd,
    files_cmd,
    instances_cmd,
    keys_cmd,
    lifecycle_cmd,
    mirrors_cmd,
    plan_cmd,
    server_cmd,
    workers_cmd,
)
from gpustack_tui.cli.common import (
    EXIT_ERROR,
    AppContext,
    CliError,
    installation_options,
    invalid_spec,
    pass_app,
    plural,
)
from gpustack_tui.client import ApiError, ServerUnavailable
from gpustack_tui.launcher import ServerStartFailed, ensure_server


class RootGroup(click.Group):
    """Turns the errors a user can cause or fix into `error: ...` lines instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, translating client and validation errors into `CliError`."""
        try:
            return super().invoke(ctx)
        except ServerUnavailable as exc:
            raise _unavailable(ctx, exc) from None
        except ApiError as exc:
            raise api_error(exc) from None
        except ValidationError as exc:
            raise invalid_spec(exc, "the input") from None
        except ServerStartFailed as exc:
            raise CliError(str(exc)) from None


def api_error(exc: ApiError) -> CliError:
    """`error: <message>`; when the server lists per-field problems, one line for each instead."""
    details: list[str] = []
    problems = exc.details.get("errors")
    if isinstance(problems, list):
        for item in problems:
            if isinstance(item, dict) and "msg" in item:
                loc = item.get("loc") or []
                path = ".".join(str(p) for p in loc) if isinstance(loc, list) else str(loc)
                details.append(f"{path}: {item['msg']}" if path else str(item["msg"]))
            else:
                details.append(str(item))
    if details:
        summary = f"the server refused the request ({plural(len(details), 'problem')}):"
        return CliError(summary, EXIT_ERROR, details)
    return CliError(exc.message, EXIT_ERROR)


def _unavailable(ctx: click.Context, exc: ApiError) -> CliError:
    app = ctx.find_object(AppContext) or AppContext()
    details = []
    if app.data_dir:
        command = shlex.join(["gpustack-tui", "--data-dir", app.data_dir, "server"])
        details.append(f"to start this installation's server: {command}")
    return CliError(exc.message, EXIT_ERROR, details)


def _run_tui(app: AppContext) -> None:
    """Make sure a server answers (start one in the background if not), then run the TUI."""
    paths = app.paths
    url, started = ensure_server(paths, app.server)
    try:
        from gpustack_tui.tui.app import run_tui
    except ModuleNotFoundError as exc:
        if exc.name != "gpustack_tui.tui.app":
            raise
        raise CliError(
            f"the TUI is not available in this build; the server answers at {url} "
            "(see `gpustack-tui --help` for the commands)"
        ) from None
    run_tui(paths=paths, url=url, started_server=started)


@click.group(
    cls=RootGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@installation_options
@click.version_option(package_name="gpustack-tui", prog_name="gpustack-tui")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Deploy, scale, watch and serve AI models on a few GPU servers.

    With no command, opens the TUI (starting the server in the background if none answers).
    """
    app = ctx.ensure_object(AppContext)
    ctx.call_on_close(app.close)
    if ctx.invoked_subcommand is None:
        _run_tui(app)


@cli.command("tui")
@pass_app
def tui_command(app: AppContext) -> None:
    """Open the TUI (the default when no command is given)."""
    _run_tui(app)


cli.add_command(server_cmd.server)
cli.add_command(workers_cmd.workers)
cli.add_command(deploy_cmd.deploy)
cli.add_command(deploy_cmd.list_deployments)
cli.add_command(deploy_cmd.scale)
cli.add_command(deploy_cmd.remove)
cli.add_command(describe_cmd.describe)
cli.add_command(instances_cmd.instances)
cli.add_command(instances_cmd.logs)
cli.add_command(files_cmd.apply)
cli.add_command(files_cmd.get)
cli.add_command(files_cmd.files)
cli.add_command(estimate_cmd.estimate)
cli.add_command(plan_cmd.plan)
cli.add_command(keys_cmd.keys)
cli.add_command(lifecycle_cmd.stop)
cli.add_command(lifecycle_cmd.start)
cli.add_command(demo_cmd.demo)
cli.add_command(backends_cmd.backends)
cli.add_command(mirrors_cmd.mirrors)


def main(argv: list[str] | None = None) -> None:
    """The console script (click exits quietly when stdout is closed early, e.g. `| head`)."""
    cli.main(args=argv, prog_name="gpustack-tui")
