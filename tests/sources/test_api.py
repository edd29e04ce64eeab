"""The estimate and search API of a real server process, its client methods, the `estimate`
command, and local paths read through a worker's agent over a real sshd."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from gpustack_tui.cli.main import cli
from gpustack_tui.client import ApiError
from tests.fixtures.hub_server import HF_TOKEN, HubServer
from tests.fixtures.server import RunningServer

GIB = 1024**3


def post(server: RunningServer, body: dict) -> httpx.Response:
    token = server.paths.token_file.read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{server.url}/api/v1/estimate", json=body, headers=headers, timeout=60)


def gt(server: RunningServer, *args: str) -> object:
    env = {"GPUSTACK_TUI_DATA_DIR": str(server.data_dir), "GPUSTACK_TUI_SERVER": None}
    return CliRunner().invoke(cli, list(args), env={**env, "NO_COLOR": "1"})


def test_estimate_hub_model(hub: HubServer, server: RunningServer) -> None:
    with server.client() as client:
        answer = client.estimate(
            {"source": {"huggingface": "Qwen/Qwen3-0.6B"}, "gpus": 1, "gpu_memory": 24 * GIB}
        )
    assert answer["metadata"]["weight_bytes"] == 1503300328
    assert answer["metadata"]["parameters_by_dtype"] == {"BF16": 751632384}
    est = answer["estimate"]
    assert est["claim_per_gpu"] == [int(24 * GIB * 0.9)]
    assert est["kv_bytes_per_token"] == 114688 and est["fits"]
    assert answer["minimum"]["gpu_count"] == 1
    assert answer["gpu_source"] == "request"


def test_search_api_and_client(hub: HubServer, server: RunningServer) -> None:
    with server.client() as client:
        hits = client.search_models("qwen3")
        assert [h.model_id for h in hits][:2] == ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-8B"]
        ms = client.search_models("Qwen3-8B", source="modelscope")
        assert [h.model_id for h in ms] == ["Qwen/Qwen3-8B"]
        with pytest.raises(ApiError) as bad:
            client.search_models("x", source="civitai")
        assert bad.value.status == 422
    unauthenticated = httpx.get(f"{server.url}/api/v1/models/search?q=qwen3", timeout=10)
    assert unauthenticated.status_code == 401


def test_estimate_errors_are_clear(hub: HubServer, server: RunningServer, tmp_path: Path) -> None:
    gated = post(
        server, {"source": {"huggingface": "meta-llama/Llama-3.1-8B"}, "gpus": 1, "gpu_memory": GIB}
    )
    assert gated.status_code == 403
    assert gated.json()["error"]["code"] == "gated"
    missing = post(server, {"source": {"local_path": str(tmp_path / "none")}, "gpu_memory": GIB})
    assert missing.status_code == 404
    assert "no worker is ready" in missing.json()["error"]["message"]
    bad_param = post(
        server,
        {
            "source": {"huggingface": "Qwen/Qwen3-0.6B"},
            "gpu_memory": GIB,
            "backend_parameters": ["--max-model-len=lots"],
        },
    )
    assert bad_param.status_code == 422
    assert "--max-model-len must be a number" in bad_param.json()["error"]["message"]
    two_sources = post(server, {"source": {"huggingface": "a/b", "local_path": "/x"}})
    assert two_sources.status_code == 422


def test_local_path_on_the_server_needs_gpus(server: RunningServer, model_dir: Path) -> None:
    no_gpus = post(server, {"source": {"local_path": str(model_dir)}})
    assert no_gpus.status_code == 422
    assert "--gpu-memory 80GiB" in no_gpus.json()["error"]["message"]
    answer = post(server, {"source": {"local_path": str(model_dir)}, "gpu_memory": 80 * GIB}).json()
    assert answer["metadata"]["num_layers"] == 28
    assert answer["minimum"]["gpu_count"] == 1


def test_cli_estimate(hub: HubServer, server: RunningServer, model_dir: Path) -> None:
    result = gt(server, "estimate", "Qwen/Qwen3-0.6B", "--gpus", "1", "--gpu-memory", "24GiB")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "model         Qwen/Qwen3-0.6B (huggingface" in out
    assert "KV cache      112.00 KiB per token" in out
    assert "claims 90% of each GPU (--gpu-memory-utilization=0.9)" in out
    assert "result        fits on 1 GPU(s)" in out
    local = gt(
        server,
        "estimate",
        str(model_dir),
        "--gpu-memory",
        "16G",
        "--backend",
        "custom",
        "--backend-param=--ctx-size=4096",
        "--json",
    )
    assert local.exit_code == 0, local.output
    answer = json.loads(local.stdout)
    assert answer["metadata"]["source"] == "local"
    assert answer["estimate"]["context_requested"] == 4096
    bad = gt(server, "estimate", "Qwen/Qwen3-0.6B", "--gpu-memory", "lots")
    assert bad.exit_code == 2 and "give a size such as 80GiB" in bad.stderr
    refused = gt(server, "estimate", "meta-llama/Llama-3.1-8B", "--gpu-memory", "24GiB")
    assert refused.exit_code == 1 and "is gated" in refused.stderr


def test_local_path_through_a_worker_agent(
    server: RunningServer, sshd_server, model_dir: Path
) -> None:
    with server.client() as client:
        try:
            client.add_worker(sshd_server.destination, "gpu1", str(sshd_server.identity_file))
        except ApiError as exc:
            fingerprint = exc.details["fingerprint"]
            client.add_worker(
                sshd_server.destination, "gpu1", str(sshd_server.identity_file), fingerprint
            )
        answer = client.estimate({"source": {"local_path": str(model_dir)}, "worker": "gpu1"})
    assert answer["metadata"]["num_layers"] == 28
    assert answer["gpu_source"] == "worker gpu1"
    assert answer["estimate"]["gpu_memory"][0] > 20 * GIB  # the worker's simulated 24 GiB GPU
    missing = post(server, {"source": {"local_path": "/no/such/model"}, "worker": "gpu1"})
    assert missing.status_code == 404
    assert "not found on: gpu1" in missing.json()["error"]["message"]


@pytest.fixture
def hf_login(hub: HubServer, tmp_path: Path) -> None:
    """A cached `hf auth login`: the token file in HF_HOME, read by the server process."""
    home = tmp_path / "hf"
    home.mkdir(exist_ok=True)
    (home / "token").write_text(HF_TOKEN)


def test_cached_hf_login_is_used(hf_login: None, hub: HubServer, server: RunningServer) -> None:
    answer = post(
        server, {"source": {"huggingface": "acme/secret-model"}, "gpus": 1, "gpu_memory": GIB}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["metadata"]["model_id"] == "acme/secret-model"
    assert any(auth == f"Bearer {HF_TOKEN}" for _m, _p, auth in hub.state.requests)
