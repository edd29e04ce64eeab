"""What the server sends the worker for a hub download, and how it shows the progress."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.server.control.downloads import download_params, progress_message

GIB = 1024**3


def spec(source: str, repo: str) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": "m", "source": {source: repo}, "advanced": {"command": "serve {model_path}"}}
    )


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_ENDPOINT",
        "MODELSCOPE_API_TOKEN",
        "MODELSCOPE_ENDPOINT",
        "MODELSCOPE_DOMAIN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no saved login
    monkeypatch.setenv("MODELSCOPE_HOME", str(tmp_path / "ms"))


def test_hugging_face_token_and_endpoint_pass_from_the_server_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = download_params(spec("huggingface", "Qwen/Qwen3-0.6B"))
    assert plain == {
        "source": "huggingface",
        "repo": "Qwen/Qwen3-0.6B",
        "token": "",
        "endpoint": "https://huggingface.co",
    }
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.example/")
    params = download_params(spec("huggingface", "Qwen/Qwen3-0.6B"))
    assert params["token"] == "hf_secret" and params["endpoint"] == "https://hf-mirror.example"


def test_modelscope_token_and_domain_pass_from_the_server_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", "ms-secret")
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "modelscope.example")  # the older name, no scheme
    params = download_params(spec("modelscope", "Qwen/Qwen3-0.6B"))
    assert params["source"] == "modelscope" and params["token"] == "ms-secret"
    assert params["endpoint"].rstrip("/") == "https://modelscope.example"
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")
    assert download_params(spec("modelscope", "a/b"))["endpoint"].rstrip("/") == (
        "http://127.0.0.1:9"
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            {"repo": "a/b", "bytes_done": 0, "bytes_total": None},
            "downloading a/b: listing its files",
        ),
        ({"bytes_done": 0, "bytes_total": 10}, "downloading 0% (0.0 of 0.0 GiB)"),
        (
            {"bytes_done": int(1.2 * GIB), "bytes_total": int(3.3 * GIB)},
            "downloading 36% (1.2 of 3.3 GiB)",
        ),
        ({"bytes_done": 5 * GIB, "bytes_total": 5 * GIB}, "downloading 100% (5.0 of 5.0 GiB)"),
    ],
)
def test_progress_message(status: dict, message: str) -> None:
    assert progress_message(status) == message
