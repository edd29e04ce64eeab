"""The custom backend: the user's command line with placeholders filled in."""

from __future__ import annotations

from gpustack_tui.backends.plan import LaunchPlan
from gpustack_tui.domain.backend_params import flatten
from gpustack_tui.domain.command import split_command

PLACEHOLDERS = ("{model_path}", "{port}", "{model_name}", "{gpu_ids}", "{worker_ip}")


def build_custom_plan(
    command: str,
    env: dict[str, str],
    model_path: str,
    model_name: str,
    port: int | None,
    gpu_indexes: tuple[int, ...] | list[int],
    worker_ip: str,
    backend_parameters: list[str] | None = None,
) -> LaunchPlan:
    """Fill the placeholders in each word of the command (after splitting, so a path with spaces
    stays one argument), append the user's backend parameters, and make only the placed GPUs
    visible."""
    values = {
        "{model_path}": model_path,
        # No port yet (a dry run): the placeholder stays, to be filled at start.
        "{port}": "{port}" if port is None else str(port),
        "{model_name}": model_name,
        "{gpu_ids}": ",".join(str(i) for i in gpu_indexes),
        "{worker_ip}": worker_ip,
    }
    argv = []
    for word in split_command(command):
        for placeholder, value in values.items():
            word = word.replace(placeholder, value)
        argv.append(word)
    argv += flatten(backend_parameters or [])
    visible = ",".join(str(i) for i in gpu_indexes)
    full_env = {"CUDA_VISIBLE_DEVICES": visible, **env}
    return LaunchPlan(argv=argv, env=full_env)
