"""CLI test helpers: a runner and a fake API client for the parts that need no server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gpustack_tui.cli.common import AppContext
from gpustack_tui.cli.main import cli
from gpustack_tui.client import ApiError


class FakeClient:
    """Records calls; answers from `responses` (a value, an exception to raise, or a callable)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.responses: dict[str, Any] = {}

    def close(self) -> None:
        """Nothing to release."""

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, args, kwargs))
            answer = self.responses.get(method)
            if isinstance(answer, BaseException):
                raise answer
            if callable(answer):
                return answer(*args, **kwargs)
            return answer

        return call

    def called(self, method: str) -> list[tuple[tuple, dict]]:
        """The (args, kwargs) of every call to `method`."""
        return [(a, k) for m, a, k in self.calls if m == method]


@pytest.fixture
def fake_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClient]:
    """Every command gets this client instead of a real one."""
    fake = FakeClient()
    monkeypatch.setattr(AppContext, "client", lambda self, timeout=30.0: fake)
    yield fake


@pytest.fixture
def run(tmp_path: Any) -> Any:
    """`run(*args, input=None, env=None)` -> click Result, in a throwaway data dir."""

    def invoke(*args: str, input: str | None = None, env: dict | None = None) -> Result:
        runner = CliRunner()
        base = {"GPUSTACK_TUI_DATA_DIR": str(tmp_path / "install"), "NO_COLOR": "1"}
        return runner.invoke(cli, list(args), input=input, env={**base, **(env or {})})

    return invoke


def not_found(what: str) -> ApiError:
    """The error the server gives for an unknown name."""
    return ApiError("not_found", f"no deployment named {what!r}", 404)


FULL_YAML = """\
name: qwen3
source: {local_path: /models/x}
cluster: default
backend: custom
backend_version: auto
replicas: 2
performance:
  extended_kv_cache: {enabled: false, ram_to_vram_ratio: 1.5, max_ram_gib: 8, chunk_size: 512}
scheduling:
  mode: auto
  placement: binpack
  worker_selector: {zone: a}
  gpu_selector: ["w1:0"]
  gpus_per_replica: 2
advanced:
  category: llm
  backend_parameters: []
  env: {FOO: bar}
  command: "python serve.py --port {port}"
  vram_claim_gib: 10.5
  allow_cpu_offloading: true
  distributed_across_workers: false
  restart_on_error: false
  generic_proxy: true
"""
"""A deployment file with every field set (the CLI reads it as YAML or JSON)."""
