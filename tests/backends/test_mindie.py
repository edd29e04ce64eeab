"""MindIE launch plans (reference §4 MindIE, §6): config.json, NPUs, rank table, user flags.

The prep script is run for real with `sh`, the daemon replaced by `cat`, to show that it writes
the config and the rank table where MindIE reads them and then hands over to the daemon.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from gpustack_tui.backends.launch import (
    MINDIE_CONFIG,
    MINDIE_DAEMON,
    MINDIE_RANK_TABLE,
    NodeContext,
    build,
)
from gpustack_tui.domain.backend_params import flatten

QWEN = "/cache/huggingface/Qwen/Qwen3-8B"


def mindie_ctx(**kw) -> NodeContext:
    base = dict(
        backend="mindie", version="2.3.0", family="cann", model_path=QWEN, model_name="qwen3",
        worker_ip="192.168.60.10", port=40020, gpus=(0,), derived_context=40960,
    )  # fmt: skip
    base.update(kw)
    return NodeContext(**base)


def config_of(plan) -> dict:
    assert plan.argv[:2] == ["sh", "-c"] and plan.argv[-1] == MINDIE_DAEMON
    return json.loads(plan.argv[4])


def test_single_npu() -> None:
    plan = build(mindie_ctx())
    assert plan.image == "docker.io/gpustack/runner:cann8.5-910b-mindie2.3.0"
    assert plan.gpus == (0,)
    assert plan.env["MIES_CONFIG_JSON_PATH"] == MINDIE_CONFIG
    assert plan.env["MIES_SERVICE_MONITOR_MODE"] == "1"
    assert plan.env["MINDIE_LLM_FRAMEWORK_BACKEND"] == "ATB"
    assert plan.env["ASCEND_RT_VISIBLE_DEVICES"] == "0"
    assert plan.env["NPU_MEMORY_FRACTION"] == "0.8"
    assert plan.env["MINDIE_CHECK_INPUTFILES_PERMISSION"] == "0"
    assert "RANK_TABLE_FILE" not in plan.env and "MIES_CONTAINER_IP" not in plan.env
    config = config_of(plan)
    server = config["ServerConfig"]
    assert (server["ipAddress"], server["port"]) == ("192.168.60.10", 40020)
    assert server["managementPort"] == server["metricsPort"] == 40020
    assert server["httpsEnabled"] is False and server["openAiSupport"] == "vllm"
    backend = config["BackendConfig"]
    assert backend["npuDeviceIds"] == [[0]]
    assert backend["multiNodesInferEnabled"] is False
    deploy = backend["ModelDeployConfig"]
    model = deploy["ModelConfig"][0]
    assert (model["modelName"], model["modelWeightPath"], model["worldSize"]) == ("qwen3", QWEN, 1)
    # The derived 40960 is capped at 8192 for every length.
    assert deploy["maxSeqLen"] == deploy["maxInputTokenLen"] == 8192
    schedule = backend["ScheduleConfig"]
    assert schedule["maxPrefillTokens"] == schedule["maxIterTimes"] == 8192
    assert schedule["maxBatchSize"] == 200


def test_a_short_model_keeps_its_length() -> None:
    config = config_of(build(mindie_ctx(derived_context=4096)))
    assert config["BackendConfig"]["ModelDeployConfig"]["maxSeqLen"] == 4096


def test_four_npus_from_the_utilization() -> None:
    plan = build(mindie_ctx(gpus=(4, 5, 6, 7), utilization=0.9))
    assert plan.gpus == (4, 5, 6, 7)
    # Only the chosen NPUs are in the container, counted from 0 there.
    assert plan.env["ASCEND_RT_VISIBLE_DEVICES"] == "0,1,2,3"
    assert plan.env["NPU_MEMORY_FRACTION"] == "0.9"
    config = config_of(plan)
    assert config["BackendConfig"]["npuDeviceIds"] == [[0, 1, 2, 3]]
    assert config["BackendConfig"]["ModelDeployConfig"]["ModelConfig"][0]["worldSize"] == 4


@pytest.mark.parametrize("rank", [0, 1])
def test_two_nodes_share_one_rank_table(rank: int) -> None:
    ips = ("192.168.60.10", "192.168.60.11")
    ctx = mindie_ctx(
        gpus=((0, 1), (2, 3))[rank], worker_ip=ips[rank], rank=rank, node_gpus=(2, 2),
        leader_ip=ips[0], ports=(40020, 40021), node_ips=ips,
        node_gpu_indexes=((0, 1), (2, 3)), node_device_ips=(("10.0.0.1", "10.0.0.2"), ()),
    )  # fmt: skip
    plan = build(ctx)
    assert plan.env["RANK_TABLE_FILE"] == plan.env["RANKTABLEFILE"] == MINDIE_RANK_TABLE
    assert plan.env["ATB_LLM_COMM_BACKEND"] == "hccl"
    assert plan.env["WORLD_SIZE"] == "4"
    assert plan.env["RANK"] == str(rank)
    assert plan.env["MIES_CONTAINER_IP"] == ips[rank]
    config = config_of(plan)
    assert config["BackendConfig"]["multiNodesInferEnabled"] is True
    assert config["BackendConfig"]["multiNodesInferPort"] == 40021
    assert config["ServerConfig"]["ipAddress"] == ips[rank]
    table = json.loads(plan.argv[5])
    assert table["server_count"] == "2"
    first, second = table["server_list"]
    assert first["server_id"] == first["container_ip"] == ips[0]
    assert first["device"] == [
        {"device_id": "0", "rank_id": "0", "device_ip": "10.0.0.1"},
        {"device_id": "1", "rank_id": "1", "device_ip": "10.0.0.2"},
    ]
    # Real NPU indexes, ranks counted on across nodes; no device IP known: left out.
    assert second["device"] == [
        {"device_id": "2", "rank_id": "2"},
        {"device_id": "3", "rank_id": "3"},
    ]


def test_user_parameters_map_into_the_config_and_env() -> None:
    user = flatten(
        ["--max-seq-len=32768", "--max-batch-size 64", "--npu-memory-fraction", "0.95",
         "--enable-prefix-caching", "--tp=2", "--trust-remote-code"]
    )  # fmt: skip
    plan = build(mindie_ctx(gpus=(0, 1), user_args=user, utilization=0.8))
    assert plan.env["NPU_MEMORY_FRACTION"] == "0.95"  # the user's flag beats the utilization
    config = config_of(plan)
    deploy = config["BackendConfig"]["ModelDeployConfig"]
    assert deploy["maxSeqLen"] == 32768  # the user's length is not capped
    assert config["BackendConfig"]["ScheduleConfig"]["maxBatchSize"] == 64
    model = deploy["ModelConfig"][0]
    assert model["tp"] == 2 and model["trustRemoteCode"] is True
    assert json.loads(model["plugin_params"]) == {"plugin_type": "prefix_cache"}
    assert config["BackendConfig"]["ScheduleConfig"]["enablePrefixCache"] is True
    # MindIE's daemon takes no flags: none reach its command line.
    assert plan.argv[-1] == MINDIE_DAEMON and "--tp=2" not in plan.argv


def test_user_env_wins() -> None:
    plan = build(mindie_ctx(user_env={"MINDIE_LLM_FRAMEWORK_BACKEND": "MS", "X": "1"}))
    assert plan.env["MINDIE_LLM_FRAMEWORK_BACKEND"] == "MS" and plan.env["X"] == "1"


@pytest.mark.parametrize(
    ("user", "words"),
    [
        (["--port", "9"], "'--port'"),
        (["--temperature=0.2"], "'--temperature=0.2'"),
        (["--max-batch-size"], "needs a value"),
        (["--max-batch-size=many"], "whole number"),
        (["--npu-memory-fraction=1.5"], "at most 1"),
    ],
)
def test_flags_mindie_cannot_take_are_refused_by_name(user: list[str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        build(mindie_ctx(user_args=flatten(user)))


def test_across_nodes_every_node_must_be_known() -> None:
    ctx = mindie_ctx(gpus=(0, 1), node_gpus=(2, 2), leader_ip="192.168.60.10")
    with pytest.raises(ValueError, match="node_ips"):
        build(ctx)


def test_a_dry_run_shows_where_the_port_goes() -> None:
    config = config_of(build(mindie_ctx(port=None)))
    assert config["ServerConfig"]["port"] == "{port}"


def test_the_prep_script_writes_the_files_then_runs_the_daemon(tmp_path: Path) -> None:
    ips = ("192.168.60.10", "192.168.60.11")
    plan = build(
        mindie_ctx(gpus=(0,), rank=0, node_gpus=(1, 1), leader_ip=ips[0], node_ips=ips,
                   node_gpu_indexes=((0,), (0,)))
    )  # fmt: skip
    env = {
        **os.environ,
        **plan.env,
        "MIES_CONFIG_JSON_PATH": str(tmp_path / "config.json"),
        "RANK_TABLE_FILE": str(tmp_path / "ranktable.json"),
    }
    argv = [*plan.argv[:-1], "cat", str(tmp_path / "config.json")]  # the daemon, replaced
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10, check=True)
    assert json.loads(done.stdout) == config_of(plan)
    assert json.loads((tmp_path / "ranktable.json").read_text()) == json.loads(plan.argv[5])
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o640


def test_the_prep_script_stops_when_it_cannot_write_the_config(tmp_path: Path) -> None:
    plan = build(mindie_ctx())
    env = {**os.environ, **plan.env, "MIES_CONFIG_JSON_PATH": str(tmp_path / "no" / "c.json")}
    argv = [*plan.argv[:-1], "echo", "daemon ran"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
    assert done.returncode != 0 and "daemon ran" not in done.stdout
