"""User-defined backends: the definition's checks and the launch plan per node."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gpustack_tui.backends.user_backend import build_user_backend_plan
from gpustack_tui.domain.backend_params import BackendParameterError
from gpustack_tui.domain.user_backend import UnknownVersion, UserBackend, placeholders_in

LLAMA = "llama-server -m {model_path} --host {worker_ip} --port {port} --alias {model_name}"


def backend(**kw) -> UserBackend:
    base: dict = {"name": "llama-cpp", "image": "ghcr.io/ggml-org/llama.cpp:server-cuda",
                  "command": LLAMA, "health_path": "/v1/models"}  # fmt: skip
    base.update(kw)
    return UserBackend.model_validate(base)


def plan_of(b: UserBackend, version: str = "auto", **kw):
    base: dict = dict(
        model_path="/models/my model", model_name="chat", port=40001, gpu_indexes=(2, 3),
        worker_ip="10.1.0.5", backend_parameters=None, env=None,
    )  # fmt: skip
    base.update(kw)
    return build_user_backend_plan(b, version, **base)


def test_placeholders_are_filled_per_word_and_parameters_appended() -> None:
    plan = plan_of(backend(), backend_parameters=["--ctx-size 4096", "-ngl=99"])
    assert plan.argv == [
        "llama-server", "-m", "/models/my model", "--host", "10.1.0.5", "--port", "40001",
        "--alias", "chat", "--ctx-size", "4096", "-ngl=99",
    ]  # fmt: skip
    assert plan.image == "ghcr.io/ggml-org/llama.cpp:server-cuda"
    assert plan.gpus == (2, 3)
    assert "CUDA_VISIBLE_DEVICES" not in plan.env  # the container runtime shows the GPUs


def test_a_process_backend_sees_its_gpus_and_gpu_ids() -> None:
    b = backend(name="srv", image=None, command="python -m srv --gpus {gpu_ids} --m={model_path}")
    plan = plan_of(b)
    assert plan.image is None
    assert plan.argv == ["python", "-m", "srv", "--gpus", "2,3", "--m=/models/my model"]
    assert plan.env["CUDA_VISIBLE_DEVICES"] == "2,3"


def test_gpustack_double_braces_work_too() -> None:
    plan = plan_of(backend(command="trtllm-serve serve {{model_path}} --port {{port}}"))
    assert plan.argv == ["trtllm-serve", "serve", "/models/my model", "--port", "40001"]


def test_json_in_a_command_is_not_a_placeholder() -> None:
    b = backend(command="""srv --port {port} --cfg '{"a": {"b": 1}}'""")
    assert plan_of(b).argv == ["srv", "--port", "40001", "--cfg", '{"a": {"b": 1}}']


def test_a_dry_run_keeps_the_port_placeholder() -> None:
    assert "{port}" in plan_of(backend(), port=None).argv


def test_env_backend_then_deployment() -> None:
    b = backend(env={"A": "backend", "B": "backend"})
    plan = plan_of(b, env={"B": "deployment"})
    assert plan.env == {"A": "backend", "B": "deployment"}


def test_versions_override_image_and_command() -> None:
    b = backend(
        versions=[
            {"version": "b4000-custom", "image": "ghcr.io/ggml-org/llama.cpp:server-b4000"},
            {"version": "old", "command": "old-server --port {port}"},
        ],
        default_version="old",
    )
    assert plan_of(b).argv == ["old-server", "--port", "40001"]  # auto: the default version
    assert plan_of(b).image == "ghcr.io/ggml-org/llama.cpp:server-cuda"
    newer = plan_of(b, "b4000-custom")
    assert newer.image == "ghcr.io/ggml-org/llama.cpp:server-b4000"
    assert newer.argv[0] == "llama-server"
    with pytest.raises(UnknownVersion, match="b4000-custom, old"):
        plan_of(b, "nope")


def test_the_first_version_is_the_default_when_none_is_named() -> None:
    assert backend(versions=[{"version": "1"}, {"version": "2"}]).default_version == "1"
    assert backend().default_version is None


def test_a_bad_parameter_is_refused_by_item() -> None:
    with pytest.raises(BackendParameterError, match="--flag 'oops"):
        plan_of(backend(), backend_parameters=["--flag 'oops"])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": "vllm"}, "built-in"),
        ({"name": "custom"}, "built-in"),
        ({"name": "Llama CPP"}, "lowercase"),
        ({"command": "srv --port {port} --dev {device} --x {{gpu}}"}, "{device}, {gpu}"),
        ({"command": "srv 'unbalanced"}, "quotes"),
        ({"command": "  "}, "empty"),
        ({"command": "srv \x1b[2J --port {port}"}, "control character"),
        ({"image": "bad image"}, "no spaces"),
        ({"health_path": "v1/models"}, "start with '/'"),
        ({"env": {"1BAD": "x"}}, "1BAD"),
        ({"versions": [{"version": "a"}, {"version": "a"}]}, "more than once"),
        ({"versions": [{"version": "a"}], "default_version": "b"}, "not among"),
        ({"versions": [{"version": "a b"}]}, "version"),
        ({"versions": [{"version": "a", "command": "x {nope}"}]}, "{nope}"),
        ({"gpus": 2}, "extra"),
    ],
)
def test_bad_definitions_say_what_to_fix(change: dict, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        backend(**change)
    assert words in str(caught.value)


def test_unknown_placeholder_message_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        backend(command="srv {modelpath}")
    message = str(caught.value)
    assert "{modelpath}" in message and "{model_path}" in message and "{worker_ip}" in message
    assert placeholders_in("a {port} {{port}} {x}") == ["port", "x"]
