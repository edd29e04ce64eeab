"""`gpustack-tui plan`: where a deployment's replicas would land, without starting anything."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from pydantic import ValidationError

from gpustack_tui.backends.catalog import BUILTIN
from gpustack_tui.cli.common import EXIT_USAGE, AppContext, CliError, invalid_spec, pass_app
from gpustack_tui.cli.files_cmd import load_documents, parse_specs
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.scheduler.cluster_file import ClusterFile
from gpustack_tui.scheduler.dry_run import dry_run
from gpustack_tui.scheduler.report import plan_lines
from gpustack_tui.scheduler.request import request_for
from gpustack_tui.sources.errors import SourceError
from gpustack_tui.sources.service import Sources


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from exc


def _local_size(path: str) -> int:
    """Bytes of a model path on this machine (0 when it is not here)."""
    target = Path(path).expanduser()
    if target.is_file():
        return target.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(target):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total


def plan_on_file(spec: DeploymentSpec, cluster_path: str) -> dict:
    """Place the spec's replicas on the cluster described by a cluster file."""
    documents = load_documents(_read(cluster_path), cluster_path)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise CliError(f"{cluster_path} must hold one mapping with workers and instances", 2)
    try:
        cluster = ClusterFile.model_validate(documents[0])
    except ValidationError as exc:
        raise invalid_spec(exc, cluster_path) from None
    workers, placed = cluster.snapshot()
    size = _local_size(spec.source.value) if spec.source.local_path else 0
    meta = _metadata(spec)
    try:
        request = request_for(spec, size, {}, meta, workers)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    return dry_run(spec, request, workers, placed, meta)


def _metadata(spec: DeploymentSpec) -> ModelMetadata | None:
    """The model's metadata, read here: needed for a built-in backend (an error says why it
    cannot be read), optional for a custom one (it only adds the context that fits)."""
    source = spec.source
    if source.local_path and not Path(source.local_path).expanduser().exists():
        if spec.backend in BUILTIN:
            raise CliError(
                f"{source.local_path} is not on this machine: a dry run on a cluster file reads "
                "the model's metadata here (copy the model's config.json and safetensors "
                "headers, or plan on the live cluster without --cluster)",
                EXIT_USAGE,
            )
        return None
    try:
        return Sources().metadata(source.kind, source.value, None, spec.advanced.category)
    except (SourceError, ValueError, OSError) as exc:
        if spec.backend in BUILTIN:
            why = exc.message if isinstance(exc, SourceError) else str(exc)
            raise CliError(f"cannot read the model's metadata: {why}", EXIT_USAGE) from None
        return None


@click.command("plan")
@click.option(
    "--deployment",
    "deployment_file",
    required=True,
    metavar="FILE",
    help="The deployment file (as for `apply -f`).",
)
@click.option(
    "--cluster",
    "cluster_file",
    metavar="FILE",
    help="Plan on the cluster this file describes instead of the live one.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def plan(app: AppContext, deployment_file: str, cluster_file: str | None, as_json: bool) -> None:
    """Show where each replica would land, its GPUs and claims, or why nothing fits.

    Nothing is started. Without --cluster the server plans on the live cluster.
    """
    specs = parse_specs(_read(deployment_file), deployment_file)
    if len(specs) != 1:
        raise CliError(f"{deployment_file} must hold exactly one deployment", EXIT_USAGE)
    spec = specs[0]
    result = plan_on_file(spec, cluster_file) if cluster_file else app.client().plan(spec)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for line in plan_lines(result):
        click.echo(line)
    if not all(r["fits"] for r in result["replicas"]):
        raise SystemExit(1)
