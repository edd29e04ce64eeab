"""Launch plans of the built-in backends: the reference's acceptance cases (§11, 5-14)."""

from __future__ import annotations

import pytest

from gpustack_tui.backends.catalog import BUILTIN, VLLM, extended_kv_cache_problem
from gpustack_tui.backends.launch import GIB, KvCache, NodeContext, build
from gpustack_tui.domain.backend_params import flatten

QWEN = "/cache/huggingface/Qwen/Qwen3-0.6B"


def vllm_ctx(**kw) -> NodeContext:
    base = dict(
        backend="vllm", version="0.25.1", family="cuda", model_path=QWEN, model_name="qwen3",
        worker_ip="192.168.50.10", port=40012, gpus=(0,), derived_context=40960,
    )  # fmt: skip
    base.update(kw)
    return NodeContext(**base)


def test_5_vllm_one_gpu() -> None:
    plan = build(vllm_ctx())
    assert plan.image == "docker.io/gpustack/runner:cuda12.9-vllm0.25.1"
    assert plan.argv == [
        "vllm", "serve", QWEN, "--max-model-len", "8192",
        "--disable-access-log-for-endpoints", "/metrics", "--enable-prompt-tokens-details",
        "--host", "192.168.50.10", "--port", "40012", "--served-model-name", "qwen3",
    ]  # fmt: skip
    assert plan.gpus == (0,)
    assert plan.env["OMP_NUM_THREADS"] == "1"


def test_6_user_flags_come_before_what_the_server_adds() -> None:
    user = flatten(["--host", "0.0.0.0", "--temperature", "0.2"])
    plan = build(vllm_ctx(port=4000, model_name="llm", user_args=user))
    assert plan.argv[-8:] == [
        "--host", "0.0.0.0", "--temperature", "0.2", "--port", "4000",
        "--served-model-name", "llm",
    ]  # fmt: skip


def test_7_tensor_parallel_unless_the_user_chose_parallelism() -> None:
    assert "--tensor-parallel-size" in build(vllm_ctx(gpus=(0, 1, 2, 3))).argv
    index = build(vllm_ctx(gpus=(0, 1, 2, 3))).argv.index("--tensor-parallel-size")
    assert build(vllm_ctx(gpus=(0, 1, 2, 3))).argv[index + 1] == "4"
    mine = build(vllm_ctx(gpus=(0, 1, 2, 3), user_args=["--tp", "2"]))
    assert "--tensor-parallel-size" not in mine.argv and "--tp" in mine.argv


@pytest.mark.parametrize(
    ("ratio", "max_ram", "chunk", "size"), [(1.2, None, 256, "28.8"), (1.2, 64, 256, "64")]
)
def test_8_extended_kv_cache_with_lmcache(ratio, max_ram, chunk, size) -> None:
    cache = KvCache(chunk, ratio, max_ram, node_vram_claim=24 * GIB)
    plan = build(vllm_ctx(kv_cache=cache))
    assert plan.env["LMCACHE_MAX_LOCAL_CPU_SIZE"] == size
    assert plan.env["LMCACHE_CHUNK_SIZE"] == str(chunk)
    assert '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}' in plan.argv


def test_9_vllm_over_ray_on_two_eight_gpu_nodes() -> None:
    common = dict(gpus=tuple(range(8)), node_gpus=(8, 8), leader_ip="10.0.0.1",
                  ports=(40012, 40013))  # fmt: skip
    leader = build(vllm_ctx(rank=0, worker_ip="10.0.0.1", **common))
    text = " ".join(leader.argv)
    assert (
        "--tensor-parallel-size 8 --pipeline-parallel-size 2 --distributed-executor-backend ray"
        in text
    )
    assert leader.sidecar is not None and leader.sidecar.argv[:4] == [
        "ray", "start", "--head", "--block"
    ]  # fmt: skip
    assert "--port=41000" in leader.sidecar.argv
    assert leader.env["VLLM_PORT"] == "40013"
    follower = build(vllm_ctx(rank=1, worker_ip="10.0.0.2", **common))
    assert follower.argv[:4] == ["ray", "start", "--block", "--address=10.0.0.1:41000"]


def test_12_sglang_two_gpus() -> None:
    ctx = NodeContext(
        backend="sglang", version="0.5.15.post1", family="cuda", model_path="/m", model_name="s",
        worker_ip="10.0.0.3", port=4000, gpus=(0, 1), utilization=0.85,
        user_env={"GPUSTACK_DISABLE_METRICS": "1"},
    )  # fmt: skip
    assert build(ctx).argv == [
        "sglang", "serve", "--model-path", "/m", "--tp-size", "2",
        "--uvicorn-access-log-exclude-prefixes", "/metrics", "--enable-cache-report",
        "--mem-fraction-static", "0.85", "--host", "10.0.0.3", "--port", "4000",
    ]  # fmt: skip


@pytest.mark.parametrize("rank", [0, 1])
def test_13_sglang_across_two_nodes(rank: int) -> None:
    ctx = NodeContext(
        backend="sglang", version="auto", family="cuda", model_path="/m", model_name="s",
        worker_ip=f"10.0.0.{rank + 1}", port=4000, gpus=(0, 1, 2, 3), rank=rank,
        node_gpus=(4, 4), leader_ip="10.0.0.1", ports=(4000, 4001),
    )  # fmt: skip
    text = " ".join(build(ctx).argv)
    assert (
        f"--tp-size 4 --pp-size 2 --nnodes 2 --node-rank {rank} --dist-init-addr 10.0.0.1:4001"
        in text
    )


def test_14_voxbox_on_gpu_one() -> None:
    ctx = NodeContext(
        backend="voxbox", version="auto", family="cuda", model_path="/models/audio",
        model_name="tts", worker_ip="10.0.0.4", port=4000, gpus=(1,),
        data_dir="/var/lib/gpustack",
    )  # fmt: skip
    assert build(ctx).argv == [
        "vox-box", "start", "--model", "/models/audio", "--data-dir", "/var/lib/gpustack",
        "--host", "10.0.0.4", "--port", "4000", "--device", "cuda:1",
    ]  # fmt: skip


def test_catalog_versions_and_compatibility() -> None:
    assert VLLM.version("auto").version == "0.25.1"
    with pytest.raises(KeyError, match=r"no version '9\.9'"):
        VLLM.version("9.9")
    assert [v.version for v in BUILTIN["mindie"].versions_for({"cuda"})] == []
    assert BUILTIN["mindie"].versions_for({"cann"})
    assert extended_kv_cache_problem("vllm", {"cuda", "rocm"}) is None
    assert "CUDA" in (extended_kv_cache_problem("sglang", {"cann"}) or "")
    assert "vLLM or SGLang" in (extended_kv_cache_problem("voxbox", {"cuda"}) or "")
    with pytest.raises(KeyError, match="llama-box"):
        build(NodeContext("llama-box", "auto", "cuda", "/m", "m", "h", 1, (0,)))
