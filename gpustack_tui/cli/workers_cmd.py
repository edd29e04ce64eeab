"""`gpustack-tui workers`: add machines over SSH (or the head node), list, label and remove them."""

from __future__ import annotations

from pathlib import Path

import click

from gpustack_tui.cli.common import EXIT_USAGE, AppContext, CliError, clean, pass_app
from gpustack_tui.cli.mirrors_cmd import parse_mirror_options
from gpustack_tui.cli.output import echo_json, echo_lines, format_gpus, workers_table
from gpustack_tui.client import ApiError

ADD_TIMEOUT_S = 300.0
"""Adding a worker connects over SSH and copies the agent: allow more than a normal call."""


@click.group()
def workers() -> None:
    """Machines that run instances: add, list, label, remove."""


def _identity_path(identity: str | None) -> str | None:
    """The key file as the server will read it: `~` expanded, absolute when it exists here."""
    if identity is None:
        return None
    path = Path(identity).expanduser()
    return str(path.resolve()) if path.exists() else str(path)


def host_key_error(app: AppContext, exc: ApiError, retry_args: list[str]) -> CliError:
    """The unknown host key, its fingerprint, and the exact command that accepts it."""
    details = exc.details
    host = clean(details.get("host", "?"))
    key_type = clean(details.get("key_type", "?"))
    fingerprint = clean(details.get("fingerprint", "?"))
    command = app.command_line(*retry_args, "--accept-host-key", fingerprint)
    return CliError(
        f"the SSH host key of {host} is not known yet",
        details=[
            f"host:        {host}",
            f"key type:    {key_type}",
            f"fingerprint: {fingerprint}",
            "verify this fingerprint out of band before accepting (on the worker: "
            "`ssh-keygen -lf /etc/ssh/ssh_host_<type>_key.pub`), then run:",
            f"  {command}",
        ],
    )


@workers.command("add")
@click.argument("destination")
@click.option("--name", help="The worker's name (default: derived from the destination).")
@click.option("--identity", metavar="FILE", help="SSH private key to log in with.")
@click.option(
    "--accept-host-key",
    metavar="FINGERPRINT",
    help="Trust this host key fingerprint (SHA256:...), as shown by a first attempt.",
)
@click.option(
    "--image-mirror",
    "image_mirrors",
    multiple=True,
    metavar="FROM=TO",
    help="Pull images starting with FROM from TO instead on this worker, e.g. "
    "docker.io/gpustack/=registry.lab:5000/gpustack/ (repeatable; see `gpustack-tui mirrors`).",
)
@pass_app
def add(
    app: AppContext,
    destination: str,
    name: str | None,
    identity: str | None,
    accept_host_key: str | None,
    image_mirrors: tuple[str, ...],
) -> None:
    """Connect to a worker and keep it.

    DESTINATION is `user@host[:port]`, an alias from ~/.ssh/config, or `local` (the head node
    itself). The first connection to a host stops at its unknown host key and shows its
    fingerprint with the command that accepts it.
    """
    identity_file = _identity_path(identity)
    mirrors = parse_mirror_options(image_mirrors)
    click.echo(f"connecting to {destination} ...", err=True)
    try:
        worker = app.client(timeout=ADD_TIMEOUT_S).add_worker(
            destination,
            name=name,
            identity_file=identity_file,
            accept_host_key=accept_host_key,
            image_mirrors=mirrors,
        )
    except ApiError as exc:
        if exc.code != "host_key_unknown":
            raise
        retry = ["workers", "add", destination]
        if name:
            retry += ["--name", name]
        if identity_file:
            retry += ["--identity", identity_file]
        for rule in image_mirrors:
            retry += ["--image-mirror", rule]
        raise host_key_error(app, exc, retry) from None
    click.echo(
        f"added worker {clean(worker.name)}: {worker.state.value}, {format_gpus(worker.gpus)}"
        + (f" - {clean(worker.state_message)}" if worker.state_message else "")
    )


@workers.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def list_workers(app: AppContext, as_json: bool) -> None:
    """List workers: state, address, GPUs, CPU, RAM, labels and message."""
    found = app.client().list_workers()
    if as_json:
        echo_json(found)
    elif not found:
        click.echo("no workers yet: add one with `gpustack-tui workers add user@host`")
    else:
        echo_lines(workers_table(found))


@workers.command("rm")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Forget a worker (refused while instances are placed on it)."""
    app.client().remove_worker(name)
    click.echo(f"removed worker {name}")


def apply_label_changes(labels: dict[str, str], changes: tuple[str, ...]) -> dict[str, str]:
    """`k=v` sets a label, `k-` removes it; raises CliError (exit 2) naming a malformed item."""
    result = dict(labels)
    for item in changes:
        key, sep, value = item.partition("=")
        if sep and key:
            result[key] = value
        elif not sep and len(item) > 1 and item.endswith("-"):
            result.pop(item[:-1], None)
        else:
            raise CliError(f"label {item!r} must look like KEY=VALUE or KEY-", EXIT_USAGE)
    return result


@workers.command("label")
@click.argument("name")
@click.argument("changes", nargs=-1, metavar="[KEY=VALUE | KEY-]...")
@pass_app
def label(app: AppContext, name: str, changes: tuple[str, ...]) -> None:
    """Set (`KEY=VALUE`) or remove (`KEY-`) labels of a worker; with none, show its labels.

    Deployments pick workers by label with `scheduling.worker_selector`.
    """
    for item in changes:  # check every item before asking the server anything
        apply_label_changes({}, (item,))
    worker = app.client().get_worker(name)
    if changes:
        labels = apply_label_changes(worker.labels, changes)
        worker = app.client().set_worker_labels(name, labels)
    for key, value in sorted(worker.labels.items()):
        click.echo(f"{clean(key)}={clean(value)}")
