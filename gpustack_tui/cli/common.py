"""What every command shares: the installation it talks to, its client, and user-facing errors.

Commands never print tracebacks for a user's mistake: they raise `CliError` (or let `ApiError` and
pydantic's `ValidationError` through, which the root group turns into `CliError`).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from gpustack_tui.client import Client
from gpustack_tui.config import Paths, resolve_paths
from gpustack_tui.domain.text import sanitize_terminal_text

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
"""The server refused or could not answer, or something failed at run time."""
EXIT_USAGE = 2
"""The command line or the input file is wrong; nothing was sent."""


class CliError(click.ClickException):
    """A failure shown as `error: <message>` on stderr, detail lines beneath; no traceback."""

    def __init__(
        self, message: str, exit_code: int = EXIT_ERROR, details: Iterable[str] = ()
    ) -> None:
        super().__init__(message)
        # Click types exit_code as a ClassVar, yet reads it from the instance when it exits.
        self.exit_code = exit_code  # type: ignore[misc]
        self.details = list(details)

    def show(self, file: Any = None) -> None:
        """Print the error to stderr."""
        click.echo(f"error: {clean(self.message, keep_newlines=True)}", err=True)
        for line in self.details:
            click.echo(f"  {clean(line)}", err=True)


@dataclass
class AppContext:
    """The installation selected by the global options; `ctx.obj` of every command."""

    data_dir: str | None = None
    server: str | None = None
    _clients: list[Client] = field(default_factory=list)

    @property
    def paths(self) -> Paths:
        """The installation's files (--data-dir, GPUSTACK_TUI_DATA_DIR or the user's default)."""
        return resolve_paths(self.data_dir)

    def client(self, timeout: float = 30.0) -> Client:
        """A management API client for this installation; closed when the command ends."""
        client = Client.for_paths(self.paths, self.server, timeout=timeout)
        self._clients.append(client)
        return client

    def close(self) -> None:
        """Close every client handed out."""
        for client in self._clients:
            client.close()
        self._clients.clear()

    def command_prefix(self) -> list[str]:
        """`gpustack-tui` with the global options given on this command line, for hints."""
        words = ["gpustack-tui"]
        if self.data_dir:
            words += ["--data-dir", self.data_dir]
        if self.server:
            words += ["--server", self.server]
        return words

    def command_line(self, *words: str) -> str:
        """A shell-quoted command line for this installation, for messages."""
        return shlex.join([*self.command_prefix(), *words])


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def _set_data_dir(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(AppContext).data_dir = value


def _set_server(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(AppContext).server = value


def installation_options(func: F) -> F:
    """`--data-dir` and `--server`, accepted on the root group and on `server` commands."""
    func = click.option(
        "--server",
        "server_url",
        metavar="URL",
        expose_value=False,
        callback=_set_server,
        help="Talk to the server at URL (default: env GPUSTACK_TUI_SERVER, then the address the "
        "installation's running server wrote, then http://127.0.0.1:9190).",
    )(func)
    return click.option(
        "--data-dir",
        metavar="DIR",
        expose_value=False,
        callback=_set_data_dir,
        help="Use the installation in DIR: state, server address, token, known hosts "
        "(default: env GPUSTACK_TUI_DATA_DIR, then the per-user folders).",
    )(func)


def clean(text: object, keep_newlines: bool = False) -> str:
    """Text from the server or a worker, made safe to print (and one line unless asked)."""
    safe = sanitize_terminal_text(str(text))
    return safe if keep_newlines else safe.replace("\n", " ").replace("\t", " ")


def plural(count: int, noun: str) -> str:
    """`1 replica`, `2 replicas`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def dotted(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a dotted path: ('advanced', 'env', 'X') -> advanced.env.X."""
    return ".".join(str(part) for part in loc)


def validation_lines(exc: ValidationError, rename: Callable[[str], str] | None = None) -> list[str]:
    """One `<dotted.field>: <message>` line per problem (unknown keys read `unknown key`)."""
    lines = []
    for error in exc.errors():
        path = dotted(error["loc"])
        if rename:
            path = rename(path)
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "missing (required)"
        elif kind == "string_type":
            message = "must be a string (quote it in YAML)"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}: {message}" if path else message)
    return lines


def invalid_spec(
    exc: ValidationError, what: str, rename: Callable[[str], str] | None = None
) -> CliError:
    """The usage error (exit 2) for a spec that fails validation."""
    lines = validation_lines(exc, rename)
    return CliError(f"{what} is invalid ({plural(len(lines), 'problem')}):", EXIT_USAGE, lines)
