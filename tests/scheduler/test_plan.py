"""`gpustack-tui plan`: on a cluster file (pure) and on the live cluster (real server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.fixtures.models import write_tiny_model
from tests.fixtures.server import RunningServer

GIB = 1024**3

CLUSTER = {
    "workers": [
        {
            "name": "w1",
            "labels": {"zone": "a"},
            "ram_gib": 512,
            "gpus": [
                {"index": 0, "name": "H100", "memory_gib": 80},
                {"index": 1, "name": "H100", "memory_gib": 80},
            ],
        },
        {
            "name": "w2",
            "labels": {"zone": "b"},
            "ram_gib": 256,
            "gpus": [{"index": 0, "name": "L4", "memory_gib": 24}],
        },
        {
            "name": "w3",
            "state": "unreachable",
            "labels": {"zone": "a"},
            "gpus": [{"index": 0, "memory_gib": 80}],
        },
    ],
    "instances": [{"deployment": "other", "worker": "w1", "gpus": [0], "vram_gib": {0: 72}}],
}


def deployment(tmp_path: Path, **overrides) -> Path:
    spec = {
        "name": "chat",
        "source": {"local_path": str(tmp_path / "not-here")},
        "replicas": 2,
        "advanced": {"command": "serve {port}", "vram_claim_gib": 20},
    }
    for key, value in overrides.items():
        spec.setdefault(key, {}).update(value) if isinstance(value, dict) else spec.update(
            {key: value}
        )
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run_plan(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gpustack_tui", "plan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_plan_on_a_cluster_file(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(yaml.safe_dump(CLUSTER))
    result = run_plan(
        "--deployment", str(deployment(tmp_path)), "--cluster", str(cluster), "--json"
    )
    assert result.returncode == 0, result.stderr
    replicas = json.loads(result.stdout)["replicas"]
    # Spread: w1 GPU 0 has only 8 GiB left; the first replica goes to w1 GPU 1 or w2;
    # w2 carries nothing, so it scores higher; the second replica then prefers w1.
    assert [(r["nodes"][0]["worker"], r["nodes"][0]["gpus"]) for r in replicas] == [
        ("w2", [0]),
        ("w1", [1]),
    ]
    assert replicas[0]["nodes"][0]["vram_claim_bytes"] == {"0": 20 * GIB}
    assert all(r["fits"] for r in replicas)


def test_plan_says_why_nothing_fits(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(yaml.safe_dump(CLUSTER))
    spec = deployment(
        tmp_path,
        replicas=1,
        advanced={"vram_claim_gib": 100},
        scheduling={"worker_selector": {"zone": "a"}},
    )
    result = run_plan("--deployment", str(spec), "--cluster", str(cluster))
    assert result.returncode == 1
    assert "replica 1: does not fit" in result.stdout
    assert "w1: 1 of 2 GPUs free, 88.0 GiB allocatable, needs 100.0 GiB" in result.stdout
    assert "w2: labels do not match the worker selector {zone=a}" in result.stdout
    assert "w3: unreachable" in result.stdout


def test_plan_of_a_built_in_backend_shows_launch_and_context(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(yaml.safe_dump(CLUSTER))
    model = write_tiny_model(tmp_path / "tiny")
    spec = tmp_path / "vllm.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "tiny",
                "source": {"local_path": str(model)},
                "backend": "vllm",
                "replicas": 1,
                "scheduling": {"worker_selector": {"zone": "a"}},
                "advanced": {"backend_parameters": ["--max-num-seqs 8"]},
            }
        )
    )
    result = run_plan("--deployment", str(spec), "--cluster", str(cluster), "--json")
    assert result.returncode == 0, result.stderr
    (replica,) = json.loads(result.stdout)["replicas"]
    node = replica["nodes"][0]
    # vLLM claims 90% of a GPU: of zone a, only w1's GPU 1 has that much unclaimed.
    assert (node["worker"], node["gpus"]) == ("w1", [1])
    assert node["vram_claim_bytes"] == {"1": int(80 * GIB * 0.9)}
    assert replica["max_context"] == 32768
    assert node["launch"]["image"].startswith("docker.io/gpustack/runner:cuda")
    assert node["launch"]["argv"][:3] == ["vllm", "serve", str(model)]
    assert "--max-num-seqs" in node["launch"]["argv"]
    text = run_plan("--deployment", str(spec), "--cluster", str(cluster))
    assert "replica 1: fits, context that fits: 32768 tokens" in text.stdout


def test_plan_of_a_built_in_backend_needs_the_model_here(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(yaml.safe_dump(CLUSTER))
    spec = tmp_path / "vllm.yaml"
    missing = {"name": "x", "source": {"local_path": str(tmp_path / "nope")}, "backend": "vllm"}
    spec.write_text(yaml.safe_dump(missing))
    result = run_plan("--deployment", str(spec), "--cluster", str(cluster))
    assert result.returncode == 2
    assert "is not on this machine" in result.stderr and "Traceback" not in result.stderr


def test_plan_rejects_a_bad_cluster_file(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(yaml.safe_dump({"workers": [{"name": "w", "gpus": [{"index": 0}]}]}))
    result = run_plan("--deployment", str(deployment(tmp_path)), "--cluster", str(cluster))
    assert result.returncode == 2
    assert "workers.0.gpus.0.memory_gib" in result.stderr and "Traceback" not in result.stderr


def test_plan_on_the_live_cluster_starts_nothing(server: RunningServer, tmp_path: Path) -> None:
    env = server.cli_env()
    subprocess.run(
        [sys.executable, "-m", "gpustack_tui", "workers", "add", "local"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    model = tmp_path / "model"
    model.mkdir()
    spec = deployment(
        tmp_path,
        source={"local_path": str(model)},
        replicas=1,
        advanced={"allow_cpu_offloading": True},
    )
    result = run_plan("--deployment", str(spec), "--json", env=env)
    assert result.returncode == 0, result.stderr
    replica = json.loads(result.stdout)["replicas"][0]
    assert replica["fits"] and replica["nodes"][0]["worker"] == "local"
    assert replica["nodes"][0]["launch"] == {
        "image": None,
        "argv": ["serve", "{port}"],
        "env": {"CUDA_VISIBLE_DEVICES": ""},
    }
    assert server.client().list_deployments() == []
