"""The deploy form's fields: the model and how it runs, then Performance, Scheduling, Advanced."""

from __future__ import annotations

from collections.abc import Iterator

from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import (
    Checkbox,
    Collapsible,
    Input,
    Label,
    Select,
    SelectionList,
    TextArea,
)
from textual.widgets.selection_list import Selection

from gpustack_tui.client import ApiError
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.tui.forms import CATEGORIES, DeployFormValues
from gpustack_tui.tui.widgets.form_field import choices, form_field

GIB = 1024**3
NOT_YET = "not supported yet"
SOURCES = (
    ("local_path", "Local path", ""),
    ("huggingface", "Hugging Face", ""),
    ("modelscope", "ModelScope", ""),
)
BACKENDS = (
    ("custom", "Custom (your command line)", ""),
    ("vllm", "vLLM", NOT_YET),
    ("sglang", "SGLang", NOT_YET),
    ("mindie", "MindIE", NOT_YET),
    ("voxbox", "VoxBox", NOT_YET),
)
COMMAND_EXAMPLE = "python -m my_server --model {model_path} --port {port} --name {model_name}"
PARAMETERS_HINT = (
    "one item per line: --flag=value, --flag value, or the flag and its value on two lines"
)


class WorkersLoaded(Message):
    """The workers (for the GPU selector), or the error that kept them away."""

    def __init__(self, workers: list[Worker], error: ApiError | None = None) -> None:
        super().__init__()
        self.workers = workers
        self.error = error


def gpu_selections(workers: list[Worker], chosen: list[str]) -> list[Selection]:
    """Every GPU of every worker with its free memory; GPUs of workers not ready are disabled."""
    options = []
    for worker in sorted(workers, key=lambda w: w.name):
        ready = worker.state is WorkerState.READY
        for gpu in worker.gpus:
            key = f"{worker.name}:{gpu.index}"
            free = max(gpu.memory_total - gpu.memory_used, 0) / GIB
            total = gpu.memory_total / GIB
            label = f"{key}  {gpu.name}  {free:.1f} of {total:.1f} GiB free"
            if gpu.simulated:
                label += "  (simulated)"
            if not ready:
                label += f"  ({worker.name} is {worker.state.value})"
            options.append(Selection(label, key, key in chosen, disabled=not ready))
    return options


def model_fields(v: DeployFormValues) -> Iterator[Horizontal]:
    """The fields above the sections: the model, its name, where and how it runs."""
    yield form_field("source", "Source", choices("source", SOURCES, v.source))
    yield form_field(
        "local_path", "Model path",
        Input(compact=True, value=v.local_path, id="local_path",
              placeholder="/models/Qwen2.5-0.5B-Instruct"),
        "a model directory or a .gguf file; it must exist on the worker that runs it",
    )  # fmt: skip
    yield form_field(
        "repo_id", "Repository",
        Input(compact=True, value=v.repo_id, id="repo_id",
              placeholder="Qwen/Qwen3-0.6B"),
        "the hub's repository id; the workers download it",
    )  # fmt: skip
    yield form_field(
        "name", "Name",
        Input(compact=True, value=v.name, id="name", placeholder="qwen-small"),
        "lowercase letters, digits, '-' and '.'; clients ask for this model name",
    )  # fmt: skip
    yield form_field("cluster", "Cluster", Input(compact=True, value=v.cluster, id="cluster"))
    yield form_field("backend", "Backend", choices("backend", BACKENDS, v.backend))
    yield form_field(
        "backend_version", "Backend version",
        Input(compact=True, value=v.backend_version, id="backend_version"),
    )  # fmt: skip
    yield form_field(
        "replicas", "Replicas",
        Input(compact=True, value=v.replicas, id="replicas", type="integer"),
    )  # fmt: skip
    yield form_field(
        "command", "Command",
        Input(compact=True, value=v.command, id="command", placeholder=COMMAND_EXAMPLE),
        "placeholders: {model_path} {port} {model_name}",
    )  # fmt: skip
    yield form_field(
        "vram_claim_gib", "GPU memory claim (GiB)",
        Input(v.vram_claim_gib, id="vram_claim_gib", type="number", compact=True,
              placeholder="empty: derived from the model's size on disk"),
        "per GPU, optional",
    )  # fmt: skip


def performance_section(v: DeployFormValues) -> Collapsible:
    """Extended KV cache: KV blocks offloaded to host RAM (vLLM and SGLang)."""
    return Collapsible(
        Horizontal(
            Label("Extended KV cache"),
            Checkbox("Enabled", v.kv_enabled, id="kv_enabled", compact=True),
            Label("", id="kv_enabled-reason", classes="reason"),
            classes="field",
        ),
        form_field(
            "kv_ratio", "RAM-to-VRAM ratio",
            Input(v.kv_ratio, id="kv_ratio", type="number", compact=True),
            "host RAM for KV blocks per byte of GPU KV cache",
        ),
        form_field(
            "kv_max_ram_gib", "Max RAM (GiB)",
            Input(v.kv_max_ram_gib, id="kv_max_ram_gib", type="number", compact=True,
                  placeholder="no limit"),
        ),
        form_field(
            "kv_chunk_size", "Chunk size (tokens)",
            Input(v.kv_chunk_size, id="kv_chunk_size", type="integer", compact=True),
        ),
        title="Performance",
        collapsed=True,
        id="performance",
    )  # fmt: skip


def scheduling_section(v: DeployFormValues) -> Collapsible:
    """Auto (placement, worker selector) or manual (chosen GPUs, GPUs per replica)."""
    return Collapsible(
        form_field(
            "mode", "Mode",
            choices("mode", (("auto", "Auto", ""), ("manual", "Manual", "")), v.mode),
        ),
        form_field(
            "placement", "Placement",
            choices(
                "placement", (("spread", "Spread", ""), ("binpack", "Binpack", "")), v.placement
            ),
            "spread: fewest replicas per worker; binpack: fill workers one by one",
        ),
        form_field(
            "worker_selector", "Worker selector",
            Input(v.worker_selector, id="worker_selector", compact=True,
                  placeholder="gpu=h100 zone=b"),
            "label pairs a worker must have",
        ),
        form_field(
            "gpu_selector", "GPUs",
            SelectionList[str](id="gpu_selector", compact=True),
            "space toggles a GPU; loading the workers…",
        ),
        form_field(
            "gpus_per_replica", "GPUs per replica",
            Input(v.gpus_per_replica, id="gpus_per_replica", compact=True),
            "auto, or a number",
        ),
        title="Scheduling",
        collapsed=True,
        id="scheduling",
    )  # fmt: skip


def advanced_section(v: DeployFormValues) -> Collapsible:
    """Category, backend parameters, environment and switches."""
    category = Select(
        [(c, c) for c in CATEGORIES], value=v.category, allow_blank=False, compact=True,
        id="category",
    )  # fmt: skip
    return Collapsible(
        form_field("category", "Category", category, "auto: detected from the model"),
        form_field(
            "backend_parameters", "Backend parameters",
            TextArea(v.backend_parameters, id="backend_parameters", show_line_numbers=False,
                     tab_behavior="focus", compact=True),
            PARAMETERS_HINT,
        ),
        form_field(
            "env", "Environment",
            TextArea(v.env, id="env", show_line_numbers=False, tab_behavior="focus",
                     compact=True),
            "KEY=VALUE, one per line",
        ),
        Horizontal(
            Label("Options"),
            Vertical(
                Checkbox("Allow CPU offloading", v.allow_cpu, id="allow_cpu", compact=True),
                Checkbox(
                    "Distributed across workers", v.distributed, id="distributed", compact=True
                ),
                Checkbox(
                    "Restart on error", v.restart_on_error, id="restart_on_error", compact=True
                ),
                Checkbox(
                    "Generic proxy (/model/proxy/<name>/...)", v.generic_proxy,
                    id="generic_proxy", compact=True,
                ),
            ),
            classes="field",
        ),
        title="Advanced",
        collapsed=True,
        id="advanced",
    )  # fmt: skip
