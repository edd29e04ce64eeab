"""The OpenAI-compatible routes, through real uvicorn to real test backends over TCP."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.server.proxy.support import assert_openai_error, closed_port, route

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello proxy world"}]}


def test_models_lists_only_deployments_with_a_running_instance(start_proxy) -> None:
    proxy = start_proxy(
        route("up", "http://127.0.0.1:1", created=1700000000),
        route("down"),
    )
    assert proxy.client.get("/v1/models").json() == {
        "object": "list",
        "data": [
            {
                "id": "up",
                "object": "model",
                "created": 1700000000,
                "owned_by": "gpustack-tui",
                "category": "llm",
            }
        ],
    }
    assert proxy.client.get("/v1/models/up").json()["id"] == "up"
    assert_openai_error(proxy.client.get("/v1/models/down"), 404, "model_not_found")


def test_chat_completions(shared_backends, start_proxy) -> None:
    backend = shared_backends[0]
    proxy = start_proxy(route("m", backend.url))
    response = proxy.client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "m"
    assert body["choices"][0]["message"]["content"] == "hello proxy world"
    assert body["usage"]["total_tokens"] == 6
    assert response.headers["x-backend-port"] == str(backend.port)
    assert response.headers["content-length"] == str(len(response.content))
    assert len(response.headers.get_list("date")) == 1
    assert len(response.headers.get_list("server")) == 1
    assert '"POST /v1/chat/completions HTTP/1.1" 200' in backend.output()


def test_completions_and_embeddings(shared_backends, start_proxy) -> None:
    backend = shared_backends[0]
    proxy = start_proxy(route("m", backend.url))
    completion = proxy.client.post("/v1/completions", json={"model": "m", "prompt": "say this"})
    assert completion.status_code == 200
    assert completion.json()["choices"][0]["text"] == "say this"

    embeddings = proxy.client.post("/v1/embeddings", json={"model": "m", "input": ["a", "b"]})
    assert embeddings.status_code == 200
    data = embeddings.json()["data"]
    assert [d["index"] for d in data] == [0, 1]
    assert all(len(d["embedding"]) == 8 for d in data)


def test_query_string_is_kept(shared_backends, start_proxy) -> None:
    backend = shared_backends[0]
    proxy = start_proxy(route("m", backend.url))
    response = proxy.client.post("/v1/embeddings?api-version=2&x=%20", json={"model": "m"})
    assert response.status_code == 200
    assert '"POST /v1/embeddings?api-version=2&x=%20 HTTP/1.1"' in backend.output()


def test_round_robin_across_two_backends(shared_backends, start_proxy) -> None:
    first, second = shared_backends
    proxy = start_proxy(route("m", first.url, second.url))
    ports = [
        proxy.client.post("/v1/chat/completions", json=CHAT).headers["x-backend-port"]
        for _ in range(6)
    ]
    assert ports == [str(first.port), str(second.port)] * 3


def test_round_robin_is_per_deployment(shared_backends, start_proxy) -> None:
    first, second = shared_backends
    proxy = start_proxy(route("a", first.url, second.url), route("b", first.url, second.url))

    def port(model: str) -> int:
        response = proxy.client.post("/v1/completions", json={"model": model, "prompt": "x"})
        return int(response.headers["x-backend-port"])

    assert [port("a"), port("b"), port("a"), port("b")] == [
        first.port,
        first.port,
        second.port,
        second.port,
    ]


def test_refused_connection_fails_over_to_the_next_instance(shared_backends, start_proxy) -> None:
    backend = shared_backends[0]
    proxy = start_proxy(route("m", f"http://127.0.0.1:{closed_port()}", backend.url))
    for _ in range(4):
        response = proxy.client.post("/v1/chat/completions", json=CHAT)
        assert response.status_code == 200
        assert response.headers["x-backend-port"] == str(backend.port)


def test_upstream_error_status_and_body_pass_through(shared_backends, start_proxy) -> None:
    backend = shared_backends[0]
    proxy = start_proxy(route("m", backend.url))
    response = proxy.client.post("/v1/chat/completions", json={"model": "m", "messages": 5})
    assert_openai_error(response, 400, "invalid_messages")


def test_concurrent_requests_spread_evenly(shared_backends, start_proxy) -> None:
    first, second = shared_backends
    proxy = start_proxy(route("m", first.url, second.url))

    def ask(i: int) -> tuple[str, str]:
        body = {"model": "m", "messages": [{"role": "user", "content": f"question {i}"}]}
        response = proxy.client.post("/v1/chat/completions", json=body)
        return response.headers["x-backend-port"], response.json()["choices"][0]["message"][
            "content"
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(24)))
    assert [text for _, text in answers] == [f"question {i}" for i in range(24)]
    assert Counter(port for port, _ in answers) == {str(first.port): 12, str(second.port): 12}
