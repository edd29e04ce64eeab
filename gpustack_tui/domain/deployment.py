"""The deployment spec: one model that validates the TUI form, the API body and the CLI flags."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpustack_tui.domain.backend_params import BackendParameterError, validate_for_backend
from gpustack_tui.domain.command import split_command
from gpustack_tui.domain.env import validate_env

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")
NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
BUILTIN_BACKENDS = ("vllm", "sglang", "mindie", "voxbox", "custom")


class _Strict(BaseModel):
    """Base for spec parts: unknown keys are refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ModelSource(_Strict):
    """Where the model comes from: exactly one of the three keys is set."""

    huggingface: str | None = None
    modelscope: str | None = None
    local_path: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSource:
        given = [k for k in ("huggingface", "modelscope", "local_path") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of huggingface, modelscope or local_path")
        for hub in ("huggingface", "modelscope"):
            repo = getattr(self, hub)
            if repo and not REPO_ID.match(repo):
                raise ValueError(
                    f"{hub} repository {repo!r} must look like ORG/NAME (letters, digits, "
                    "'.', '_', '-')"
                )
        return self

    @property
    def kind(self) -> str:
        """The key that is set: huggingface, modelscope or local_path."""
        for key in ("huggingface", "modelscope", "local_path"):
            if getattr(self, key):
                return key
        raise AssertionError("validated source has no key")

    @property
    def value(self) -> str:
        """The repository id or path."""
        return str(getattr(self, self.kind))


class ExtendedKVCache(_Strict):
    """Extended KV cache (Performance section): KV blocks offloaded to host RAM."""

    enabled: bool = False
    ram_to_vram_ratio: float = Field(1.2, gt=0)
    max_ram_gib: float | None = Field(None, gt=0)
    chunk_size: int = Field(256, gt=0)


class Performance(_Strict):
    """The Performance section of the deploy form."""

    extended_kv_cache: ExtendedKVCache = Field(default_factory=ExtendedKVCache)


class Scheduling(_Strict):
    """The Scheduling section: where replicas may land and how they are spread."""

    mode: Literal["auto", "manual"] = "auto"
    placement: Literal["spread", "binpack"] = "spread"
    worker_selector: dict[str, str] = Field(default_factory=dict)
    gpu_selector: list[str] = Field(default_factory=list)
    gpus_per_replica: Literal["auto"] | int = "auto"

    @field_validator("gpu_selector")
    @classmethod
    def _worker_colon_index(cls, value: list[str]) -> list[str]:
        for item in value:
            worker, _, index = item.rpartition(":")
            if not worker or not index.isdigit():
                raise ValueError(f"GPU selector item {item!r} must look like WORKER:GPU_INDEX")
        return value

    @field_validator("gpus_per_replica")
    @classmethod
    def _positive(cls, value: Literal["auto"] | int) -> Literal["auto"] | int:
        if isinstance(value, int) and value < 1:
            raise ValueError("gpus_per_replica must be 'auto' or a number of at least 1")
        return value


class Advanced(_Strict):
    """The Advanced section: category, backend parameters, env, command and switches."""

    category: str = "auto"
    backend_parameters: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    command: str | None = None
    vram_claim_gib: float | None = Field(
        None,
        ge=0,
        description="GPU memory each replica claims per GPU (custom backend). "
        "Default: derived from the model's size on disk.",
    )
    allow_cpu_offloading: bool = False
    distributed_across_workers: bool = True
    restart_on_error: bool = True
    generic_proxy: bool = False

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        validate_env(value)
        return value


class DeploymentSpec(_Strict):
    """What the user asks for. Stored as given; the server derives instances from it."""

    name: str
    source: ModelSource
    cluster: str = "default"
    backend: str = "custom"
    backend_version: str = "auto"
    replicas: int = Field(1, ge=0, le=64)
    performance: Performance = Field(default_factory=Performance)
    scheduling: Scheduling = Field(default_factory=Scheduling)
    advanced: Advanced = Field(default_factory=Advanced)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "name must be 1-63 lowercase letters, digits, '-' or '.', "
                "starting and ending with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _custom_needs_command(self) -> DeploymentSpec:
        try:
            validate_for_backend(
                self.advanced.backend_parameters, builtin=self.backend in BUILTIN_BACKENDS[:4]
            )
        except BackendParameterError as exc:
            raise ValueError(str(exc)) from None
        if self.backend == "custom":
            if not (self.advanced.command or "").strip():
                raise ValueError("the custom backend needs a command line (advanced.command)")
            split_command(self.advanced.command or "")
        return self


def unsupported_features(spec: DeploymentSpec) -> list[str]:
    """Options the spec's backend cannot honour; the server refuses such a spec with these
    reasons (the GPUs' side of the extended KV cache rule is checked against the workers)."""
    reasons = []
    builtin = spec.backend in BUILTIN_BACKENDS[:4]
    if spec.advanced.allow_cpu_offloading and builtin:
        reasons.append(
            f"CPU offloading is for custom backends only: {spec.backend} runs on GPUs "
            "(turn allow_cpu_offloading off, or use a custom backend)"
        )
    if spec.performance.extended_kv_cache.enabled and spec.backend not in ("vllm", "sglang"):
        reasons.append(
            f"extended KV cache needs vLLM or SGLang, not {spec.backend} "
            "(turn it off, or change the backend)"
        )
    return reasons
