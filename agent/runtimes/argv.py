"""Pure builders: the environment that shows a process its GPUs, and `podman|docker run` argv.

Nothing here runs anything, so each engine's and vendor's flags are tested with tables.
Env values never appear in a container's argv (where `ps` would show a token): the argv
names them (`--env NAME`) and the engine reads the values from its own environment.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

WORKLOAD_LABEL = "gpustack.workload"
HOME_LABEL = "gpustack.agent-home"
"""Which agent home started a container: agents of several homes on one engine (several
`local:NAME` workers on one host) each adopt only their own containers."""
ASCEND_CONTROL_DEVICES = ("/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc")
AMD_DEVICES = ("/dev/kfd", "/dev/dri")
ENGINE_LOG_MAX = "100m"
VISIBLE_ENV = {
    "nvidia": "CUDA_VISIBLE_DEVICES",
    "amd": "HIP_VISIBLE_DEVICES",
    "ascend": "ASCEND_RT_VISIBLE_DEVICES",
}


def _ids(indexes: Sequence[int]) -> str:
    return ",".join(str(i) for i in indexes)


def process_gpu_env(gpus: Optional[Dict[str, Any]]) -> Dict[str, str]:
    """The variables that limit a process to the GPUs of `gpus` (none: no GPU variables).

    NVIDIA's indexes are NVML's PCI bus order, so CUDA is told to count the same way.
    """
    if gpus is None:
        return {}
    env = {VISIBLE_ENV[gpus["vendor"]]: _ids(gpus["indexes"])}
    if gpus["vendor"] == "nvidia":
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    return env


def container_gpu_args(
    engine: str, gpus: Optional[Dict[str, Any]]
) -> Tuple[List[str], Dict[str, str]]:
    """(run flags, env) that make the GPUs of `gpus` visible in a container of `engine`.

    NVIDIA: docker's `--gpus "device=0,1"` (the quotes are part of the value: docker reads it as
    CSV), podman's CDI `--device nvidia.com/gpu=N`; the container sees only those GPUs. AMD:
    /dev/kfd and /dev/dri show every GPU, so HIP_VISIBLE_DEVICES picks the host's indexes.
    Ascend: only the chosen /dev/davinciN are passed, so inside they count from 0.
    """
    if gpus is None or not gpus["indexes"]:
        return [], {}
    if gpus.get("simulated"):
        # No device exists to pass: the container is told its GPUs as a process would be.
        return [], process_gpu_env(gpus)
    vendor, indexes = gpus["vendor"], gpus["indexes"]
    args: List[str] = []
    env: Dict[str, str] = {}
    if vendor == "nvidia":
        if engine == "docker":
            args += ["--gpus", f'"device={_ids(indexes)}"']
        else:
            for index in indexes:
                args += ["--device", f"nvidia.com/gpu={index}"]
    elif vendor == "amd":
        for device in AMD_DEVICES:
            args += ["--device", device]
        env["HIP_VISIBLE_DEVICES"] = _ids(indexes)
    elif vendor == "ascend":
        for index in indexes:
            args += ["--device", f"/dev/davinci{index}"]
        for device in ASCEND_CONTROL_DEVICES:
            args += ["--device", device]
        env["ASCEND_RT_VISIBLE_DEVICES"] = _ids(range(len(indexes)))
    return args, env


def run_argv(
    engine: str,
    name: str,
    image: str,
    command: Sequence[str],
    env_names: Sequence[str] = (),
    labels: Optional[Dict[str, str]] = None,
    gpus: Optional[Dict[str, Any]] = None,
    shm_size: Optional[int] = None,
    mounts: Sequence[Dict[str, Any]] = (),
    workdir: Optional[str] = None,
    home: Optional[str] = None,
) -> Tuple[List[str], Dict[str, str]]:
    """(`<engine> run -d ...` argv, env the engine must be given) for one workload.

    The container is named after the workload and labelled `gpustack.workload=<name>` (and
    `gpustack.agent-home=<home>` when given) so that its agent finds it again; host
    networking; no `--rm`, so its exit code outlives it.
    """
    gpu_args, gpu_env = container_gpu_args(engine, gpus)
    argv = [engine, "run", "--detach", "--name", name, "--network", "host"]
    if engine == "podman":
        argv += ["--log-driver", "k8s-file"]  # `podman logs` works without journald
    argv += ["--log-opt", f"max-size={ENGINE_LOG_MAX}"]  # our copy is the workload's log
    all_labels = dict(labels or {})
    all_labels[WORKLOAD_LABEL] = name
    if home is not None:
        all_labels[HOME_LABEL] = home
    for key in sorted(all_labels):
        argv += ["--label", f"{key}={all_labels[key]}"]
    argv += gpu_args
    if shm_size is not None:
        argv += ["--shm-size", str(shm_size)]
    for mount in mounts:
        spec = f"{mount['source']}:{mount['target']}"
        argv += ["--volume", spec + (":ro" if mount.get("read_only") else "")]
    names = list(dict.fromkeys([*env_names, *sorted(gpu_env)]))
    for env_name in names:
        argv += ["--env", env_name]
    if workdir:
        argv += ["--workdir", workdir]
    argv += [image, *command]
    return argv, gpu_env


def stop_argv(engine: str, name: str, grace_seconds: float) -> List[str]:
    """`<engine> stop -t N name`: SIGTERM, then SIGKILL after N seconds (rounded up)."""
    seconds = int(grace_seconds) if grace_seconds == int(grace_seconds) else int(grace_seconds) + 1
    return [engine, "stop", "-t", str(seconds), name]


def logs_argv(engine: str, name: str) -> List[str]:
    """`<engine> logs --follow name`: the container's output from its start, until it exits."""
    return [engine, "logs", "--follow", name]


def list_argv(engine: str) -> List[str]:
    """The names of every container (running or not) that carries the workload label."""
    return [engine, "ps", "--all", "--filter", f"label={WORKLOAD_LABEL}", "--format", "{{.Names}}"]


def inspect_argv(engine: str, names: Sequence[str]) -> List[str]:
    """`<engine> inspect --type container names...` (JSON list)."""
    return [engine, "inspect", "--type", "container", *names]


def remove_argv(engine: str, name: str) -> List[str]:
    """`<engine> rm --force name`."""
    return [engine, "rm", "--force", name]


# What an engine says when a GPU cannot be given to a container, and what to do about it.
_HINTS = (
    (
        "unresolvable CDI devices",
        "podman gives NVIDIA GPUs through CDI: generate the spec on the worker with"
        " `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml` (NVIDIA Container Toolkit)",
    ),
    (
        "could not select device driver",
        "docker needs the NVIDIA Container Toolkit for --gpus: install it, then"
        " `sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker`",
    ),
    (
        "/dev/kfd",
        "no ROCm devices here: is the amdgpu driver loaded (ls /dev/kfd /dev/dri)?",
    ),
    (
        "/dev/davinci",
        "no Ascend devices here: is the Ascend driver installed (ls /dev/davinci*)?",
    ),
)


def failure_hint(message: str) -> str:
    """What to do about an engine's error message, or "" when we know nothing better."""
    for needle, hint in _HINTS:
        if needle in message:
            return hint
    return ""
