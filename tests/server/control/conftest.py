"""What the control-loop tests share: a server whose restarts come quickly, a backend that
crashes, and deploying a custom command on the local worker."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance
from gpustack_tui.server.control.lifecycle import BACKOFF_BASE_ENV
from tests.fixtures.server import RunningServer, running_server

CRASH_LINE = "loading shard 7: checksum mismatch"
CRASH = f"{sys.executable} -c " + shlex.quote(
    f"import sys; print('starting up'); print({CRASH_LINE!r}, flush=True); sys.exit(3)"
)
"""A backend that prints two lines and exits with 3."""


@pytest.fixture
def fast_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """A server whose restart backoff starts at 1 s (0, 1, 2, 4, ... s), with the local worker."""
    monkeypatch.setenv(BACKOFF_BASE_ENV, "1")
    with running_server(tmp_path / "install", local_worker=True) as running:
        yield running


def deploy(server: RunningServer, name: str, command: str, path: Path, **advanced: object) -> None:
    """Deploy `command` as a custom backend serving `path` (one replica), `advanced` added."""
    spec = {
        "name": name,
        "source": {"local_path": str(path)},
        "advanced": {"command": command, "allow_cpu_offloading": True, **advanced},
    }
    server.client().create_deployment(DeploymentSpec.model_validate(spec))


def only_instance(server: RunningServer, name: str) -> Instance | None:
    """The deployment's instance while it has exactly one."""
    instances = server.client().get_deployment(name).instances
    return instances[0] if len(instances) == 1 else None
