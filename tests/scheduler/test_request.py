"""Built-in backends take their scheduler request from the estimate: claim share, memory in
all, tensor-parallel divisors, the user's parallelism flags, extended KV cache RAM; the dry run
adds each node's launch and the context that fits."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.estimate.backends import overhead_per_gpu
from gpustack_tui.estimate.fit import estimate
from gpustack_tui.estimate.kv import kv_shape
from gpustack_tui.estimate.params import BackendParameters
from gpustack_tui.estimate.spec import estimate_for_spec
from gpustack_tui.scheduler.dry_run import dry_run
from gpustack_tui.scheduler.model import GpuSnapshot, NoFit, WorkerSnapshot
from gpustack_tui.scheduler.request import fixed_gpu_count, request_for
from gpustack_tui.scheduler.schedule import place
from gpustack_tui.sources.facts import build_metadata
from tests.estimate import real_models as rm

GIB = 1024**3
H100 = 85899345920
QWEN3_8B = build_metadata("huggingface", "Qwen/Qwen3-8B", rm.QWEN3_8B_FILES, rm.QWEN3_8B)
LLAMA_70B = build_metadata("huggingface", "meta/llama-70b", rm.LLAMA_31_70B_FILES, rm.LLAMA_31_70B)
BGE_M3 = build_metadata("huggingface", "BAAI/bge-m3", rm.BGE_M3_FILES, rm.BGE_M3)


def spec(backend: str = "vllm", **overrides: object) -> DeploymentSpec:
    body: dict = {"name": "m", "source": {"huggingface": "Qwen/Qwen3-8B"}, "backend": backend}
    body.update(overrides)
    return DeploymentSpec.model_validate(body)


def worker(name: str, count: int, memory: int = H100, vendor: str = "nvidia") -> WorkerSnapshot:
    gpus = tuple(GpuSnapshot(i, memory, name="GPU", vendor=vendor) for i in range(count))
    return WorkerSnapshot(name, gpus, ram_total=512 * GIB)


def test_vllm_claims_its_share_and_needs_weights_overhead_and_the_launch_context() -> None:
    request = request_for(spec(), 0, {}, QWEN3_8B, [worker("w1", 1)])
    params = BackendParameters()
    # Qwen3-8B allows 40960 tokens; the launch plan caps an unchosen context at 8192.
    kv = kv_shape(QWEN3_8B, 1).bytes_for(8192)
    assert request.utilization == 0.9
    assert request.vram == QWEN3_8B.weight_bytes + overhead_per_gpu(QWEN3_8B, "vllm", params) + kv
    assert request.tp_divisors == (32, 151936)  # attention heads, vocabulary (no vision heads)
    assert (request.gpu_count, request.multi_gpu, request.distributed) == (None, True, True)
    assert request.ram == 0


@pytest.mark.parametrize(
    ("backend", "parameters", "scheduling", "count"),
    [
        ("vllm", ["--tensor-parallel-size=2"], {}, 2),
        ("vllm", ["--tensor-parallel-size 2", "--pipeline-parallel-size 2"], {}, 4),
        ("vllm", ["-tp", "4"], {}, 4),
        ("sglang", ["--tp-size 2", "--dp-size 2"], {}, 4),
        ("sglang", [], {}, None),
        ("vllm", ["--tensor-parallel-size=2"], {"gpus_per_replica": 8}, 8),  # the form wins
    ],
)
def test_user_parallelism_flags_fix_the_gpu_count(
    backend: str, parameters: list[str], scheduling: dict, count: int | None
) -> None:
    chosen = spec(backend, advanced={"backend_parameters": parameters}, scheduling=scheduling)
    assert fixed_gpu_count(chosen) == count
    assert request_for(chosen, 0, {}, QWEN3_8B, [worker("w1", 8)]).gpu_count == count


def test_a_malformed_parallelism_flag_is_named() -> None:
    chosen = spec(advanced={"backend_parameters": ["--tensor-parallel-size=two"]})
    with pytest.raises(ValueError, match="--tensor-parallel-size must be a number"):
        request_for(chosen, 0, {}, QWEN3_8B, [worker("w1", 1)])


def test_a_built_in_backend_without_metadata_cannot_be_placed() -> None:
    with pytest.raises(ValueError, match="needs the model's metadata"):
        request_for(spec(), 0, {}, None, [worker("w1", 1)])


def test_a_non_llm_model_on_vllm_claims_its_estimate_not_a_share() -> None:
    request = request_for(spec(), 0, {}, BGE_M3, [worker("w1", 1)])
    assert request.utilization == 0.0
    assert request.vram == estimate(BGE_M3, "vllm", [H100]).claim_per_gpu[0]


def test_voxbox_takes_one_gpu_and_its_estimate() -> None:
    request = request_for(spec("voxbox"), 0, {}, QWEN3_8B, [worker("w1", 2)])
    assert (request.multi_gpu, request.utilization, request.distributed) == (False, 0.0, False)


def test_distributed_inference_can_be_turned_off() -> None:
    chosen = spec(advanced={"distributed_across_workers": False})
    assert request_for(chosen, 0, {}, QWEN3_8B, [worker("w1", 1)]).distributed is False


def test_extended_kv_cache_reserves_ram() -> None:
    ratio = spec(performance={"extended_kv_cache": {"enabled": True, "ram_to_vram_ratio": 2}})
    request = request_for(ratio, 0, {}, QWEN3_8B, [worker("w1", 1)])
    assert request.ram == int(int(H100 * 0.9) * 2)
    capped = spec(performance={"extended_kv_cache": {"enabled": True, "max_ram_gib": 64}})
    assert request_for(capped, 0, {}, QWEN3_8B, [worker("w1", 1)]).ram == 64 * GIB


def test_workers_without_an_image_for_their_gpus_are_excluded_with_the_reason() -> None:
    workers = [worker("npu", 8, vendor="ascend"), worker("gpu", 1)]
    request = request_for(spec(), 0, {}, QWEN3_8B, workers)
    assert "has no image for cann GPUs" in request.excluded["npu"]
    result = place(request, workers, [])
    assert not isinstance(result, NoFit) and result.leader.worker == "gpu"


def test_llama_70b_needs_two_h100s_and_the_dry_run_shows_launch_and_context() -> None:
    chosen = spec(source={"huggingface": "meta/llama-70b"})
    workers = [worker("w1", 4)]
    request = request_for(chosen, 0, {}, LLAMA_70B, workers)
    single = place(request, [worker("one", 1)], [])
    assert isinstance(single, NoFit) and "one" in single.message
    report = dry_run(chosen, request, workers, [], LLAMA_70B, {"w1": "10.0.0.1"})
    replica = report["replicas"][0]
    assert replica["fits"] and replica["reasons"] == []
    node = replica["nodes"][0]
    assert node["gpus"] == [0, 1]
    assert node["vram_claim_bytes"] == {"0": int(H100 * 0.9), "1": int(H100 * 0.9)}
    expected = estimate_for_spec(chosen, LLAMA_70B, [H100, H100]).largest_context
    assert replica["max_context"] == expected and expected > 0
    launch = node["launch"]
    assert launch["image"] == "docker.io/gpustack/runner:cuda12.9-vllm0.25.1"
    argv = launch["argv"]
    assert argv[:3] == ["vllm", "serve", "{model_path}"]  # a hub model: its path comes later
    for flag, value in (
        ("--tensor-parallel-size", "2"),
        ("--gpu-memory-utilization", "0.9"),
        ("--max-model-len", "8192"),
        ("--port", "{port}"),
        ("--host", "10.0.0.1"),
        ("--served-model-name", "m"),
    ):
        assert argv[argv.index(flag) + 1] == value


def test_the_dry_run_of_a_model_that_fits_nowhere_says_why() -> None:
    chosen = spec(source={"huggingface": "meta/llama-70b"}, scheduling={"gpus_per_replica": 1})
    workers = [worker("w1", 2)]
    report = dry_run(chosen, request_for(chosen, 0, {}, LLAMA_70B, workers), workers, [])
    replica = report["replicas"][0]
    assert not replica["fits"] and replica["max_context"] is None
    assert any("w1" in reason for reason in replica["reasons"])


def test_mindie_across_two_ascend_workers_gets_a_rank_table() -> None:
    chosen = spec(
        "mindie",
        scheduling={"mode": "manual", "gpu_selector": ["a1:0", "a2:3"], "gpus_per_replica": 2},
    )
    workers = [worker("a1", 8, 64 * GIB, "ascend"), worker("a2", 8, 64 * GIB, "ascend")]
    request = request_for(chosen, 0, {}, QWEN3_8B, workers)
    addresses = {"a1": "10.0.0.1", "a2": "10.0.0.2"}
    (replica,) = dry_run(chosen, request, workers, [], QWEN3_8B, addresses)["replicas"]
    assert replica["fits"], replica["reasons"]
    assert [(n["worker"], n["gpus"]) for n in replica["nodes"]] == [("a1", [0]), ("a2", [3])]
    for rank, node in enumerate(replica["nodes"]):
        launch = node["launch"]
        assert "mindie" in launch["image"] and "cann" in launch["image"]
        assert launch["env"]["WORLD_SIZE"] == "2"
        assert "RANK_TABLE_FILE" in launch["env"]
        assert launch["env"]["NPU_MEMORY_FRACTION"] == "0.8"
        assert launch["env"].get("MIES_CONTAINER_IP") == addresses[node["worker"]], rank


def test_the_dry_run_shows_the_image_each_worker_pulls_through_its_mirrors() -> None:
    workers = [worker("w1", 1), worker("w2", 1)]
    request = request_for(spec(replicas=2), 0, {}, QWEN3_8B, workers)
    mirrors = {"w1": ({"docker.io/gpustack/": "registry.lab:5000/gpustack/"}, {})}
    report = dry_run(spec(replicas=2), request, workers, [], QWEN3_8B, {}, None, mirrors)
    images = {r["nodes"][0]["worker"]: r["nodes"][0]["launch"]["image"] for r in report["replicas"]}
    assert images == {
        "w1": "registry.lab:5000/gpustack/runner:cuda12.9-vllm0.25.1",
        "w2": "docker.io/gpustack/runner:cuda12.9-vllm0.25.1",
    }
