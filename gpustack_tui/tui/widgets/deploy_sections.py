"""The deploy form's fields: the model and how it runs, then Performance, Scheduling, Advanced."""

from __future__ import annotations

from collections.abc import Iterator

from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import (
    Checkbox,
    Collapsible,
    Input,
    Label,
    RadioSet,
    Select,
    SelectionList,
    Static,
    TextArea,
)
from textual.widgets.selection_list import Selection

from gpustack_tui.backends.catalog import BUILTIN, FAMILY_OF_VENDOR, extended_kv_cache_problem
from gpustack_tui.client import ApiError
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.tui.forms import CATEGORIES, DeployFormValues, disabled_reasons
from gpustack_tui.tui.widgets.form_field import choices, chosen, form_field
from gpustack_tui.tui.widgets.path_input import PathInput

GIB = 1024**3
SOURCES = (
    ("local_path", "Local path", ""),
    ("huggingface", "Hugging Face", ""),
    ("modelscope", "ModelScope", ""),
)
BACKENDS = (
    ("custom", "Custom (your command line)", ""),
    ("vllm", "vLLM", ""),
    ("sglang", "SGLang", ""),
    ("mindie", "MindIE", ""),
    ("voxbox", "VoxBox", ""),
)
FAMILY_TITLES = {"cuda": "CUDA", "rocm": "ROCm", "cann": "CANN"}
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
    known = {option.value for option in options}
    # A GPU chosen before (an edited deployment) that no worker reports now stays chosen, so
    # saving does not drop it silently; the plan preview says why it cannot be used.
    options += [
        Selection(f"{k}  (no worker reports it now)", k, True) for k in chosen if k not in known
    ]
    return options


def families_of(workers: list[Worker]) -> frozenset[str]:
    """The accelerator families (cuda, rocm, cann) of the workers' GPUs."""
    return frozenset(FAMILY_OF_VENDOR.get(g.vendor, "cuda") for w in workers for g in w.gpus)


def version_options(
    backend: str, families: frozenset[str], current: str = "auto"
) -> list[tuple[str, str]]:
    """(label, value) choices of Backend Version: `auto` (the newest), then the versions with an
    image for the workers' accelerators (every version while they are unknown), each naming the
    families it lacks; a `current` version of the backend stays offered so an edit keeps it."""
    entry = BUILTIN.get(backend)
    if entry is None:
        return [("auto", "auto")]
    options = [(f"auto (newest: {entry.default_version.version})", "auto")]
    versions = entry.versions_for(set(families)) if families else list(entry.versions)
    for version in versions:
        missing = sorted(FAMILY_TITLES.get(f, f) for f in families - set(version.images))
        label = version.version + (f" (no {', '.join(missing)} image)" if missing else "")
        options.append((label, version.version))
    known = {v.version for v in entry.versions}
    if current in known and current not in {value for _, value in options}:
        options.append((f"{current} (no image for these workers)", current))
    return options


def version_select(backend: str, current: str) -> Select[str]:
    """The Backend Version choice, on `current` when the backend has it (else auto)."""
    options = version_options(backend, frozenset(), current)
    value = current if current in {v for _, v in options} else "auto"
    return Select(options, value=value, allow_blank=False, compact=True, id="backend_version")


def kv_matrix() -> str:
    """Which backend can use the extended KV cache on which accelerators (from the rule the
    server enforces)."""
    families = ("cuda", "rocm", "cann")
    lines = ["backend  " + "  ".join(f"{FAMILY_TITLES[f]:<4}" for f in families)]
    for name in ("vllm", "sglang", "mindie", "voxbox", "custom"):
        title = BUILTIN[name].title if name in BUILTIN else "custom"
        marks = ("✓" if extended_kv_cache_problem(name, {f}) is None else "✗" for f in families)
        lines.append(f"{title:<8} " + "  ".join(f"{m:<4}" for m in marks))
    return "\n".join(lines)


def show_backend_choices(form: Widget, backend: str, families: frozenset[str]) -> None:
    """Backend Version's choices for `backend` on these accelerators (disabled for custom), and
    the Advanced switches that do not apply disabled, with the reasons under them."""
    reasons = disabled_reasons(backend, families)
    version = form.query_one("#backend_version", Select)
    current = str(version.value)
    options = version_options(backend, families, current)
    version.set_options(options)
    version.value = current if current in {value for _, value in options} else "auto"
    version.disabled = "backend_version" in reasons
    hint = form.query_one("#backend_version-hint", Static)
    hint.update(reasons.get("backend_version", "the choices follow the backend and the GPUs"))
    for name, box_id in (("allow_cpu", "allow_cpu"), ("distributed", "distributed")):
        box = form.query_one(f"#{box_id}", Checkbox)
        box.disabled = name in reasons
        if name == "allow_cpu" and box.disabled:
            box.value = False  # the server refuses it for built-in backends
    said = [reasons[n] for n in ("allow_cpu", "distributed") if n in reasons]
    form.query_one("#options-reason", Static).update("; ".join(said))


def read_values(form: Widget) -> DeployFormValues:
    """What the form's widgets hold now."""

    def text(field: str) -> str:
        return form.query_one(f"#{field}", Input).value

    def box(field: str) -> bool:
        return form.query_one(f"#{field}", Checkbox).value

    def radio(field: str, default: str) -> str:
        return chosen(form.query_one(f"#{field}", RadioSet), default)

    return DeployFormValues(
        local_path=text("local_path"),
        name=text("name"),
        cluster=text("cluster"),
        backend=radio("backend", "custom"),
        replicas=text("replicas"),
        command=text("command"),
        env=form.query_one("#env", TextArea).text,
        vram_claim_gib=text("vram_claim_gib"),
        allow_cpu=box("allow_cpu"),
        generic_proxy=box("generic_proxy"),
        source=radio("source", "local_path"),
        repo_id=text("repo_id"),
        backend_version=str(form.query_one("#backend_version", Select).value),
        kv_enabled=box("kv_enabled"),
        kv_ratio=text("kv_ratio"),
        kv_max_ram_gib=text("kv_max_ram_gib"),
        kv_chunk_size=text("kv_chunk_size"),
        mode=radio("mode", "auto"),
        placement=radio("placement", "spread"),
        worker_selector=text("worker_selector"),
        gpu_selector=list(form.query_one("#gpu_selector", SelectionList).selected),
        gpus_per_replica=text("gpus_per_replica"),
        category=str(form.query_one("#category", Select).value),
        backend_parameters=form.query_one("#backend_parameters", TextArea).text,
        restart_on_error=box("restart_on_error"),
        distributed=box("distributed"),
    )


def model_fields(v: DeployFormValues) -> Iterator[Horizontal]:
    """The fields above the sections: the model, its name, where and how it runs."""
    yield form_field("source", "Source", choices("source", SOURCES, v.source))
    yield form_field(
        "local_path", "Model path",
        PathInput(v.local_path, input_id="local_path",
                  placeholder="/models/Qwen2.5-0.5B-Instruct"),
        "a model directory or a .gguf file; it must exist on the worker that runs it "
        "(completions from the server or the worker chosen beside it)",
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
        version_select(v.backend, v.backend_version),
        "the choices follow the backend and the workers' GPUs",
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
        Horizontal(
            Label("Works with"),
            Static(kv_matrix(), id="kv_matrix", classes="hint", markup=False),
            classes="field",
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
            SelectionList[str](
                *(Selection(f"{k}  (loading the workers…)", k, True) for k in v.gpu_selector),
                id="gpu_selector", compact=True,
            ),
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
    known = CATEGORIES if v.category in CATEGORIES else (*CATEGORIES, v.category)
    category = Select(
        [(c, c) for c in known], value=v.category, allow_blank=False, compact=True,
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
                Static("", id="options-reason", classes="hint", markup=False),
            ),
            classes="field",
        ),
        title="Advanced",
        collapsed=True,
        id="advanced",
    )  # fmt: skip
