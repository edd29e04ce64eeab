"""A user backend's launch plan, run for real: the OpenAI test backend as a process, started
from the filled template, answers on its health path under the deployment's model name."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gpustack_tui.backends.user_backend import build_user_backend_plan
from gpustack_tui.domain.user_backend import UserBackend
from tests.fixtures.ports import free_port

BACKEND_SCRIPT = Path(__file__).resolve().parents[1] / "openai_test_backend.py"


def test_the_filled_template_starts_a_server_that_answers(tmp_path: Path) -> None:
    model_dir = tmp_path / "my models" / "tiny"  # a space: the path must stay one argument
    model_dir.mkdir(parents=True)
    command = (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(BACKEND_SCRIPT))} --host {{worker_ip}} "
        "--port {port} --model-name {model_name} --model-path {model_path}"
    )
    backend = UserBackend(name="openai-test", command=command, health_path="/v1/models")
    port = free_port()
    plan = build_user_backend_plan(
        backend, "auto", model_path=str(model_dir), model_name="tiny-chat", port=port,
        gpu_indexes=(), worker_ip="127.0.0.1", backend_parameters=["--chunk-delay=0.01"],
        env={"PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    process = subprocess.Popen(
        plan.argv,
        env={**os.environ, **plan.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}{backend.health_path}"
        deadline = time.monotonic() + 20
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert answer is not None, process.stderr.read().decode() if process.stderr else ""
        assert answer.status_code == 200
        assert [m["id"] for m in answer.json()["data"]] == ["tiny-chat"]
    finally:
        process.terminate()
        process.wait(timeout=10)
