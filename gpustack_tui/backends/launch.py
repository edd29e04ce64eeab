"""Launch plans of the built-in backends, per node, as GPUStack builds them (reference §4-6)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from gpustack_tui.backends.catalog import BUILTIN, MINDIE, SGLANG, VLLM, VOXBOX
from gpustack_tui.backends.plan import LaunchPlan
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
    port: int | None  # None in a dry run: `{port}` stays, filled at start
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
    # MindIE's rank table: every node's address, its real NPU indexes, and their device IPs
    # (the NPUs' own network addresses; empty: left out of the table).
    node_ips: tuple[str, ...] = ()
    node_gpu_indexes: tuple[tuple[int, ...], ...] = ()
    node_device_ips: tuple[tuple[str, ...], ...] = ()


def _number(value: float) -> str:
    return f"{value:g}"


def _port(port: int | None) -> str:
    return "{port}" if port is None else str(port)


def _tail(ctx: NodeContext, with_name: bool) -> list[str]:
    """The user's flags, then host/port(/name) unless the user set them."""
    given = flag_names(ctx.user_args)
    tail = list(ctx.user_args)
    for flag, value in (("--host", ctx.worker_ip), ("--port", _port(ctx.port))):
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
        init_port = ctx.ports[1] if len(ctx.ports) > 1 else _port(ctx.port and ctx.port + 1)
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


MINDIE_HOME = "/usr/local/Ascend/mindie/latest/mindie-service"
MINDIE_DAEMON = f"{MINDIE_HOME}/bin/mindieservice_daemon"
MINDIE_CONFIG = f"{MINDIE_HOME}/conf/config.json"
MINDIE_RANK_TABLE = f"{MINDIE_HOME}/conf/ranktable.json"
# The prep script GPUStack always gives MindIE: here it writes the generated config (and rank
# table) where MindIE reads them, loads the Ascend environment, then runs the daemon.
MINDIE_PREP = (
    'printf "%s" "$1" > "$MIES_CONFIG_JSON_PATH" || exit 1; chmod 640 "$MIES_CONFIG_JSON_PATH"; '
    'if [ -n "${RANK_TABLE_FILE:-}" ]; then printf "%s" "$2" > "$RANK_TABLE_FILE" || exit 1; '
    'chmod 640 "$RANK_TABLE_FILE"; fi; shift 2; '
    "for f in /usr/local/Ascend/ascend-toolkit/set_env.sh /usr/local/Ascend/nnal/atb/set_env.sh "
    '/usr/local/Ascend/mindie/set_env.sh; do if [ -f "$f" ]; then . "$f"; fi; done; '
    f"cd {MINDIE_HOME}/bin 2>/dev/null || :; "
    'exec "$@"'
)
# What GPUStack sets for every MindIE run (the user's env still wins), and across nodes.
MINDIE_ENV = {
    "MIES_INSTALL_PATH": MINDIE_HOME, "MINDIE_CHECK_INPUTFILES_PERMISSION": "0",
    "MINDIE_LLM_CONTINUOUS_BATCHING": "1", "OMP_NUM_THREADS": "1",
    "PYTORCH_NPU_ALLOC_CONF": "expandable_segments:True",
}  # fmt: skip
MINDIE_MULTI_NODE_ENV = {
    "ATB_LLM_HCCL_ENABLE": "1", "ATB_LLM_COMM_BACKEND": "hccl", "HCCL_CONNECT_TIMEOUT": "7200",
    "HCCL_EXEC_TIMEOUT": "0",
}  # fmt: skip
# GPUStack's own MindIE flags, each mapped into the config or env: flag -> takes a value.
MINDIE_FLAGS: dict[str, bool] = {
    "--max-seq-len": True, "--max-input-token-len": True, "--max-prefill-tokens": True,
    "--max-iter-times": True, "--max-batch-size": True, "--npu-memory-fraction": True,
    "--enable-prefix-caching": False, "--tp": True, "--dp": True, "--pp": True,
    "--trust-remote-code": False, "--cpu-mem-size": True,
}  # fmt: skip


def _mindie_flags(tokens: list[str]) -> dict[str, str]:
    """The user's MindIE flags as {flag: value} ("" for switches); ValueError naming a flag
    MindIE does not take (its daemon has no command line: each flag maps into the config)."""
    chosen: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        key, eq, value = tokens[index].partition("=")
        if key not in MINDIE_FLAGS:
            known = ", ".join(MINDIE_FLAGS)
            raise ValueError(
                f"MindIE takes no backend parameter {tokens[index]!r} (known: {known})"
            )
        if MINDIE_FLAGS[key] and not eq:
            if index + 1 >= len(tokens):
                raise ValueError(f"MindIE backend parameter {key} needs a value")
            index += 1
            value = tokens[index]
        chosen[key] = value
        index += 1
    return chosen


def _int_flag(flags: dict[str, str], name: str, default: int) -> int:
    raw = flags.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"MindIE backend parameter {name} must be a whole number, not {raw!r}"
        ) from None


def _is_fraction(text: str) -> bool:
    try:
        return 0 < float(text) <= 1
    except ValueError:
        return False


def _rank_table(ctx: NodeContext) -> dict[str, object]:
    """`{server_count, server_list}` with each node's NPUs ranked in node order."""
    servers = []
    rank = 0
    for node, ip in enumerate(ctx.node_ips):
        indexes = ctx.node_gpu_indexes[node] if node < len(ctx.node_gpu_indexes) else ()
        addresses = ctx.node_device_ips[node] if node < len(ctx.node_device_ips) else ()
        devices = []
        for position, index in enumerate(indexes):
            device: dict[str, str] = {"device_id": str(index), "rank_id": str(rank)}
            if position < len(addresses):
                device["device_ip"] = addresses[position]
            devices.append(device)
            rank += 1
        servers.append({"server_id": ip, "container_ip": ip, "device": devices})
    return {"version": "1.0", "server_count": str(len(servers)), "server_list": servers,
            "status": "completed"}  # fmt: skip


def mindie_config(ctx: NodeContext, flags: dict[str, str]) -> dict[str, object]:
    """MindIE's config.json for one node: addresses and ports, NPUs, lengths, batch."""
    cap = min(ctx.derived_context or DEFAULT_CONTEXT_CAP, DEFAULT_CONTEXT_CAP)
    seq = _int_flag(flags, "--max-seq-len", cap)
    multi = len(ctx.node_gpus) > 1
    model: dict[str, object] = {
        "modelInstanceType": "Standard", "modelName": ctx.model_name,
        "modelWeightPath": ctx.model_path, "worldSize": len(ctx.gpus),
        "cpuMemSize": _int_flag(flags, "--cpu-mem-size", 0), "npuMemSize": -1,
        "backendType": "atb", "trustRemoteCode": "--trust-remote-code" in flags,
    }  # fmt: skip
    for flag in ("--tp", "--dp", "--pp"):
        if flag in flags:
            model[flag.removeprefix("--")] = _int_flag(flags, flag, 1)
    schedule: dict[str, object] = {}
    if "--enable-prefix-caching" in flags:
        model["plugin_params"] = json.dumps({"plugin_type": "prefix_cache"})
        schedule["enablePrefixCache"] = True
    # A dry run has no port yet: the plan shows `{port}` where it goes.
    port: int | str = "{port}" if ctx.port is None else ctx.port
    multi_port = ctx.ports[1] if len(ctx.ports) > 1 else _port(ctx.port and ctx.port + 1)
    return {
        "Version": "1.0.0",
        "ServerConfig": {
            "ipAddress": ctx.worker_ip, "managementIpAddress": ctx.worker_ip,
            "port": port, "managementPort": port, "metricsPort": port,
            "allowAllZeroIpListening": False, "httpsEnabled": False, "interCommTLSEnabled": False,
            "openAiSupport": "vllm", "inferMode": "standard", "tokenTimeout": 600,
            "e2eTimeout": 600,
        },
        "BackendConfig": {
            "backendName": "mindieservice_llm_engine", "modelInstanceNumber": 1,
            "npuDeviceIds": [list(range(len(ctx.gpus)))], "tokenizerProcessNumber": 8,
            "multiNodesInferEnabled": multi, "multiNodesInferPort": multi_port,
            "interNodeTLSEnabled": False,
            "ModelDeployConfig": {
                "maxSeqLen": seq, "truncation": False,
                "maxInputTokenLen": _int_flag(flags, "--max-input-token-len", seq),
                "ModelConfig": [model],
            },
            "ScheduleConfig": {
                "templateType": "Standard", "templateName": "Standard_LLM", "cacheBlockSize": 128,
                "maxPrefillBatchSize": 50,
                "maxPrefillTokens": _int_flag(flags, "--max-prefill-tokens", seq),
                "maxIterTimes": _int_flag(flags, "--max-iter-times", seq),
                "maxBatchSize": _int_flag(flags, "--max-batch-size", 200), **schedule,
            },
        },
    }  # fmt: skip


def mindie(ctx: NodeContext) -> LaunchPlan:
    """MindIE's daemon behind a prep script that writes its generated config.json (and, across
    nodes, the rank table) first; env from the catalog, the NPUs and the memory fraction."""
    flags = _mindie_flags(ctx.user_args)
    config = mindie_config(ctx, flags)
    fraction = flags.get("--npu-memory-fraction")
    if fraction is None:
        fraction = _number(ctx.utilization) if ctx.utilization is not None else "0.8"
    elif not _is_fraction(fraction):
        raise ValueError(
            f"MindIE backend parameter --npu-memory-fraction must be above 0 and at most 1, "
            f"not {fraction!r}"
        )
    # The runtime passes only the chosen NPUs into the container, where they count from 0.
    env = {
        **MINDIE_ENV,
        "MIES_CONFIG_JSON_PATH": MINDIE_CONFIG,
        "ASCEND_RT_VISIBLE_DEVICES": ",".join(str(i) for i in range(len(ctx.gpus))),
        "NPU_MEMORY_FRACTION": fraction,
    }
    table = ""
    if len(ctx.node_gpus) > 1:
        if len(ctx.node_ips) != len(ctx.node_gpus) or len(ctx.node_gpu_indexes) != len(
            ctx.node_gpus
        ):
            raise ValueError(
                "MindIE across nodes needs every node's address and NPU indexes for its rank "
                "table (node_ips, node_gpu_indexes)"
            )
        env.update(MINDIE_MULTI_NODE_ENV)
        env.update({"MIES_CONTAINER_IP": ctx.worker_ip, "HOST_IP": ctx.worker_ip})
        env["RANK_TABLE_FILE"] = env["RANKTABLEFILE"] = MINDIE_RANK_TABLE
        env["WORLD_SIZE"] = str(sum(len(i) for i in ctx.node_gpu_indexes))
        env["RANK"] = str(ctx.rank)
        table = json.dumps(_rank_table(ctx), separators=(",", ":"))
    env = {**MINDIE.env, **env, **ctx.user_env}
    argv = ["sh", "-c", MINDIE_PREP, "gpustack-mindie-prep",
            json.dumps(config, separators=(",", ":")), table, MINDIE_DAEMON]  # fmt: skip
    return LaunchPlan(argv=argv, env=env, image=_image(ctx), gpus=ctx.gpus)


BUILDERS = {"vllm": vllm, "sglang": sglang, "voxbox": voxbox, "mindie": mindie}


def build(ctx: NodeContext) -> LaunchPlan:
    """The plan of one node; KeyError for a backend without a builder."""
    try:
        builder = BUILDERS[ctx.backend]
    except KeyError:
        raise KeyError(f"no launch plan for backend {ctx.backend!r} yet") from None
    return builder(ctx)
