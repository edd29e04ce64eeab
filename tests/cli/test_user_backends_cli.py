"""`gpustack-tui backends ls|add|get|rm` against a real server process."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner, Result

from gpustack_tui.cli.main import cli
from gpustack_tui.domain.user_backend import UserBackend
from tests.fixtures.server import RunningServer

FILE = """\
name: tei
image: ghcr.io/huggingface/text-embeddings-inference:1.8
command: --model-id {model_path} --port {port}
health_path: /health
---
name: trtllm
command: trtllm-serve serve {{model_path}} --host {{worker_ip}} --port {{port}}
versions:
  - version: 1.0-custom
    image: nvcr.io/nvidia/tensorrt-llm/release:1.0
cpu_offloading: false
"""


@pytest.fixture
def gt(server: RunningServer):
    """`gt(*args, input=None)`: run a command in-process against the fixture's installation."""

    def invoke(*args: str, input: str | None = None) -> Result:
        env = {"GPUSTACK_TUI_DATA_DIR": str(server.data_dir), "GPUSTACK_TUI_SERVER": None}
        return CliRunner().invoke(cli, list(args), input=input, env={**env, "NO_COLOR": "1"})

    return invoke


def test_add_from_flags_then_ls_get_rm(server: RunningServer, gt) -> None:
    added = gt(
        "backends", "add", "llama-cpp", "--image", "ghcr.io/ggml-org/llama.cpp:server",
        "--command", "-m {model_path} --port {port} --alias {model_name}",
        "--health-path", "/v1/models", "--version", "b5000",
        "--version", "b4000=ghcr.io/ggml-org/llama.cpp:server-b4000", "--default-version",
        "b4000", "--env", "LLAMA_ARG_THREADS=8", "--cpu-offloading",
    )  # fmt: skip
    assert (added.exit_code, added.stdout) == (0, "added backend llama-cpp\n"), added.output
    with server.client() as client:
        stored = client.get_backend("llama-cpp")
    assert stored.default_version == "b4000" and stored.cpu_offloading is True
    assert stored.versions[1].image == "ghcr.io/ggml-org/llama.cpp:server-b4000"
    assert stored.env == {"LLAMA_ARG_THREADS": "8"}

    listed = gt("backends", "ls")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "VERSIONS", "HEALTH", "CPU", "OFFLOAD", "IMAGE"]
    assert [line.split()[0] for line in lines[1:]] == [
        "vllm", "sglang", "mindie", "voxbox", "llama-cpp",
    ]  # fmt: skip
    assert "b5000, b4000*" in lines[-1] and "user" in lines[-1]

    as_yaml = gt("backends", "get", "llama-cpp")
    assert UserBackend.model_validate(yaml.safe_load(as_yaml.stdout)) == stored
    as_json = gt("backends", "get", "llama-cpp", "-o", "json")
    assert UserBackend.model_validate(json.loads(as_json.stdout)) == stored
    assert json.loads(gt("backends", "ls", "--json").stdout)[0]["name"] == "llama-cpp"

    removed = gt("backends", "rm", "llama-cpp")
    assert (removed.exit_code, removed.stdout) == (0, "deleted backend llama-cpp\n")
    again = gt("backends", "rm", "llama-cpp")
    assert again.exit_code == 1 and "no backend named 'llama-cpp'" in again.stderr


def test_add_from_a_file_and_round_trip(server: RunningServer, gt, tmp_path) -> None:
    path = tmp_path / "backends.yaml"
    path.write_text(FILE)
    result = gt("backends", "add", "-f", str(path))
    assert result.stdout == "added backend tei\nadded backend trtllm\n", result.output
    exported = gt("backends", "get", "trtllm").stdout
    assert gt("backends", "add", "-f", "-", input=exported).exit_code == 1  # exists
    replaced = gt("backends", "add", "--replace", "-f", "-", input=exported)
    assert replaced.stdout == "saved backend trtllm\n"
    with server.client() as client:
        assert client.get_backend("trtllm").image is None  # a process, with a version image
        assert client.get_backend("trtllm").default_version == "1.0-custom"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("backends", "add", "x"), "give NAME and --command"),
        (("backends", "add", "x", "--command", "s {gpu}"), "unknown placeholder(s) {gpu}"),
        (("backends", "add", "sglang", "--command", "s"), "built-in backend"),
        (("backends", "add", "x", "--command", "s", "--env", "NOEQUALS"), "NAME=VALUE"),
        (("backends", "add", "x", "--command", "s", "--version", "a b"), "versions.0.version"),
    ],
)
def test_bad_flags_exit_2_and_send_nothing(server: RunningServer, gt, args, words) -> None:
    result = gt(*args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    with server.client() as client:
        assert client.list_backends() == []


def test_a_bad_file_names_the_document_and_field(server: RunningServer, gt, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(FILE.replace("health_path: /health", "health_path: health"))
    result = gt("backends", "add", "-f", str(path))
    assert result.exit_code == 2
    assert "(document 1)" in result.stderr and "health_path" in result.stderr
    path.write_text("name: [unclosed")
    assert gt("backends", "add", "-f", str(path)).exit_code == 2
    with server.client() as client:
        assert client.list_backends() == []  # nothing of a bad file is sent
