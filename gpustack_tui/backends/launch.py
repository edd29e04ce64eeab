"""Launch plans of the built-in backends, per node, as GPUStack builds them (reference §4-6)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from gpustack_tui.backends.catalog import BUILTIN, SGLANG, VLLM, VOXBOX
from gpustack_tui.backends.custom import LaunchPlan
from gpustack_tui.domain.backend_params import flag_names, value_of

GIB = 1024**3
DEFAULT_CONTEXT_CAP = 8192
RAY_PORT = 41000
LMCACHE_CONFIG = {"kv_connector": "LMCacheConnectorV1", "kv_role": "kv_both"}
_VLLM_PARALLEL = {
    "--tensor-parallel-size", "-tp", "--tp", "--pipeline-parallel-size", "-pp", "--pp",
    "--data-parallel-size", "-dp", "--dp",
}  # fmt: skip
_SGLANG_PARALLEL = {"--tp-size", "--tp", "--pp-size", "--dp-size", "--dp"}


@dataclass(frozen=True)
class KvCache:
    """Extended KV cache settings with the node's VRAM claim (for the ratio)."""

    chunk_size: int
    ram_to_vram_ratio: float
    max_ram_gib: float | None
    node_vram_claim: int

    @property
    def ram_gib(self) -> float:
        """RAM for the cache: the maximum when given, else the claim times the ratio."""
        if self.max_ram_gib is not None:
            return self.max_ram_gib
        return round(self.node_vram_claim * self.ram_to_vram_ratio / GIB, 2)


@dataclass(frozen=True)
class NodeContext:
    """Everything a builder needs for one node of one instance."""

    backend: str
    version: str
    family: str
    model_path: str
    model_name: str
    worker_ip: str
    port: int
    gpus: tuple[int, ...]
    user_args: list[str] = field(default_factory=list)
    user_env: dict[str, str] = field(default_factory=dict)
    derived_context: int | None = None
    utilization: float | None = None
    kv_cache: KvCache | None = None
    data_dir: str = "/var/lib/gpustack-tui"
    # Distributed: the node's rank (0 leads), the GPUs of every node, the leader's address.
    rank: int = 0
    node_gpus: tuple[int, ...] = ()
    leader_ip: str = ""
    ports: tuple[int, ...] = ()


def _number(value: float) -> str:
    return f"{value:g}"


def _tail(ctx: NodeContext, with_name: bool) -> list[str]:
    """The user's flags, then host/port(/name) unless the user set them."""
    given = flag_names(ctx.user_args)
    tail = list(ctx.user_args)
    for flag, value in (("--host", ctx.worker_ip), ("--port", str(ctx.port))):
        if flag not in given:
            tail += [flag, value]
    if with_name and "--served-model-name" not in given:
        tail += ["--served-model-name", ctx.model_name]
    return tail


def _env(ctx: NodeContext, defaults: dict[str, str]) -> dict[str, str]:
    """Backend defaults under the user's env (the user always wins)."""
    return {**defaults, **ctx.user_env}


def _image(ctx: NodeContext) -> str | None:
    return BUILTIN[ctx.backend].version(ctx.version).image_for(ctx.family)


def vllm(ctx: NodeContext) -> LaunchPlan:
    """`vllm serve`, or on a follower of a Ray group `ray start --address=...`."""
    env = _env(ctx, {**VLLM.env, "VLLM_CACHE_ROOT": f"{ctx.data_dir}/cache/vllm"})
    nodes = len(ctx.node_gpus) or 1
    if nodes > 1:
        env.update({"VLLM_HOST_IP": ctx.worker_ip, "RAY_LOG_TO_STDERR": "0"})
        if ctx.ports:
            env["VLLM_PORT"] = str(ctx.ports[-1])
    if ctx.rank > 0:
        argv = ["ray", "start", "--block", f"--address={ctx.leader_ip}:{RAY_PORT}",
                f"--node-ip-address={ctx.worker_ip}"]  # fmt: skip
        return LaunchPlan(argv=argv, env=env, image=_image(ctx), gpus=ctx.gpus)
    argv = ["vllm", "serve", ctx.model_path]
    given = flag_names(ctx.user_args)
    if (
        ctx.derived_context
        and ctx.derived_context > DEFAULT_CONTEXT_CAP
        and "--max-model-len" not in given
    ):
        argv += ["--max-model-len", str(DEFAULT_CONTEXT_CAP)]
    if not given & _VLLM_PARALLEL:
        uneven = nodes > 1 and len(set(ctx.node_gpus)) > 1
        tp, pp = (1, sum(ctx.node_gpus)) if uneven else (len(ctx.gpus), nodes)
        if tp > 1:
            argv += ["--tensor-parallel-size", str(tp)]
        if pp > 1:
            argv += ["--pipeline-parallel-size", str(pp)]
    if nodes > 1 and "--distributed-executor-backend" not in given:
        argv += ["--distributed-executor-backend", "ray"]
    if ctx.utilization is not None and "--gpu-memory-utilization" not in given:
        argv += ["--gpu-memory-utilization", _number(ctx.utilization)]
    argv += ["--disable-access-log-for-endpoints", "/metrics", "--enable-prompt-tokens-details"]
    if ctx.kv_cache is not None:
        env["LMCACHE_CHUNK_SIZE"] = str(ctx.kv_cache.chunk_size)
        env["LMCACHE_MAX_LOCAL_CPU_SIZE"] = _number(ctx.kv_cache.ram_gib)
        argv += ["--kv-transfer-config", json.dumps(LMCACHE_CONFIG, separators=(",", ":"))]
    argv += _tail(ctx, with_name=True)
    sidecar = None
    if nodes > 1:
        sidecar = LaunchPlan(
            argv=["ray", "start", "--head", "--block", f"--port={RAY_PORT}",
                  f"--dashboard-port={RAY_PORT + 2}", f"--node-ip-address={ctx.worker_ip}"],
            env=env, image=_image(ctx), gpus=ctx.gpus,
        )  # fmt: skip
    return LaunchPlan(argv=argv, env=env, image=_image(ctx), gpus=ctx.gpus, sidecar=sidecar)


def sglang(ctx: NodeContext) -> LaunchPlan:
    """`sglang serve`; across nodes with `--nnodes`, `--node-rank`, `--dist-init-addr`."""
    argv = ["sglang", "serve", "--model-path", ctx.model_path]
    given = flag_names(ctx.user_args)
    if (
        ctx.derived_context
        and ctx.derived_context > DEFAULT_CONTEXT_CAP
        and not (given & {"--context-length"})
    ):
        argv += ["--context-length", str(DEFAULT_CONTEXT_CAP)]
    nodes = len(ctx.node_gpus) or 1
    if not given & _SGLANG_PARALLEL and (len(ctx.gpus) > 1 or nodes > 1):
        argv += ["--tp-size", str(len(ctx.gpus))]
        if nodes > 1:
            argv += ["--pp-size", str(nodes)]
    if nodes > 1:
        init_port = ctx.ports[1] if len(ctx.ports) > 1 else ctx.port + 1
        argv += ["--nnodes", str(nodes), "--node-rank", str(ctx.rank),
                 "--dist-init-addr", f"{ctx.leader_ip}:{init_port}"]  # fmt: skip
    if "GPUSTACK_DISABLE_METRICS" not in ctx.user_env:
        argv.append("--enable-metrics")
    argv += ["--uvicorn-access-log-exclude-prefixes", "/metrics", "--enable-cache-report"]
    if ctx.utilization is not None and "--mem-fraction-static" not in given:
        argv += ["--mem-fraction-static", _number(ctx.utilization)]
    if ctx.kv_cache is not None:
        argv += ["--enable-hierarchical-cache", "--page-size", str(ctx.kv_cache.chunk_size),
                 "--hicache-size", _number(ctx.kv_cache.ram_gib),
                 "--hicache-ratio", _number(ctx.kv_cache.ram_to_vram_ratio)]  # fmt: skip
    argv += _tail(ctx, with_name=False)
    return LaunchPlan(argv=argv, env=_env(ctx, SGLANG.env), image=_image(ctx), gpus=ctx.gpus)


def voxbox(ctx: NodeContext) -> LaunchPlan:
    """`vox-box start` on one GPU."""
    argv = ["vox-box", "start", "--model", ctx.model_path, "--data-dir", ctx.data_dir]
    argv += _tail(ctx, with_name=False)
    if ctx.gpus and value_of(ctx.user_args, "--device") is None:
        argv += ["--device", f"cuda:{ctx.gpus[0]}"]
    return LaunchPlan(argv=argv, env=_env(ctx, VOXBOX.env), image=_image(ctx), gpus=ctx.gpus)


BUILDERS = {"vllm": vllm, "sglang": sglang, "voxbox": voxbox}


def build(ctx: NodeContext) -> LaunchPlan:
    """The plan of one node; KeyError for a backend without a builder yet (MindIE)."""
    try:
        builder = BUILDERS[ctx.backend]
    except KeyError:
        raise KeyError(f"no launch plan for backend {ctx.backend!r} yet") from None
    return builder(ctx)
