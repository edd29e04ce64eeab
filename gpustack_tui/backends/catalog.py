"""The built-in inference backends: versions, images, health paths and what each can do.

Images follow GPUStack's runner tags
(`docker.io/gpustack/runner:<toolkit><ver>[-<variant>]-<service><ver>`) so that operators can use
the images they already pull for GPUStack. Each is a full reference, registry included: stock
podman refuses short names; a mirror rewrites them per worker (`domain/images.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RUNNER = "docker.io/gpustack/runner"


@dataclass(frozen=True)
class BackendVersion:
    """One version of a backend and its image per accelerator family."""

    version: str
    images: dict[str, str]

    def image_for(self, family: str) -> str | None:
        """The image for `family` (cuda, rocm, cann), None when the version has none."""
        return self.images.get(family)


@dataclass(frozen=True)
class Backend:
    """A built-in backend."""

    name: str
    title: str
    versions: tuple[BackendVersion, ...]
    health_path: str
    families: tuple[str, ...]
    extended_kv_cache: bool = False
    distributed: bool = False
    multi_gpu: bool = True
    cpu_offloading: bool = False
    parameter_format: str = "space"
    env: dict[str, str] = field(default_factory=dict)

    @property
    def default_version(self) -> BackendVersion:
        """The newest version."""
        return self.versions[0]

    def version(self, wanted: str) -> BackendVersion:
        """`auto` is the default version; anything else must be listed (KeyError otherwise)."""
        if wanted in ("", "auto"):
            return self.default_version
        for version in self.versions:
            if version.version == wanted:
                return version
        known = ", ".join(v.version for v in self.versions)
        raise KeyError(f"{self.title} has no version {wanted!r} (known: {known})")

    def versions_for(self, families: set[str]) -> list[BackendVersion]:
        """Versions with an image for at least one of the workers' accelerator families."""
        return [v for v in self.versions if families & set(v.images)]


def _images(service: str, version: str, **toolkits: str) -> dict[str, str]:
    """{family: image} from {family: toolkit tag}, e.g. cuda="cuda12.9"."""
    return {family: f"{RUNNER}:{tag}-{service}{version}" for family, tag in toolkits.items()}


VLLM = Backend(
    name="vllm",
    title="vLLM",
    versions=tuple(
        BackendVersion(v, _images("vllm", v, cuda="cuda12.9", rocm="rocm7.2"))
        for v in ("0.25.1", "0.20.2", "0.17.1", "0.11.2")
    ),
    health_path="/v1/models",
    families=("cuda", "rocm", "cann"),
    extended_kv_cache=True,
    distributed=True,
    env={"OMP_NUM_THREADS": "1", "SAFETENSORS_FAST_GPU": "1", "RUNAI_STREAMER_MEMORY_LIMIT": "0"},
)

SGLANG = Backend(
    name="sglang",
    title="SGLang",
    versions=tuple(
        BackendVersion(v, _images("sglang", v, cuda="cuda12.9", rocm="rocm7.2"))
        for v in ("0.5.15.post1", "0.5.8.post1", "0.5.5.post3")
    ),
    health_path="/v1/models",
    families=("cuda", "rocm", "cann"),
    extended_kv_cache=True,
    distributed=True,
)

MINDIE = Backend(
    name="mindie",
    title="MindIE",
    versions=tuple(
        BackendVersion(v, _images("mindie", v, cann="cann8.5-910b")) for v in ("2.3.0", "2.2.rc1")
    ),
    health_path="/info",
    families=("cann",),
    distributed=True,
    env={"MIES_SERVICE_MONITOR_MODE": "1", "MINDIE_LLM_FRAMEWORK_BACKEND": "ATB"},
)

VOXBOX = Backend(
    name="voxbox",
    title="VoxBox",
    versions=(BackendVersion("0.0.21", _images("voxbox", "0.0.21", cuda="cuda12.8")),),
    health_path="/v1/models",
    families=("cuda",),
    multi_gpu=False,
)

BUILTIN: dict[str, Backend] = {b.name: b for b in (VLLM, SGLANG, MINDIE, VOXBOX)}

# Which accelerator family each GPU vendor's workers belong to.
FAMILY_OF_VENDOR = {"nvidia": "cuda", "amd": "rocm", "ascend": "cann", "huawei": "cann"}


def extended_kv_cache_problem(backend: str, families: set[str]) -> str | None:
    """Why extended KV cache cannot be used, or None: vLLM and SGLang on CUDA and ROCm only."""
    entry = BUILTIN.get(backend)
    if entry is None or not entry.extended_kv_cache:
        return f"extended KV cache needs vLLM or SGLang, not {backend}"
    unsupported = families - {"cuda", "rocm"}
    if unsupported:
        return (
            f"extended KV cache needs NVIDIA (CUDA) or AMD (ROCm) GPUs; "
            f"{', '.join(sorted(unsupported))} workers cannot use it"
        )
    return None
