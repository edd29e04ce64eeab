"""Deployments from the command line: `deploy`, `ls`, `scale`, `rm`."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from gpustack_tui.cli.common import EXIT_USAGE, AppContext, CliError, invalid_spec, pass_app, plural
from gpustack_tui.cli.output import deployments_table, echo_json, echo_lines
from gpustack_tui.domain.deployment import BUILTIN_BACKENDS, DeploymentSpec
from gpustack_tui.domain.env import parse_env_items

# Spec fields the `deploy` flags fill, so that validation problems name the flag that was typed.
FLAG_FOR_FIELD = {
    "name": "NAME",
    "source": "--local-path/--huggingface/--modelscope",
    "source.local_path": "--local-path",
    "source.huggingface": "--huggingface",
    "source.modelscope": "--modelscope",
    "backend": "--backend",
    "backend_version": "--backend-version",
    "advanced.backend_parameters": "--param",
    "replicas": "--replicas",
    "advanced.command": "--command",
    "advanced.env": "--env",
    "advanced.vram_claim_gib": "--vram-gib",
}


def parse_env_flags(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--env` items as a dict; raises CliError (exit 2) that names the malformed item."""
    env: dict[str, str] = {}
    for item in items:
        try:
            env.update(parse_env_items([item]))
        except ValueError as exc:
            raise CliError(f"--env {item!r}: {exc}", EXIT_USAGE) from None
    return env


def build_spec(
    name: str,
    *,
    source: dict[str, str],
    command: str | None,
    backend: str = "custom",
    backend_version: str = "auto",
    parameters: tuple[str, ...] | list[str] = (),
    replicas: int = 1,
    env_items: tuple[str, ...] | list[str] = (),
    generic_proxy: bool = False,
    vram_gib: float | None = None,
    allow_cpu: bool = False,
) -> DeploymentSpec:
    """The DeploymentSpec the `deploy` flags describe; raises CliError (exit 2) when invalid."""
    data = {
        "name": name,
        "source": source,
        "backend": backend,
        "backend_version": backend_version,
        "replicas": replicas,
        "advanced": {
            "command": command,
            "backend_parameters": list(parameters),
            "env": parse_env_flags(env_items),
            "generic_proxy": generic_proxy,
            "vram_claim_gib": vram_gib,
            "allow_cpu_offloading": allow_cpu,
        },
    }
    try:
        return DeploymentSpec.model_validate(data)
    except ValidationError as exc:
        raise invalid_spec(exc, "the deployment", lambda p: FLAG_FOR_FIELD.get(p, p)) from None


def source_of(local_path: str | None, huggingface: str | None, modelscope: str | None) -> dict:
    """The model source the flags name; CliError (exit 2) unless exactly one is given."""
    given = {
        key: value
        for key, value in (
            ("local_path", local_path),
            ("huggingface", huggingface),
            ("modelscope", modelscope),
        )
        if value
    }
    if len(given) != 1:
        raise CliError(
            "give the model with exactly one of --local-path PATH, --huggingface ORG/NAME "
            "or --modelscope ORG/NAME",
            EXIT_USAGE,
        )
    return given


@click.command("deploy")
@click.argument("name")
@click.option("--local-path", metavar="PATH", help="Model folder (or GGUF file) on the workers.")
@click.option("--huggingface", metavar="ORG/NAME", help="Hugging Face repository (downloaded).")
@click.option("--modelscope", metavar="ORG/NAME", help="ModelScope repository (downloaded).")
@click.option(
    "--backend",
    default="custom",
    show_default=True,
    help=f"Inference backend: {', '.join(BUILTIN_BACKENDS)}, or one defined with "
    "`gpustack-tui backends add`.",
)
@click.option(
    "--backend-version",
    default="auto",
    show_default=True,
    help="Backend version (`backends ls` lists them); auto: the default one.",
)
@click.option(
    "--param",
    "parameters",
    multiple=True,
    metavar="PARAM",
    help="Backend parameter, e.g. --param '--max-model-len=8192' (repeatable).",
)
@click.option(
    "--command",
    metavar="CMDLINE",
    help="Command line of the custom backend; {port} is replaced by the instance's port.",
)
@click.option("--replicas", type=int, default=1, show_default=True, help="Number of instances.")
@click.option(
    "--env",
    "env_items",
    multiple=True,
    metavar="NAME=VALUE",
    help="Environment variable for the instances (repeatable).",
)
@click.option(
    "--generic-proxy",
    is_flag=True,
    help="Proxy any path to the instance (not only the OpenAI-compatible API).",
)
@click.option(
    "--vram-gib",
    type=float,
    metavar="GIB",
    help="GPU memory each replica claims per GPU (custom backend; default: from the model's "
    "size on disk).",
)
@click.option("--allow-cpu", is_flag=True, help="Allow CPU offloading when GPUs do not fit.")
@pass_app
def deploy(
    app: AppContext,
    name: str,
    local_path: str | None,
    huggingface: str | None,
    modelscope: str | None,
    backend: str,
    backend_version: str,
    parameters: tuple[str, ...],
    command: str | None,
    replicas: int,
    env_items: tuple[str, ...],
    generic_proxy: bool,
    vram_gib: float | None,
    allow_cpu: bool,
) -> None:
    """Create the deployment NAME from a local model or a hub repository.

    For every setting (scheduling, performance, ...) write a file and use `apply -f FILE`;
    `get NAME -o yaml` shows one.
    """
    spec = build_spec(
        name,
        source=source_of(local_path, huggingface, modelscope),
        command=command,
        backend=backend,
        backend_version=backend_version,
        parameters=parameters,
        replicas=replicas,
        env_items=env_items,
        generic_proxy=generic_proxy,
        vram_gib=vram_gib,
        allow_cpu=allow_cpu,
    )
    view = app.client().create_deployment(spec)
    click.echo(
        f"created deployment {view.name} ({plural(view.spec.replicas, 'replica')}); "
        "watch it with `gpustack-tui ls`"
    )


@click.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def list_deployments(app: AppContext, as_json: bool) -> None:
    """List deployments, each with its instances beneath."""
    views = app.client().list_deployments()
    if as_json:
        echo_json(views)
    elif not views:
        click.echo("no deployments yet: create one with `gpustack-tui deploy` or `apply -f FILE`")
    else:
        echo_lines(deployments_table(views))


@click.command("scale")
@click.argument("name")
@click.argument("replicas", type=click.IntRange(min=0))
@pass_app
def scale(app: AppContext, name: str, replicas: int) -> None:
    """Set the number of instances of NAME (0 stops them all, keeping the deployment)."""
    view = app.client().scale(name, replicas)
    click.echo(f"scaled {view.name} to {plural(view.spec.replicas, 'replica')}")


def stdin_is_tty() -> bool:
    """Whether a person can answer a question on stdin (tests replace this)."""
    return sys.stdin.isatty()


@click.command("rm")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def remove(app: AppContext, name: str, yes: bool) -> None:
    """Delete the deployment NAME and stop its instances.

    Asks first; without a terminal to ask on, refuses (exit 2) unless --yes is given.
    """
    client = app.client()
    view = client.get_deployment(name)  # an unknown name fails here, before any question
    if not yes:
        if not stdin_is_tty():
            raise CliError(
                f"not deleting {name} without confirmation: stdin is not a terminal; "
                "pass --yes to delete anyway",
                EXIT_USAGE,
            )
        count = plural(len(view.instances), "instance")
        click.confirm(f"delete deployment {name} and stop its {count}?", abort=True)
    client.delete_deployment(name)
    click.echo(f"deleted deployment {name}")
