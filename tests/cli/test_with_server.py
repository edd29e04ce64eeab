"""The CLI against a real server (the `server` fixture: no workers, so instances stay pending)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
import yaml
from click.testing import CliRunner, Result

from gpustack_tui.cli.main import cli
from gpustack_tui.domain.deployment import DeploymentSpec
from tests.cli.conftest import FULL_YAML
from tests.fixtures.ports import free_port


@pytest.fixture
def gt(server):
    """`gt(*args, input=None)`: run a command in-process against the fixture's installation."""

    def invoke(*args: str, input: str | None = None) -> Result:
        env = {"GPUSTACK_TUI_DATA_DIR": str(server.data_dir), "GPUSTACK_TUI_SERVER": None}
        return CliRunner().invoke(cli, list(args), input=input, env={**env, "NO_COLOR": "1"})

    return invoke


def deploy_args(name: str = "m", *extra: str) -> list[str]:
    return ["deploy", name, "--local-path", "/models/m", "--command", "serve --port {port}", *extra]


def test_deploy_with_bad_env_stores_nothing(server, gt) -> None:
    result = gt(*deploy_args("m", "--env", "1X=2"))
    assert result.exit_code == 2
    assert "--env '1X=2'" in result.stderr
    with server.client() as client:
        assert client.list_deployments() == []


def test_apply_get_round_trip_with_every_section(server, gt, tmp_path) -> None:
    path = tmp_path / "qwen3.yaml"
    path.write_text(FULL_YAML)
    result = gt("apply", "-f", str(path))
    assert (result.exit_code, result.stdout) == (0, "deployment qwen3 created\n"), result.output
    wanted = DeploymentSpec.model_validate(yaml.safe_load(FULL_YAML))
    with server.client() as client:
        assert client.get_deployment("qwen3").spec == wanted

    exported = gt("get", "qwen3", "-o", "yaml")
    assert exported.exit_code == 0
    assert DeploymentSpec.model_validate(yaml.safe_load(exported.stdout)) == wanted
    again = gt("apply", "-f", "-", input=exported.stdout)
    assert again.stdout == "deployment qwen3 unchanged\n"

    as_json = gt("get", "qwen3", "-o", "json")
    changed = json.loads(as_json.stdout)
    changed["advanced"]["env"] = {"FOO": "baz"}
    result = gt("apply", "-f", "-", input=json.dumps(changed))
    assert result.stdout == "deployment qwen3 configured\n"
    with server.client() as client:
        assert client.get_deployment("qwen3").spec.advanced.env == {"FOO": "baz"}


def test_unknown_key_in_file_is_refused_before_sending(server, gt) -> None:
    result = gt("apply", "-f", "-", input=FULL_YAML.replace("  command:", "  comand:"))
    assert result.exit_code == 2
    assert "advanced.comand: unknown key" in result.stderr
    with server.client() as client:
        assert client.list_deployments() == []


def test_an_option_the_backend_cannot_honour_is_refused(server, gt) -> None:
    spec = {
        "name": "hf",
        "source": {"huggingface": "Qwen/Qwen3-0.6B"},  # hub sources are (downloaded by workers)
        "backend": "vllm",
        "advanced": {"allow_cpu_offloading": True},
    }
    result = gt("apply", "-f", "-", input=yaml.safe_dump(spec))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "CPU offloading is for custom backends only" in result.stderr
    with server.client() as client:
        assert client.list_deployments() == []


def test_scale_ls_and_rm(server, gt) -> None:
    assert gt(*deploy_args()).exit_code == 0
    result = gt("scale", "m", "3")
    assert (result.exit_code, result.stdout) == (0, "scaled m to 3 replicas\n")

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [view] = json.loads(gt("ls", "--json").stdout)
        if len(view["instances"]) == 3:
            break
        time.sleep(0.2)
    assert view["spec"]["replicas"] == 3
    assert len(view["instances"]) == 3

    human = gt("ls").stdout.splitlines()
    assert human[0].split()[:2] == ["NAME", "STATE"]
    assert human[1].startswith("m ") and "0/3 running" in human[1]
    assert all(line.startswith("  m-") for line in human[2:]) and len(human) == 5
    instances = json.loads(gt("instances", "ls", "--json").stdout)
    assert {i["deployment"] for i in instances} == {"m"}

    refused = gt("rm", "m")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert gt("rm", "m", "--yes").stdout == "deleted deployment m\n"
    assert json.loads(gt("ls", "--json").stdout) == []


@pytest.mark.parametrize(
    "args",
    [["get", "nope"], ["scale", "nope", "1"], ["rm", "nope", "--yes"]],
    ids=["get", "scale", "rm"],
)
def test_unknown_deployment_is_a_clear_error(gt, args: list[str]) -> None:
    result = gt(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no deployment named 'nope'")
    assert "Traceback" not in result.output


def test_unknown_instance_is_a_clear_error(gt) -> None:
    for args in (["logs", "nope"], ["instances", "rm", "nope"]):
        result = gt(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ") and "nope" in result.stderr


def test_module_entry_point_and_status(server) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "gpustack_tui", "ls", "--json"],
        env=server.cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (run.returncode, json.loads(run.stdout)) == (0, []), run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "gpustack_tui", "server", "status"],
        env=server.cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"running at {server.url}" in run.stdout and "token:    accepted" in run.stdout


def test_second_server_for_the_same_data_dir_is_refused(server) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpustack_tui",
            "server",
            "--data-dir",
            str(server.data_dir),
            "--port",
            str(free_port()),
            "--no-local-worker",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 1
    assert "error: another server already runs" in run.stderr
    assert "Traceback" not in run.stderr


def test_server_stop(server, gt) -> None:
    # The fixture's server is this process's child: reap it as soon as it exits, as init would
    # for a background server (a zombie would still look alive to `stop_server`).
    reaper = threading.Thread(target=server.process.wait, daemon=True)
    reaper.start()
    result = gt("server", "stop")
    assert (result.exit_code, result.stdout.split(" (")[0]) == (0, "server stopped"), result.output
    reaper.join(timeout=10)
    result = gt("server", "stop")
    assert result.exit_code == 0 and "no server is running" in result.stdout
    result = gt("server", "status")
    assert result.exit_code == 1 and "no server answers" in result.stderr
