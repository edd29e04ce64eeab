"""Launch plans of user-defined backends: the template split like a shell, placeholders filled
per node, the deployment's backend parameters appended. Nothing is injected (reference §4)."""

from __future__ import annotations

from collections.abc import Sequence

from gpustack_tui.backends.plan import LaunchPlan
from gpustack_tui.domain.backend_params import flatten
from gpustack_tui.domain.command import split_command
from gpustack_tui.domain.user_backend import UserBackend, fill_placeholders


def placeholder_values(
    model_path: str,
    model_name: str,
    port: int | None,
    gpu_indexes: Sequence[int],
    worker_ip: str,
) -> dict[str, str]:
    """The value of each placeholder on one node. Without a port yet (a dry run), `{port}` is
    kept, to be filled at start."""
    return {
        "model_path": model_path,
        "port": "{port}" if port is None else str(port),
        "model_name": model_name,
        "gpu_ids": ",".join(str(i) for i in gpu_indexes),
        "worker_ip": worker_ip,
    }


def build_user_backend_plan(
    backend: UserBackend,
    version: str,
    *,
    model_path: str,
    model_name: str,
    port: int | None,
    gpu_indexes: Sequence[int],
    worker_ip: str,
    backend_parameters: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> LaunchPlan:
    """What runs on one node for a deployment of `backend` at `version` (`auto`: the default).

    Each word is filled after splitting, so a model path with spaces stays one argument. The
    environment is the backend's under the deployment's (the deployment wins). A process (no
    image) is also told its GPUs with CUDA_VISIBLE_DEVICES, as the plain custom backend is; a
    container sees only its GPUs through the runtime. Raises UnknownVersion for a version the
    backend lacks and ValueError for a parameter with an unbalanced quote. The readiness path
    is `backend.health_path` (None: running as soon as it runs).
    """
    _name, command, image = backend.resolve(version)
    values = placeholder_values(model_path, model_name, port, gpu_indexes, worker_ip)
    argv = [fill_placeholders(word, values) for word in split_command(command)]
    argv += flatten(backend_parameters or [])
    full_env: dict[str, str] = {}
    if image is None:
        full_env["CUDA_VISIBLE_DEVICES"] = values["gpu_ids"]
    full_env.update(backend.env)
    full_env.update(env or {})
    return LaunchPlan(argv=argv, env=full_env, image=image, gpus=tuple(gpu_indexes))
