"""The deploy form's values and their validation, without any widget.

Every rule comes from `DeploymentSpec` and `parse_env_items`, so the form, the API and the CLI
refuse the same things with the same words. Errors are keyed by the form field to focus, and
each field belongs to a section (`SECTION_OF`) that is expanded when one of its fields is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from gpustack_tui.backends.catalog import BUILTIN, extended_kv_cache_problem
from gpustack_tui.domain.backend_params import BackendParameterError, validate_for_backend
from gpustack_tui.domain.deployment import BUILTIN_BACKENDS, DeploymentSpec
from gpustack_tui.domain.env import parse_env_items
from gpustack_tui.tui.screens.labels import format_labels, parse_labels

FIELD_ORDER = (
    "local_path",
    "repo_id",
    "name",
    "cluster",
    "backend",
    "backend_version",
    "replicas",
    "command",
    "vram_claim_gib",
    "kv_ratio",
    "kv_max_ram_gib",
    "kv_chunk_size",
    "worker_selector",
    "gpu_selector",
    "gpus_per_replica",
    "category",
    "backend_parameters",
    "env",
)
"""Form fields top to bottom: the first one in error gets the focus."""

SECTION_OF = {
    "kv_ratio": "performance",
    "kv_max_ram_gib": "performance",
    "kv_chunk_size": "performance",
    "worker_selector": "scheduling",
    "gpu_selector": "scheduling",
    "gpus_per_replica": "scheduling",
    "category": "advanced",
    "backend_parameters": "advanced",
    "env": "advanced",
}
"""The collapsible section of each field that has one (the others are always shown)."""

SOURCE_KINDS = ("local_path", "huggingface", "modelscope")
CATEGORIES = ("auto", "llm", "embedding", "reranker", "image", "speech-to-text", "text-to-speech")
KV_CACHE_BACKENDS = ("vllm", "sglang")

_LOC_TO_FIELD = {
    ("name",): "name",
    ("cluster",): "cluster",
    ("backend",): "backend",
    ("backend_version",): "backend_version",
    ("replicas",): "replicas",
    ("advanced", "command"): "command",
    ("advanced", "env"): "env",
    ("advanced", "vram_claim_gib"): "vram_claim_gib",
    ("advanced", "category"): "category",
    ("advanced", "backend_parameters"): "backend_parameters",
    ("performance", "extended_kv_cache"): "kv_ratio",
    ("scheduling", "worker_selector"): "worker_selector",
    ("scheduling", "gpu_selector"): "gpu_selector",
    ("scheduling", "gpus_per_replica"): "gpus_per_replica",
}
_KV_FIELDS = {"ram_to_vram_ratio": "kv_ratio", "max_ram_gib": "kv_max_ram_gib"}


@dataclass
class DeployFormValues:
    """What the operator typed, as text, exactly as the widgets hold it."""

    local_path: str = ""
    name: str = ""
    cluster: str = "default"
    backend: str = "custom"
    replicas: str = "1"
    command: str = ""
    env: str = ""
    vram_claim_gib: str = ""
    allow_cpu: bool = False
    generic_proxy: bool = False
    source: str = "local_path"
    repo_id: str = ""
    backend_version: str = "auto"
    kv_enabled: bool = False
    kv_ratio: str = "1.2"
    kv_max_ram_gib: str = ""
    kv_chunk_size: str = "256"
    mode: str = "auto"
    placement: str = "spread"
    worker_selector: str = ""
    gpu_selector: list[str] = field(default_factory=list)
    gpus_per_replica: str = "auto"
    category: str = "auto"
    backend_parameters: str = ""
    restart_on_error: bool = True
    distributed: bool = True


class FormErrors(Exception):
    """One message per field in error, in form order."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = {f: errors[f] for f in FIELD_ORDER if f in errors}
        self.errors.update({f: m for f, m in errors.items() if f not in self.errors})

    @property
    def first_field(self) -> str:
        """The field to focus."""
        return next(iter(self.errors))


def disabled_reasons(backend: str, families: frozenset[str] = frozenset()) -> dict[str, str]:
    """Options that do not apply to `backend`, each with the reason shown beside it.
    `families`: the accelerator families (cuda, rocm, cann) of the workers, when known."""
    reasons: dict[str, str] = {}
    if backend not in KV_CACHE_BACKENDS:
        reasons["kv_enabled"] = "vLLM and SGLang only"
    elif families and (problem := extended_kv_cache_problem(backend, set(families))):
        reasons["kv_enabled"] = problem
    if backend != "custom":
        reasons["command"] = "custom backend only (built-in backends build the command)"
        reasons["vram_claim_gib"] = "custom backend only (built-in backends are estimated)"
        reasons["allow_cpu"] = "CPU offloading: custom backends only (built-ins run on GPUs)"
    else:
        reasons["backend_version"] = "custom backends: the command line picks the version"
        reasons["distributed"] = "distributed: built-in backends only (custom: one worker)"
    entry = BUILTIN.get(backend)
    if entry is not None and not entry.distributed:
        reasons["distributed"] = f"distributed: {entry.title} runs on one worker"
    return reasons


def env_lines(text: str) -> list[str]:
    """The KEY=VALUE items of the env box: one per line, blank lines and `#` comments skipped."""
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def parameter_lines(text: str) -> list[str]:
    """Backend parameters, one item per line in any of the three formats (blank lines skipped)."""
    return [s for line in text.splitlines() if (s := line.strip())]


def name_from_repo(repo: str) -> str:
    """A deployment name from a repository id or path: `Qwen/Qwen3-0.6B` -> `qwen3-0.6b`."""
    base = repo.rstrip("/").rsplit("/", 1)[-1].lower()
    base = base.removesuffix(".gguf")
    cleaned = "".join(c if c.isalnum() or c in ".-" else "-" for c in base)
    return cleaned.strip(".-")[:63].strip(".-")


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def _field_for(loc: tuple, message: str, source_field: str) -> str:
    if loc[:1] == ("source",):
        return source_field
    if loc[:2] == ("performance", "extended_kv_cache") and len(loc) > 2:
        return _KV_FIELDS.get(str(loc[2]), "kv_chunk_size")
    for length in (2, 1):
        if loc[:length] in _LOC_TO_FIELD:
            return _LOC_TO_FIELD[loc[:length]]
    return "command" if "command" in message else "name"


def _number(
    text: str, kind: type, field_name: str, message: str, errors: dict[str, str]
) -> float | int | None:
    """`text` as `kind`, None when empty; a message under `field_name` when it is not one."""
    if not text.strip():
        return None
    try:
        return kind(text.strip())
    except ValueError:
        errors[field_name] = message
        return None


def _sections(values: DeployFormValues, errors: dict[str, str]) -> dict:
    """The performance, scheduling and advanced parts of the body."""
    kv: dict = {"enabled": values.kv_enabled}
    ratio = _number(values.kv_ratio, float, "kv_ratio", "give a number, e.g. 1.2", errors)
    max_ram = _number(
        values.kv_max_ram_gib, float, "kv_max_ram_gib", "give a number of GiB or leave it empty",
        errors,
    )  # fmt: skip
    chunk = _number(values.kv_chunk_size, int, "kv_chunk_size", "give a whole number", errors)
    pairs = (("ram_to_vram_ratio", ratio), ("chunk_size", chunk))
    kv.update({k: v for k, v in pairs if v is not None})
    kv["max_ram_gib"] = max_ram
    selector: dict[str, str] = {}
    try:
        selector = parse_labels(values.worker_selector)
    except ValueError as exc:
        errors["worker_selector"] = f"{exc} (e.g. gpu=h100 zone=b)"
    per_replica: str | int = values.gpus_per_replica.strip() or "auto"
    if per_replica != "auto":
        try:
            per_replica = int(str(per_replica))
        except ValueError:
            errors["gpus_per_replica"] = "give 'auto' or a number of GPUs, e.g. 2"
            per_replica = "auto"
    manual = values.mode == "manual"
    if manual and not values.gpu_selector:
        errors["gpu_selector"] = "manual mode: pick at least one GPU (space toggles)"
    return {
        "performance": {"extended_kv_cache": kv},
        "scheduling": {
            "mode": values.mode,
            "placement": values.placement,
            "worker_selector": selector,
            "gpu_selector": list(values.gpu_selector) if manual else [],
            "gpus_per_replica": per_replica,
        },
    }


def _number_text(value: float | int | None) -> str:
    """12.0 -> "12", 7.5 -> "7.5", None -> "" (what a person would have typed)."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def values_from_spec(spec: DeploymentSpec) -> DeployFormValues:
    """The form filled in with a stored spec (for editing); `build_spec` of it gives it back."""
    kv = spec.performance.extended_kv_cache
    sched = spec.scheduling
    adv = spec.advanced
    hub = spec.source.kind != "local_path"
    return DeployFormValues(
        local_path="" if hub else spec.source.value,
        name=spec.name,
        cluster=spec.cluster,
        backend=spec.backend,
        replicas=str(spec.replicas),
        command=adv.command or "",
        env="\n".join(f"{k}={v}" for k, v in adv.env.items()),
        vram_claim_gib=_number_text(adv.vram_claim_gib),
        allow_cpu=adv.allow_cpu_offloading,
        generic_proxy=adv.generic_proxy,
        source=spec.source.kind,
        repo_id=spec.source.value if hub else "",
        backend_version=spec.backend_version,
        kv_enabled=kv.enabled,
        kv_ratio=str(kv.ram_to_vram_ratio),
        kv_max_ram_gib=_number_text(kv.max_ram_gib),
        kv_chunk_size=str(kv.chunk_size),
        mode=sched.mode,
        placement=sched.placement,
        worker_selector=format_labels(sched.worker_selector),
        gpu_selector=list(sched.gpu_selector),
        gpus_per_replica=str(sched.gpus_per_replica),
        category=adv.category,
        backend_parameters="\n".join(adv.backend_parameters),
        restart_on_error=adv.restart_on_error,
        distributed=adv.distributed_across_workers,
    )


def build_spec(values: DeployFormValues) -> DeploymentSpec:
    """The spec the form describes, or `FormErrors` naming every field to fix."""
    errors: dict[str, str] = {}
    hub = values.source in ("huggingface", "modelscope")
    source_field = "repo_id" if hub else "local_path"
    model = (values.repo_id if hub else values.local_path).strip()
    if not model:
        errors[source_field] = (
            "give the repository id, e.g. Qwen/Qwen3-0.6B"
            if hub
            else "give the model's path on the workers (a directory or a .gguf file)"
        )
    if values.backend == "custom" and not values.command.strip():
        # The spec says so too, but only once every other field is valid: say it at once.
        errors["command"] = "the custom backend needs a command line that starts the server"
    replicas = _number(
        values.replicas or "x", int, "replicas", "replicas must be a whole number, 0 or more",
        errors,
    )  # fmt: skip
    vram = _number(
        values.vram_claim_gib, float, "vram_claim_gib",
        "give a number of GiB, e.g. 12 or 7.5 (or leave it empty)", errors,
    )  # fmt: skip
    env: dict[str, str] = {}
    try:
        env = parse_env_items(env_lines(values.env))
    except ValueError as exc:
        errors["env"] = str(exc)
    parameters = parameter_lines(values.backend_parameters)
    parameter_error = ""
    try:
        validate_for_backend(parameters, builtin=values.backend in BUILTIN_BACKENDS[:4])
    except BackendParameterError as exc:
        parameter_error = errors["backend_parameters"] = str(exc)

    body: dict = {
        "name": values.name.strip(),
        "source": {values.source if hub else "local_path": model or None},
        "cluster": values.cluster.strip() or "default",
        "backend": values.backend,
        "backend_version": values.backend_version.strip() or "auto",
        **_sections(values, errors),
        "advanced": {
            "category": values.category or "auto",
            "backend_parameters": parameters,
            "command": values.command.strip() or None,
            "env": env,
            "vram_claim_gib": vram,
            "allow_cpu_offloading": values.allow_cpu,
            "distributed_across_workers": values.distributed,
            "restart_on_error": values.restart_on_error,
            "generic_proxy": values.generic_proxy,
        },
    }
    if replicas is not None:
        body["replicas"] = replicas
    try:
        spec = DeploymentSpec.model_validate(body)
    except ValidationError as exc:
        for err in exc.errors():
            message = _clean(str(err["msg"]))
            if parameter_error and message == parameter_error:
                continue
            errors.setdefault(_field_for(tuple(err["loc"]), message, source_field), message)
        raise FormErrors(errors) from None
    if errors:
        raise FormErrors(errors)
    return spec
