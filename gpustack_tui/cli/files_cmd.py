"""Deployment files: `apply -f FILE` (YAML or JSON) and `get NAME -o yaml|json`; and the
model files the server and the workers can see: `files ls PATH [--worker W]`.

`get` prints the complete spec, every section included, so `apply -f` of its output round-trips.
A file may hold several YAML documents (`---`); every one is validated before any is sent.
"""

from __future__ import annotations

import json
from typing import IO, Any, TypeVar

import click
import yaml
from pydantic import BaseModel, ValidationError

from gpustack_tui.cli.common import (
    EXIT_USAGE,
    AppContext,
    CliError,
    clean,
    invalid_spec,
    pass_app,
)
from gpustack_tui.cli.output import echo_json, echo_lines, render_table
from gpustack_tui.client import ApiError
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.units import format_bytes

Model = TypeVar("Model", bound=BaseModel)


def load_documents(text: str, source: str) -> list[Any]:
    """The documents of a YAML or JSON file; raises CliError (exit 2) on a syntax error."""
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError:
            pass  # YAML flow style looks like JSON too: let YAML have a go
        else:
            return data if isinstance(data, list) else [data]
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        lines = str(exc).splitlines()
        raise CliError(f"{source} is not valid YAML or JSON:", EXIT_USAGE, lines) from None


def parse_documents(
    text: str, source: str, model: type[Model], what: str, fields: str
) -> list[Model]:
    """Every document of a YAML/JSON file validated as `model` (`what` names one, `fields` the
    first keys of its mapping); raises CliError (exit 2) naming the document and field paths."""
    documents = load_documents(text, source)
    if not documents:
        raise CliError(f"{source} holds no {what}", EXIT_USAGE)
    found = []
    for number, document in enumerate(documents, start=1):
        where = source if len(documents) == 1 else f"{source} (document {number})"
        if not isinstance(document, dict):
            raise CliError(
                f"{where} must be a mapping with {fields}, ... (got {type(document).__name__})",
                EXIT_USAGE,
            )
        try:
            found.append(model.model_validate(document))
        except ValidationError as exc:
            raise invalid_spec(exc, where) from None
    return found


def parse_specs(text: str, source: str) -> list[DeploymentSpec]:
    """Validate every document as a DeploymentSpec; raises CliError (exit 2) with field paths."""
    specs = parse_documents(text, source, DeploymentSpec, "deployment", "name, source")
    names = [spec.name for spec in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CliError(f"{source} names {', '.join(duplicates)} more than once", EXIT_USAGE)
    return specs


def dump_spec(spec: DeploymentSpec, fmt: str) -> str:
    """The spec as YAML (keys in form order) or indented JSON, ending with a newline.

    Every section is written out; only the source's unset keys are left out.
    """
    data = spec.model_dump(mode="json")
    data["source"] = {key: value for key, value in data["source"].items() if value is not None}
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


@click.command("apply")
@click.option(
    "-f",
    "--file",
    "file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="Deployment file, YAML or JSON; `-` reads stdin.",
)
@pass_app
def apply(app: AppContext, file: IO[str]) -> None:
    """Create deployments from a file, or replace the spec of those that exist."""
    source = "<stdin>" if file.name == "<stdin>" else click.format_filename(file.name)
    specs = parse_specs(file.read(), source)
    client = app.client()
    for spec in specs:
        try:
            before = client.get_deployment(spec.name).spec
        except ApiError as exc:
            if exc.status != 404:
                raise
            before = None
        client.apply_deployment(spec)
        if before is None:
            outcome = "created"
        elif before == spec:
            outcome = "unchanged"
        else:
            outcome = "configured"
        click.echo(f"deployment {spec.name} {outcome}")


@click.command("get")
@click.argument("name")
@click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="Output format.",
)
@pass_app
def get(app: AppContext, name: str, fmt: str) -> None:
    """Print the spec of deployment NAME, ready for `apply -f`."""
    spec = app.client().get_deployment(name).spec
    click.echo(dump_spec(spec, fmt), nl=False)


@click.group("files")
def files() -> None:
    """The folders and model files the server and the workers can see."""


@files.command("ls")
@click.argument("path")
@click.option("--worker", "-w", help="List on this worker (through its agent), not the server.")
@click.option("--all", "all_files", is_flag=True, help="Every file, not just folders and .gguf.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def ls(app: AppContext, path: str, worker: str | None, all_files: bool, as_json: bool) -> None:
    """List the folder PATH: its folders and .gguf files (hidden entries are skipped)."""
    listing = app.client().list_files(path, worker=worker, all_files=all_files)
    if as_json:
        echo_json(listing)
        return
    rows = [
        [
            clean(e["name"]) + ("/" if e["is_dir"] else ""),
            "-" if e["is_dir"] else format_bytes(e["size"]),
        ]
        for e in listing["entries"]
    ]
    click.echo(f"{clean(listing['path'])} on the {clean(listing['where'])}")
    if not rows:
        click.echo("no folders or model files here" if not all_files else "empty")
        return
    echo_lines(render_table(["NAME", "SIZE"], rows))
    if listing["truncated"]:
        click.echo(f"(the first {len(rows)} entries only)")
