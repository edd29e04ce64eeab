"""`deploy` flags -> DeploymentSpec, and the errors that stop a deploy before anything is sent."""

from __future__ import annotations

import pytest

from gpustack_tui.cli.common import CliError
from gpustack_tui.cli.deploy_cmd import build_spec, parse_env_flags
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.views import DeploymentView


def test_build_spec_fills_source_and_advanced_section() -> None:
    spec = build_spec(
        "qwen3",
        source={"local_path": "/models/qwen3"},
        command="python serve.py --port {port}",
        replicas=2,
        env_items=["FOO=bar", "EMPTY=", "URL=http://x/?a=b"],
        generic_proxy=True,
        vram_gib=12.5,
        allow_cpu=True,
    )
    assert spec.source.local_path == "/models/qwen3"
    assert spec.backend == "custom"
    assert spec.replicas == 2
    assert spec.advanced.command == "python serve.py --port {port}"
    assert spec.advanced.env == {"FOO": "bar", "EMPTY": "", "URL": "http://x/?a=b"}
    assert spec.advanced.generic_proxy is True
    assert spec.advanced.vram_claim_gib == 12.5
    assert spec.advanced.allow_cpu_offloading is True
    # everything else keeps the form's defaults
    assert spec.scheduling == DeploymentSpec.model_fields["scheduling"].default_factory()


@pytest.mark.parametrize("item", ["FOO", "=x", "1X=2", "A-B=1"])
def test_malformed_env_names_the_item(item: str) -> None:
    with pytest.raises(CliError) as caught:
        parse_env_flags(["OK=1", item])
    assert caught.value.exit_code == 2
    assert repr(item) in caught.value.message


def test_invalid_flags_name_the_flag() -> None:
    with pytest.raises(CliError) as caught:
        build_spec("Bad_Name", source={"local_path": "/m"}, command=None, replicas=-1, vram_gib=-2)
    assert caught.value.exit_code == 2
    lines = "\n".join(caught.value.details)
    assert "NAME: name must be" in lines
    assert "--replicas:" in lines
    assert "--vram-gib:" in lines


@pytest.mark.parametrize("bad", ["FOO", "1X=2"])
def test_deploy_with_bad_env_sends_nothing(run, fake_client, bad: str) -> None:
    result = run("deploy", "m", "--local-path", "/m", "--command", "serve", "--env", bad)
    assert result.exit_code == 2
    assert f"--env {bad!r}" in result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    assert fake_client.calls == []


def test_deploy_without_command_is_a_usage_error(run, fake_client) -> None:
    result = run("deploy", "m", "--local-path", "/m")
    assert result.exit_code == 2
    assert "the custom backend needs a command line" in result.stderr
    assert fake_client.calls == []


def test_deploy_sends_the_spec(run, fake_client) -> None:
    def create(spec: DeploymentSpec) -> DeploymentView:
        return DeploymentView(spec=spec)

    fake_client.responses["create_deployment"] = create
    result = run(
        "deploy",
        "m",
        "--local-path",
        "/m",
        "--command",
        "serve {port}",
        "--replicas",
        "3",
        "--env",
        "A=1",
        "--generic-proxy",
    )
    assert result.exit_code == 0, result.output
    [(args, _)] = fake_client.called("create_deployment")
    spec = args[0]
    assert spec.replicas == 3
    assert spec.advanced.env == {"A": "1"}
    assert spec.advanced.generic_proxy is True
    assert "created deployment m (3 replicas)" in result.stdout


def test_deploy_a_hub_model_on_a_built_in_backend(run, fake_client) -> None:
    fake_client.responses["create_deployment"] = lambda spec: DeploymentView(spec=spec)
    result = run(
        "deploy", "qwen3", "--huggingface", "Qwen/Qwen3-8B", "--backend", "vllm",
        "--backend-version", "0.20.2", "--param", "--max-model-len=4096", "--param", "--tp 2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [(args, _)] = fake_client.called("create_deployment")
    spec = args[0]
    assert spec.source.huggingface == "Qwen/Qwen3-8B"
    assert (spec.backend, spec.backend_version) == ("vllm", "0.20.2")
    assert spec.advanced.backend_parameters == ["--max-model-len=4096", "--tp 2"]


@pytest.mark.parametrize(
    "sources",
    [
        [],
        ["--local-path", "/m", "--huggingface", "a/b"],
        ["--modelscope", "a/b", "--huggingface", "a/b"],
    ],
)
def test_deploy_needs_exactly_one_model_source(run, fake_client, sources: list[str]) -> None:
    result = run("deploy", "m", *sources, "--backend", "vllm")
    assert result.exit_code == 2
    assert "exactly one of --local-path PATH, --huggingface ORG/NAME" in result.stderr
    assert fake_client.calls == []


def test_a_server_owned_parameter_names_the_flag(run, fake_client) -> None:
    result = run("deploy", "m", "--huggingface", "a/b", "--backend", "vllm", "--param", "--port 1")
    assert result.exit_code == 2
    assert "backend parameter '--port 1': --port is set by gpustack-tui" in result.stderr
    assert fake_client.calls == []
