"""`gpustack-tui keys`: API keys for the inference routes: create (shown once), list, revoke."""

from __future__ import annotations

import json
import time
from datetime import datetime

import click

from gpustack_tui.cli.common import AppContext, clean, pass_app
from gpustack_tui.cli.output import Cell, echo_json, echo_lines, render_table, state_cell
from gpustack_tui.domain.api_key import ApiKeyInfo


@click.group()
def keys() -> None:
    """API keys that applications send to /v1 and /model/proxy."""


def _when(at: float | None) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M") if at else "-"


def keys_table(found: list[ApiKeyInfo], now: float) -> list[str]:
    """Name, state, scope, created, expires and last use of each key."""
    rows: list[list[str | Cell]] = [
        [
            key.name,
            state_cell(key.state(now)),
            ", ".join(key.deployments) if key.deployments is not None else "all deployments",
            _when(key.created_at),
            _when(key.expires_at),
            _when(key.last_used_at),
        ]
        for key in found
    ]
    return render_table(["NAME", "STATE", "SCOPE", "CREATED", "EXPIRES", "LAST USED"], rows)


@keys.command("create")
@click.argument("name")
@click.option(
    "--deployment",
    "-d",
    "deployments",
    multiple=True,
    help="A deployment the key may use (repeat for several; default: all of them).",
)
@click.option(
    "--expires-in-days",
    type=click.FloatRange(min=0, min_open=True, max=36500),
    help="Days until the key stops working (default: never).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def create(
    app: AppContext,
    name: str,
    deployments: tuple[str, ...],
    expires_in_days: float | None,
    as_json: bool,
) -> None:
    """Create the key NAME and print it. It is shown this once: the server keeps only a hash."""
    created = app.client().create_key(
        name, deployments=list(deployments) or None, expires_in_days=expires_in_days
    )
    if as_json:
        echo_json(created)
        return
    click.echo(created.key)
    scope = ", ".join(created.deployments) if created.deployments else "all deployments"
    expiry = f", expires {_when(created.expires_at)}" if created.expires_at else ""
    endpoint = inference_url(app)
    where = f" to {clean(endpoint)}/v1" if endpoint else ""
    click.echo(
        f"created key {clean(created.name)} for {clean(scope)}{expiry}. Copy it now: it is not "
        f"shown again. Send it{where} as `Authorization: Bearer <key>`.",
        err=True,
    )


def inference_url(app: AppContext) -> str | None:
    """Where the local server serves the inference routes, as it recorded at start."""
    try:
        recorded = json.loads(app.paths.server_file.read_text()).get("inference_url")
    except (OSError, ValueError, AttributeError):
        return None
    return recorded if isinstance(recorded, str) and recorded else None


@keys.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def list_keys(app: AppContext, as_json: bool) -> None:
    """List keys (never their secrets): state, scope, created, expiry and last use."""
    found = app.client().list_keys()
    if as_json:
        echo_json(found)
    elif not found:
        click.echo("no API keys yet: create one with `gpustack-tui keys create NAME`")
    else:
        echo_lines(keys_table(found, time.time()))


@keys.command("rm")
@click.argument("name")
@pass_app
def revoke(app: AppContext, name: str) -> None:
    """Revoke the key NAME: requests that use it are refused from now on."""
    app.client().revoke_key(name)
    click.echo(f"revoked key {clean(name)}")
