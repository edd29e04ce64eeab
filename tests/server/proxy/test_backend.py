"""The OpenAI-compatible test backend itself, spoken to directly."""

from __future__ import annotations

import json
import subprocess
import time

import httpx

from tests.fixtures.backend import BackendProcess, backend_command


def test_models_chat_completions_embeddings(openai_backend) -> None:
    backend: BackendProcess = openai_backend("echo-model")
    with httpx.Client(base_url=backend.url, trust_env=False, timeout=5) as client:
        models = client.get("/v1/models").json()
        assert [m["id"] for m in models["data"]] == ["echo-model"]

        chat = client.post(
            "/v1/chat/completions",
            json={"model": "echo-model", "messages": [{"role": "user", "content": "hi there"}]},
        )
        assert chat.headers["x-backend-port"] == str(backend.port)
        body = chat.json()
        assert body["choices"][0]["message"] == {"role": "assistant", "content": "hi there"}
        assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}

        completion = client.post("/v1/completions", json={"model": "echo-model", "prompt": "a b"})
        assert completion.json()["choices"][0]["text"] == "a b"

        first = client.post("/v1/embeddings", json={"input": ["x", "y"]}).json()
        again = client.post("/v1/embeddings", json={"input": "x"}).json()
        assert len(first["data"]) == 2 and len(first["data"][0]["embedding"]) == 8
        assert first["data"][0]["embedding"] == again["data"][0]["embedding"]
        assert first["data"][0]["embedding"] != first["data"][1]["embedding"]

        bad = client.post("/v1/chat/completions", content=b"{nope")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"


def test_stream_is_sse_one_chunk_per_word(openai_backend) -> None:
    backend = openai_backend(chunk_delay=0.0)
    payload = {"messages": [{"role": "user", "content": "one two three"}], "stream": True}
    with httpx.stream(
        "POST", backend.url + "/v1/chat/completions", json=payload, trust_env=False
    ) as response:
        assert response.headers["content-type"] == "text/event-stream"
        text = response.read().decode()
    events = [block for block in text.split("\n\n") if block]
    assert all(block.startswith("data: ") for block in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(block[6:]) for block in events[:-1]]
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks]
    assert pieces == ["one", " two", " three", ""]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_echo_and_logs(openai_backend) -> None:
    backend = openai_backend()
    response = httpx.request(
        "PATCH",
        backend.url + "/any/where?a=1&a=2",
        content=b"raw",
        headers={"X-Thing": "v"},
        trust_env=False,
    )
    echo = response.json()
    assert echo["method"] == "PATCH"
    assert echo["path"] == "/any/where"
    assert echo["query"] == "a=1&a=2"
    assert echo["headers"]["x-thing"] == "v"
    assert echo["body"] == "raw"
    deadline = time.monotonic() + 2
    while '"PATCH /any/where?a=1&a=2 HTTP/1.1" 200' not in backend.output():
        assert time.monotonic() < deadline, backend.output()
        time.sleep(0.02)
    assert backend.output().startswith(f"openai_test_backend: serving test-model on {backend.url}")


def test_sigterm_exits_cleanly(openai_backend) -> None:
    backend = openai_backend()
    assert backend.stop() == 0
    assert "openai_test_backend: stopped" in backend.output()


def test_missing_model_path_refuses_to_start(tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    result = subprocess.run(
        backend_command(0, "m", model_path=str(missing)),
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2
    assert f"--model-path {missing} does not exist" in result.stderr
    assert result.stdout == ""


def test_model_path_that_exists(openai_backend, tmp_path) -> None:
    backend = openai_backend("m", model_path=str(tmp_path))
    models = httpx.get(backend.url + "/v1/models", trust_env=False).json()
    assert models["data"][0]["root"] == str(tmp_path)
