"""`gpustack-tui backends`: the built-in backends and those users define (ls, add, get, rm).

`add` takes flags or a YAML/JSON file (`-f`, several `---` documents allowed); `get -o yaml`
prints what `add -f` reads back.
"""

from __future__ import annotations

import json
from typing import IO, Any

import click
import yaml
from pydantic import ValidationError

from gpustack_tui.backends.catalog import BUILTIN
from gpustack_tui.cli.common import EXIT_USAGE, AppContext, CliError, clean, invalid_spec, pass_app
from gpustack_tui.cli.files_cmd import parse_documents
from gpustack_tui.cli.output import echo_json, echo_lines, render_table
from gpustack_tui.domain.env import parse_env_items
from gpustack_tui.domain.user_backend import UserBackend


@click.group()
def backends() -> None:
    """Inference backends: the built-in ones and those you define (image or process, command
    template with {model_path} {port} {model_name} {gpu_ids} {worker_ip}, versions)."""


def backends_table(users: list[UserBackend]) -> list[str]:
    """Built-in backends first, then the users'; the default version is starred."""
    rows: list[list[str]] = []
    for entry in BUILTIN.values():
        versions = [v.version for v in entry.versions]
        images = sorted({i for v in entry.versions for i in v.images.values()})
        rows.append(
            [
                entry.name,
                "built-in",
                _versions(versions, entry.default_version.version),
                entry.health_path,
                "yes" if entry.cpu_offloading else "no",
                f"{images[0]} (+{len(images) - 1})" if len(images) > 1 else images[0],
            ]
        )
    for backend in users:
        rows.append(
            [
                backend.name,
                "user",
                _versions(backend.version_names(), backend.default_version),
                backend.health_path or "-",
                "yes" if backend.cpu_offloading else "no",
                backend.image or "(process)",
            ]
        )
    headers = ["NAME", "KIND", "VERSIONS", "HEALTH", "CPU OFFLOAD", "IMAGE"]
    return render_table(headers, rows)


def _versions(names: list[str], default: str | None) -> str:
    if not names:
        return "-"
    return ", ".join(f"{n}*" if n == default else n for n in names)


@backends.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print the user backends as JSON.")
@pass_app
def list_backends(app: AppContext, as_json: bool) -> None:
    """List the built-in backends and the ones users defined (* marks the default version)."""
    users = app.client().list_backends()
    if as_json:
        echo_json(users)
        return
    echo_lines(backends_table(users))
    if not users:
        click.echo(
            "no user backends yet: define one with `gpustack-tui backends add NAME --command ...`",
            err=True,
        )


def parse_backends(text: str, source: str) -> list[UserBackend]:
    """Every document of a YAML/JSON file as a UserBackend; CliError (exit 2) naming fields."""
    return parse_documents(text, source, UserBackend, "backend", "name, command")


def _version_items(items: tuple[str, ...]) -> list[dict[str, str]]:
    """`VERSION` or `VERSION=IMAGE` from --version flags."""
    versions = []
    for item in items:
        name, _, image = item.partition("=")
        versions.append({"version": name, **({"image": image} if image else {})})
    return versions


def backend_from_flags(
    name: str | None,
    command: str | None,
    image: str | None,
    health_path: str | None,
    versions: tuple[str, ...],
    default_version: str | None,
    env: tuple[str, ...],
    cpu_offloading: bool,
    description: str,
) -> UserBackend:
    """The backend the flags describe; CliError (exit 2) saying what is missing or wrong."""
    if not name or not command:
        raise CliError("give NAME and --command (or a file with -f)", EXIT_USAGE, [_example_line()])
    try:
        env_map = parse_env_items(list(env))
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    data: dict[str, Any] = {
        "name": name, "command": command, "image": image, "health_path": health_path,
        "versions": _version_items(versions), "default_version": default_version,
        "env": env_map, "cpu_offloading": cpu_offloading, "description": description,
    }  # fmt: skip
    try:
        return UserBackend.model_validate(data)
    except ValidationError as exc:
        raise invalid_spec(exc, f"backend {name!r}") from None


def _example_line() -> str:
    return (
        "e.g. gpustack-tui backends add llama-cpp --image ghcr.io/ggml-org/llama.cpp:server "
        "--command '-m {model_path} --host 0.0.0.0 --port {port} --alias {model_name}' "
        "--health-path /v1/models"
    )


@backends.command("add")
@click.argument("name", required=False)
@click.option("--command", "command", help="Command template (placeholders in braces).")
@click.option("--image", help="Container image (default: run the command as a process).")
@click.option("--health-path", help="Path that answers 200 once ready (default: none).")
@click.option(
    "--version",
    "versions",
    multiple=True,
    metavar="VERSION[=IMAGE]",
    help="A version, optionally with its own image (repeat for several).",
)
@click.option("--default-version", help="The version `auto` means (default: the first).")
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE", help="Environment (repeat).")
@click.option("--cpu-offloading/--no-cpu-offloading", default=False, help="Can use CPU memory.")
@click.option("--description", default="", help="One line about it.")
@click.option(
    "-f",
    "--file",
    "file",
    type=click.File("r", encoding="utf-8"),
    help="Backend file, YAML or JSON (`-` reads stdin); instead of the flags.",
)
@click.option("--replace", is_flag=True, help="Replace a backend of the same name.")
@pass_app
def add(
    app: AppContext,
    name: str | None,
    command: str | None,
    image: str | None,
    health_path: str | None,
    versions: tuple[str, ...],
    default_version: str | None,
    env: tuple[str, ...],
    cpu_offloading: bool,
    description: str,
    file: IO[str] | None,
    replace: bool,
) -> None:
    """Define the backend NAME from flags, or every backend of a file (-f)."""
    if file is not None:
        if name or command:
            raise CliError("give either -f FILE or NAME with flags, not both", EXIT_USAGE)
        found = parse_backends(file.read(), file.name)
    else:
        found = [
            backend_from_flags(
                name, command, image, health_path, versions, default_version, env,
                cpu_offloading, description,
            )
        ]  # fmt: skip
    client = app.client()
    for backend in found:
        if replace:
            client.put_backend(backend)
            click.echo(f"saved backend {clean(backend.name)}")
        else:
            client.add_backend(backend)
            click.echo(f"added backend {clean(backend.name)}")


@backends.command("get")
@click.argument("name")
@click.option(
    "-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@pass_app
def get(app: AppContext, name: str, fmt: str) -> None:
    """Print the backend NAME as `add -f` reads it."""
    data = app.client().get_backend(name).model_dump(mode="json")
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


@backends.command("rm")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Delete the backend NAME (refused while deployments use it)."""
    app.client().delete_backend(name)
    click.echo(f"deleted backend {clean(name)}")
