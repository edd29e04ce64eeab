"""The deployment spec, env parsing, the custom backend's plan and terminal sanitizing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gpustack_tui.backends.custom import build_custom_plan
from gpustack_tui.domain.deployment import DeploymentSpec, unsupported_features
from gpustack_tui.domain.env import parse_env_items
from gpustack_tui.domain.instance import InstanceState, can_move
from gpustack_tui.domain.text import sanitize_terminal_text
from gpustack_tui.domain.units import GIB
from gpustack_tui.estimate.claim import MIN_CLAIM, resource_request


def make(**overrides: object) -> DeploymentSpec:
    body: dict = {
        "name": "qwen3",
        "source": {"local_path": "/models/q"},
        "advanced": {"command": "serve {model_path} --port {port}"},
    }
    body.update(overrides)
    return DeploymentSpec.model_validate(body)


def test_full_yaml_shape_is_accepted_and_kept() -> None:
    spec = make(
        performance={"extended_kv_cache": {"enabled": False, "chunk_size": 512}},
        scheduling={"mode": "auto", "placement": "binpack", "worker_selector": {"gpu": "a100"}},
    )
    again = DeploymentSpec.model_validate(spec.model_dump(mode="json"))
    assert again == spec
    assert again.scheduling.placement == "binpack"
    assert again.performance.extended_kv_cache.chunk_size == 512


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"name": "Bad Name"}, "name must be"),
        ({"source": {}}, "exactly one"),
        ({"source": {"local_path": "/a", "huggingface": "b/c"}}, "exactly one"),
        ({"source": {"modelscope": "not a repo; rm -rf /"}}, "must look like ORG/NAME"),
        ({"source": {"huggingface": "a/b/c"}}, "must look like ORG/NAME"),
        ({"replicas": -1}, "greater than or equal to 0"),
        ({"advanced": {"command": ""}}, "needs a command line"),
        ({"advanced": {"command": "x 'unbalanced"}}, "quotes"),
        ({"advanced": {"command": "x", "env": {"1A": "b"}}}, "1A"),
        ({"advanced": {"command": "x", "comand": "typo"}}, "comand"),
        ({"scheduling": {"gpu_selector": ["nocolon"]}}, "WORKER:GPU_INDEX"),
        ({"scheduling": {"gpus_per_replica": 0}}, "at least 1"),
    ],
)
def test_invalid_specs_say_what_is_wrong(overrides: dict, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        make(**overrides)
    assert fragment in str(error.value)


def test_unsupported_features_are_named() -> None:
    hub = {"huggingface": "Qwen/Qwen3-0.6B"}
    assert unsupported_features(make(source=hub, backend="vllm")) == []
    offload = make(source=hub, backend="vllm", advanced={"allow_cpu_offloading": True})
    assert "CPU offloading is for custom backends only" in unsupported_features(offload)[0]
    kv = {"extended_kv_cache": {"enabled": True}}
    assert unsupported_features(make(source=hub, backend="sglang", performance=kv)) == []
    reasons = unsupported_features(make(source=hub, backend="voxbox", performance=kv))
    assert "extended KV cache needs vLLM or SGLang, not voxbox" in reasons[0]
    assert unsupported_features(make()) == []


def test_env_items() -> None:
    assert parse_env_items(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    for bad in ("NOEQUALS", "=v", "1A=2", "A B=1"):
        with pytest.raises(ValueError, match=r"NAME=VALUE|invalid"):
            parse_env_items([bad])


def test_custom_plan_fills_placeholders_per_word() -> None:
    plan = build_custom_plan(
        command="serve {model_path} --port={port} --name {model_name} --gpus {gpu_ids}",
        env={"A": "1"},
        model_path="/models/with space",
        model_name="qwen3",
        port=40001,
        gpu_indexes=(0, 2),
        worker_ip="10.0.0.2",
    )
    assert plan.argv == [
        "serve",
        "/models/with space",
        "--port=40001",
        "--name",
        "qwen3",
        "--gpus",
        "0,2",
    ]
    assert plan.env == {"CUDA_VISIBLE_DEVICES": "0,2", "A": "1"}


def test_custom_plan_appends_backend_parameters_after_the_command() -> None:
    # The reference's case 15: the user's flags follow the command line as given.
    plan = build_custom_plan(
        "python -m srv --model-path {model_path} --port {port}",
        {},
        "/models/x",
        "m",
        4000,
        (),
        "h",
        backend_parameters=["--temperature", "0.2"],
    )
    assert plan.argv == [
        "python",
        "-m",
        "srv",
        "--model-path",
        "/models/x",
        "--port",
        "4000",
        "--temperature",
        "0.2",
    ]


def test_backend_parameters_are_checked_in_the_spec() -> None:
    with pytest.raises(ValidationError, match="quotes"):
        make(advanced={"command": "x", "backend_parameters": ['--a "b']})
    with pytest.raises(ValidationError, match="--port is set by gpustack-tui"):
        make(backend="vllm", advanced={"backend_parameters": ["--port 9000"]})
    assert make(advanced={"command": "x", "backend_parameters": ["--port 1"]})


def test_user_env_wins_over_visible_devices() -> None:
    plan = build_custom_plan("x", {"CUDA_VISIBLE_DEVICES": "7"}, "/m", "n", 1, (0,), "h")
    assert plan.env["CUDA_VISIBLE_DEVICES"] == "7"


def test_claim_from_user_or_model_size() -> None:
    assert resource_request(make(), 10 * GIB).vram_per_gpu == int(12 * GIB)
    assert resource_request(make(), 1000).vram_per_gpu == MIN_CLAIM
    given = make(advanced={"command": "x", "vram_claim_gib": 3, "allow_cpu_offloading": True})
    request = resource_request(given, 10 * GIB)
    assert request.vram_per_gpu == 3 * GIB and request.allow_cpu


def test_state_moves() -> None:
    assert can_move(InstanceState.PENDING, InstanceState.SCHEDULED)
    assert can_move(InstanceState.STARTING, InstanceState.RUNNING)
    assert not can_move(InstanceState.RUNNING, InstanceState.SCHEDULED)
    assert can_move(InstanceState.RUNNING, InstanceState.ERROR)
    assert can_move(InstanceState.UNREACHABLE, InstanceState.RUNNING)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain line\n", "plain line\n"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b]0;evil title\x07after", "after"),
        ("\x1b]52;c;Y29weQ==\x1b\\clip", "clip"),
        ("over\rwrite", "overwrite"),
        ("bell\x07 tab\tok", "bell tab\tok"),
        ("c1 \x9b31m csi", "c1 31m csi"),
        ("\x1bPdevice control\x1b\\done", "done"),
    ],
)
def test_sanitize(raw: str, shown: str) -> None:
    assert sanitize_terminal_text(raw) == shown
