"""`gpustack-tui mirrors`: the image prefix rewrites of the installation or of one worker."""

from __future__ import annotations

from collections.abc import Iterable

import click

from gpustack_tui.cli.common import EXIT_USAGE, AppContext, CliError, clean, pass_app
from gpustack_tui.cli.output import echo_json
from gpustack_tui.domain.images import parse_mirror


def parse_mirror_options(rules: Iterable[str]) -> dict[str, str]:
    """`FROM=TO` items as {from: to}; CliError (exit 2) naming a malformed one."""
    mirrors: dict[str, str] = {}
    for rule in rules:
        try:
            from_prefix, to_prefix = parse_mirror(rule)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        mirrors[from_prefix] = to_prefix
    return mirrors


@click.command("mirrors")
@click.argument("rules", nargs=-1, metavar="[FROM=TO]...")
@click.option("--worker", metavar="NAME", help="Change this worker's own rules instead.")
@click.option("--remove", multiple=True, metavar="FROM", help="Drop the rule of this prefix.")
@click.option("--clear", is_flag=True, help="Drop every rule first.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def mirrors(
    app: AppContext,
    rules: tuple[str, ...],
    worker: str | None,
    remove: tuple[str, ...],
    clear: bool,
    as_json: bool,
) -> None:
    """Show or change where images are pulled from (a registry mirror, a private registry).

    Every image is a full reference (`docker.io/gpustack/runner:...`). A rule FROM=TO pulls an
    image that starts with FROM as TO followed by the rest, e.g.
    `docker.io/gpustack/=registry.lab:5000/mirror/gpustack/`; the longest matching prefix
    wins, and a worker's own rules (`--worker NAME`) come before the installation's. With no
    change, prints the rules. They apply to the next start and plan (`gpustack-tui plan`
    shows the image each node pulls).
    """
    added = parse_mirror_options(rules)
    client = app.client()
    current = client.get_worker(worker).image_mirrors if worker else client.image_mirrors()
    changed = bool(added or remove or clear)
    if changed:
        wanted = {} if clear else dict(current)
        for prefix in remove:
            if prefix not in wanted and not clear:
                raise CliError(f"there is no rule for {prefix!r} to remove", EXIT_USAGE)
            wanted.pop(prefix, None)
        wanted.update(added)
        if worker:
            current = client.set_worker_image_mirrors(worker, wanted).image_mirrors
        else:
            current = client.set_image_mirrors(wanted)
    if as_json:
        echo_json(current)
        return
    if not current:
        scope = f"worker {worker}" if worker else "the installation"
        click.echo(f"no image mirrors for {scope}: images are pulled as written")
    for from_prefix, to_prefix in sorted(current.items()):
        click.echo(f"{clean(from_prefix)}={clean(to_prefix)}")
