"""`gpustack-tui estimate SOURCE`: what one replica of a model needs, and what context fits.

Every source is estimated by the server (POST /api/v1/estimate): local paths may live on a
worker only the server reaches, the server's metadata cache in the data dir serves the TUI and
the CLI alike, it knows the workers' GPUs, and it uses the hub credentials the deployments use.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from gpustack_tui.cli.common import EXIT_USAGE, AppContext, CliError, clean, pass_app
from gpustack_tui.cli.output import echo_json, echo_lines
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.estimate.fit import Estimate
from gpustack_tui.estimate.parallel import ParallelChoice
from gpustack_tui.estimate.report import estimate_lines, metadata_lines, minimum_lines

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
SOURCE_KEYS = {"huggingface": "huggingface", "modelscope": "modelscope", "local": "local_path"}


def parse_size(text: str) -> int:
    """`80GiB`, `80G`, `24 GB`, `81920MiB` or plain bytes -> bytes (binary units: a GPU's
    memory is sold in GiB whatever its label says)."""
    match = SIZE.match(text)
    if not match:
        raise CliError(f"--gpu-memory {text!r}: give a size such as 80GiB or 24G", EXIT_USAGE)
    unit = (match.group(2) or "").upper()[:1]
    value = int(float(match.group(1)) * UNITS[unit])
    if value <= 0:
        raise CliError("--gpu-memory must be more than 0", EXIT_USAGE)
    return value


def guess_source(value: str) -> str:
    """local for an existing path or one that looks like a path, else huggingface."""
    if value.startswith(("/", "./", "../", "~")) or value.endswith(".gguf"):
        return "local"
    return "local" if Path(value).expanduser().exists() else "huggingface"


@click.command("estimate")
@click.argument("source_value", metavar="SOURCE")
@click.option(
    "--source",
    "source_kind",
    type=click.Choice(["huggingface", "modelscope", "local"]),
    help="Where SOURCE is (default: local for a path, else huggingface).",
)
@click.option(
    "--backend",
    type=click.Choice(["vllm", "sglang", "mindie", "voxbox", "custom"]),
    default="vllm",
    show_default=True,
)
@click.option("--gpus", type=click.IntRange(1, 64), help="GPUs per replica (default: fewest).")
@click.option(
    "--gpu-memory",
    metavar="SIZE",
    help="Memory of each GPU, e.g. 80GiB (default: the GPUs of a ready worker).",
)
@click.option(
    "--backend-param",
    "backend_params",
    multiple=True,
    metavar="PARAM",
    help="A backend parameter, e.g. --backend-param=--max-model-len=32768 (repeatable).",
)
@click.option("--category", help="Override the detected category (llm, embedding, ...).")
@click.option("--worker", help="Read a local path on, and take the GPUs of, this worker.")
@click.option("--revision", help="A hub branch, tag or commit (default: main / master).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@pass_app
def estimate(
    app: AppContext,
    source_value: str,
    source_kind: str | None,
    backend: str,
    gpus: int | None,
    gpu_memory: str | None,
    backend_params: tuple[str, ...],
    category: str | None,
    worker: str | None,
    revision: str | None,
    as_json: bool,
) -> None:
    """Estimate the GPU memory one replica of SOURCE needs, and the context that fits."""
    kind = source_kind or guess_source(source_value)
    value = str(Path(source_value).expanduser().resolve()) if kind == "local" else source_value
    body = {
        "source": {SOURCE_KEYS[kind]: value},
        "backend": backend,
        "gpus": gpus,
        "gpu_memory": parse_size(gpu_memory) if gpu_memory else None,
        "backend_parameters": list(backend_params),
        "category": category,
        "worker": worker,
        "revision": revision,
    }
    answer = app.client(timeout=130.0).estimate(body)
    if as_json:
        echo_json(answer)
        return
    meta = ModelMetadata.model_validate(answer["metadata"])
    lines = metadata_lines(meta)
    if answer.get("estimate"):
        lines += estimate_lines(Estimate.model_validate(answer["estimate"]))
    lines += minimum_lines(ParallelChoice.model_validate(answer["minimum"]))
    lines.append(f"GPUs from     {answer.get('gpu_source', '?')}")
    echo_lines(clean(line) for line in lines)
