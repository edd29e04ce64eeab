"""Container and process command lines per engine and GPU vendor, built without running them."""

from __future__ import annotations

from typing import Any

import pytest

from agent.errors import AgentError
from agent.runtimes import argv, container, detect, options

NAME = "gpustack-qwen3-x7k2p"


def run(engine: str, **kwargs: Any) -> tuple[list[str], dict[str, str]]:
    return argv.run_argv(engine, NAME, "vllm/vllm-openai:v0.11.0", ["--port", "40001"], **kwargs)


def test_a_plain_container_has_name_label_host_network_and_keeps_its_exit_code() -> None:
    command, env = run("docker", labels={"deployment": "qwen3"})
    assert command == [
        "docker", "run", "--detach", "--name", NAME, "--network", "host",
        "--log-opt", "max-size=100m",
        "--label", "deployment=qwen3", "--label", f"gpustack.workload={NAME}",
        "vllm/vllm-openai:v0.11.0", "--port", "40001",
    ]  # fmt: skip
    assert env == {}
    assert "--rm" not in command


def test_podman_logs_to_a_file_journald_or_not() -> None:
    command, _ = run("podman")
    assert command[:11] == [
        "podman", "run", "--detach", "--name", NAME, "--network", "host",
        "--log-driver", "k8s-file", "--log-opt", "max-size=100m",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("engine", "gpus", "flags", "env"),
    [
        ("docker", {"vendor": "nvidia", "indexes": [0, 1]}, ["--gpus", '"device=0,1"'], {}),
        ("docker", {"vendor": "nvidia", "indexes": [3]}, ["--gpus", '"device=3"'], {}),
        (
            "podman",
            {"vendor": "nvidia", "indexes": [0, 2]},
            ["--device", "nvidia.com/gpu=0", "--device", "nvidia.com/gpu=2"],
            {},
        ),
        (
            "docker",
            {"vendor": "amd", "indexes": [1, 2]},
            ["--device", "/dev/kfd", "--device", "/dev/dri"],
            {"HIP_VISIBLE_DEVICES": "1,2"},
        ),
        (
            "podman",
            {"vendor": "amd", "indexes": [0]},
            ["--device", "/dev/kfd", "--device", "/dev/dri"],
            {"HIP_VISIBLE_DEVICES": "0"},
        ),
        (
            "docker",
            {"vendor": "ascend", "indexes": [4, 5]},
            [
                "--device", "/dev/davinci4", "--device", "/dev/davinci5",
                "--device", "/dev/davinci_manager", "--device", "/dev/devmm_svm",
                "--device", "/dev/hisi_hdc",
            ],
            {"ASCEND_RT_VISIBLE_DEVICES": "0,1"},
        ),
        # Simulated GPUs have no device to pass: only the visibility variable, as a process.
        (
            "podman",
            {"vendor": "nvidia", "indexes": [1], "simulated": True},
            [],
            {"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
        ),
        ("podman", {"vendor": "nvidia", "indexes": []}, [], {}),
        ("podman", None, [], {}),
    ],
)  # fmt: skip
def test_gpu_flags(engine: str, gpus: dict | None, flags: list[str], env: dict[str, str]) -> None:
    assert argv.container_gpu_args(engine, gpus) == (flags, env)
    command, engine_env = run(engine, gpus=gpus)
    assert engine_env == env
    for name in env:  # the value reaches the container through the engine's environment
        assert command[command.index(name) - 1] == "--env"
    joined = " ".join(command)
    assert " ".join(flags) in joined


def test_shm_mounts_env_and_workdir() -> None:
    command, env = run(
        "podman",
        env_names=["HF_TOKEN", "GPUSTACK_AGENT_WORKLOAD"],
        shm_size=8 * 1024**3,
        mounts=[
            {"source": "/var/cache/models", "target": "/models", "read_only": True},
            {"source": "/data/out", "target": "/out", "read_only": False},
        ],
        workdir="/models",
        gpus={"vendor": "amd", "indexes": [0]},
    )
    tail = command[command.index("--shm-size") :]
    assert tail == [
        "--shm-size", str(8 * 1024**3),
        "--volume", "/var/cache/models:/models:ro",
        "--volume", "/data/out:/out",
        "--env", "HF_TOKEN", "--env", "GPUSTACK_AGENT_WORKLOAD", "--env", "HIP_VISIBLE_DEVICES",
        "--workdir", "/models",
        "vllm/vllm-openai:v0.11.0", "--port", "40001",
    ]  # fmt: skip
    assert env == {"HIP_VISIBLE_DEVICES": "0"}
    assert not any("=" in part and "TOKEN" in part for part in command)  # no secret in argv


@pytest.mark.parametrize(
    ("gpus", "env"),
    [
        (None, {}),
        (
            {"vendor": "nvidia", "indexes": [0, 1]},
            {"CUDA_VISIBLE_DEVICES": "0,1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
        ),
        ({"vendor": "amd", "indexes": [2]}, {"HIP_VISIBLE_DEVICES": "2"}),
        ({"vendor": "ascend", "indexes": [4, 5]}, {"ASCEND_RT_VISIBLE_DEVICES": "4,5"}),
        (  # no GPU at all, said explicitly
            {"vendor": "nvidia", "indexes": []},
            {"CUDA_VISIBLE_DEVICES": "", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
        ),
    ],
)  # fmt: skip
def test_process_gpu_env(gpus: dict | None, env: dict[str, str]) -> None:
    assert argv.process_gpu_env(gpus) == env


@pytest.mark.parametrize(
    ("engine", "grace", "command"),
    [
        ("podman", 10.0, ["podman", "stop", "-t", "10", NAME]),
        ("docker", 0.5, ["docker", "stop", "-t", "1", NAME]),
        ("docker", 0.0, ["docker", "stop", "-t", "0", NAME]),
    ],
)
def test_stop_is_sigterm_then_sigkill_after_the_grace(
    engine: str, grace: float, command: list[str]
) -> None:
    assert argv.stop_argv(engine, NAME, grace) == command


def test_list_logs_inspect_remove() -> None:
    assert argv.list_argv("docker") == [
        "docker", "ps", "--all", "--filter", "label=gpustack.workload", "--format", "{{.Names}}",
    ]  # fmt: skip
    assert argv.logs_argv("podman", NAME) == ["podman", "logs", "--follow", NAME]
    assert argv.inspect_argv("podman", ["a", "b"]) == [
        "podman", "inspect", "--type", "container", "a", "b",
    ]  # fmt: skip
    assert argv.remove_argv("docker", NAME) == ["docker", "rm", "--force", NAME]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"runtime": "lxc"}, "param 'runtime' must be one of process, podman, docker"),
        ({"image": " x"}, "param 'image'"),
        ({"image": "--privileged"}, "is not an image reference"),
        ({"gpus": [0]}, "param 'gpus' must be an object"),
        ({"gpus": {"vendor": "intel", "indexes": [0]}}, "param 'gpus.vendor'"),
        ({"gpus": {"vendor": "amd", "indexes": [-1]}}, "param 'gpus.indexes'"),
        ({"gpus": {"vendor": "amd", "indexes": [1, 1]}}, "names a GPU twice"),
        ({"shm_size": 0}, "param 'shm_size'"),
        ({"shm_size": "1g"}, "param 'shm_size'"),
        ({"mounts": {"source": "/a"}}, "param 'mounts' must be a list"),
        ({"mounts": [{"source": "rel", "target": "/m"}]}, "mounts[0].source' must be an absolute"),
        ({"mounts": [{"source": "/a:b", "target": "/m"}]}, "':' ',' and newlines not allowed"),
        ({"mounts": [{"source": "/a", "target": "/m", "read_only": "yes"}]}, "read_only"),
    ],
)
def test_bad_options_are_refused_with_the_param_named(params: dict, message: str) -> None:
    readers = [
        options.get_runtime,
        options.get_image,
        options.get_gpus,
        options.get_shm_size,
        options.get_mounts,
    ]
    with pytest.raises(AgentError) as caught:
        for reader in readers:
            reader(params)
    assert caught.value.code == "bad_request"
    assert message in caught.value.message


def test_env_names_for_containers_must_be_variable_names() -> None:
    assert options.check_env_names({"HF_TOKEN": "x", "_A1": ""}) == {"HF_TOKEN": "x", "_A1": ""}
    with pytest.raises(AgentError) as caught:
        options.check_env_names({"A=B": "x"})
    assert "'A=B' is not a valid environment variable name" in caught.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("auto", None), ("Podman", "podman"), ("process", "process")],
)
def test_runtime_setting(value: str | None, expected: str | None) -> None:
    assert detect.configured(value) == expected


def test_a_bad_runtime_setting_names_the_variable() -> None:
    with pytest.raises(AgentError) as caught:
        detect.configured("kubernetes")
    assert "GPUSTACK_AGENT_RUNTIME='kubernetes'" in caught.value.message


def test_no_image_means_process_and_an_engine_without_image_is_refused() -> None:
    assert detect.choose(None, None) == "process"
    assert detect.choose("process", None) == "process"
    with pytest.raises(AgentError) as caught:
        detect.choose("docker", None)
    assert caught.value.code == "bad_request" and "needs an 'image'" in caught.value.message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (  # podman, running
            {
                "Name": "gpustack-a-1",
                "State": {"Status": "running", "Pid": 4242, "ExitCode": 0},
                "Config": {"Labels": {"gpustack.workload": "gpustack-a-1", "deployment": "a"}},
            },
            {"state": "running", "exit_code": None, "pid": 4242, "labels": {"deployment": "a"}},
        ),
        (  # docker, exited after SIGKILL: its Name has a leading slash
            {
                "Name": "/gpustack-a-2",
                "State": {"Status": "exited", "Pid": 0, "ExitCode": 137},
                "Config": {"Labels": {"gpustack.workload": "gpustack-a-2"}},
            },
            {"state": "exited", "exit_code": 137, "pid": None, "labels": {}},
        ),
        (  # created but never started (a failed run): not running
            {"State": {"Status": "created", "Pid": 0, "ExitCode": 0}, "Config": {"Labels": None}},
            {"state": "exited", "exit_code": 0, "pid": None, "labels": {}},
        ),
        ({"State": None}, {"state": "exited", "exit_code": None, "pid": None, "labels": {}}),
    ],
)
def test_container_state_from_inspect(entry: dict, expected: dict) -> None:
    assert container.describe(entry) == expected


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        (
            "Error: setting up CDI devices: unresolvable CDI devices nvidia.com/gpu=0",
            "nvidia-ctk cdi generate",
        ),
        (
            'docker: Error response from daemon: could not select device driver "" with'
            " capabilities: [[gpu]].",
            "nvidia-ctk runtime configure --runtime=docker",
        ),
        ("Error: stat /dev/kfd: no such file or directory", "amdgpu driver"),
        ("Error: stat /dev/davinci3: no such file or directory", "Ascend driver"),
        ("Error: localhost/x: image not known", ""),
    ],
)
def test_engine_failures_come_with_what_to_do(message: str, hint: str) -> None:
    found = argv.failure_hint(message)
    assert hint in found if hint else found == ""
