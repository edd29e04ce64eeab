"""The custom backend: the user's command line with placeholders filled in."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpustack_tui.domain.command import split_command

PLACEHOLDERS = ("{model_path}", "{port}", "{model_name}", "{gpu_ids}", "{worker_ip}")


@dataclass(frozen=True)
class LaunchPlan:
    """What runs on one node: the image (None: a process), argv and the environment to add."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    image: str | None = None


def build_custom_plan(
    command: str,
    env: dict[str, str],
    model_path: str,
    model_name: str,
    port: int,
    gpu_indexes: tuple[int, ...] | list[int],
    worker_ip: str,
) -> LaunchPlan:
    """Fill the placeholders in each word of the command (after splitting, so a path with spaces
    stays one argument) and make only the placed GPUs visible."""
    values = {
        "{model_path}": model_path,
        "{port}": str(port),
        "{model_name}": model_name,
        "{gpu_ids}": ",".join(str(i) for i in gpu_indexes),
        "{worker_ip}": worker_ip,
    }
    argv = []
    for word in split_command(command):
        for placeholder, value in values.items():
            word = word.replace(placeholder, value)
        argv.append(word)
    visible = ",".join(str(i) for i in gpu_indexes)
    full_env = {"CUDA_VISIBLE_DEVICES": visible, **env}
    return LaunchPlan(argv=argv, env=full_env)
