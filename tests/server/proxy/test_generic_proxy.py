"""The generic proxy: /model/proxy/{path}, any method, to deployments that turned it on."""

from __future__ import annotations

import json

import pytest

from tests.server.proxy.support import assert_openai_error, route


@pytest.fixture
def proxied(shared_backends, start_proxy):
    """A proxy with deployment "m" (generic proxy on) in front of a test backend."""
    backend = shared_backends[0]
    return start_proxy(route("m", backend.url, generic_proxy=True)), backend


def test_strips_prefix_keeps_method_query_headers_body(proxied) -> None:
    proxy, backend = proxied
    response = proxy.client.post(
        "/model/proxy/v1/rerank?top=2&top=3&q=a%20b",
        content=b'{"query": "q", "documents": ["x"]}',
        headers={
            "X-GPUStack-Model": "m",
            "Content-Type": "application/json",
            "X-Custom": "kept",
            "Authorization": "Bearer client-secret",
            "X-API-Key": "client-key",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-backend-port"] == str(backend.port)
    echo = response.json()
    assert echo["method"] == "POST"
    assert echo["path"] == "/v1/rerank"
    assert echo["query"] == "top=2&top=3&q=a%20b"
    assert echo["body"] == '{"query": "q", "documents": ["x"]}'
    headers = echo["headers"]
    assert headers["x-custom"] == "kept"
    assert headers["content-type"] == "application/json"
    assert headers["x-gpustack-model"] == "m"
    assert headers["content-length"] == str(len(echo["body"]))
    assert headers["host"] == f"127.0.0.1:{backend.port}"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert "authorization" not in headers
    assert "x-api-key" not in headers
    assert "client-secret" not in response.text


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_any_method(proxied, method: str) -> None:
    proxy, _ = proxied
    response = proxy.client.request(method, "/model/proxy/x/y", headers={"X-GPUStack-Model": "m"})
    assert response.status_code == 200
    assert response.json()["method"] == method
    assert response.json()["path"] == "/x/y"
    assert response.json()["body"] == ""


def test_head(proxied) -> None:
    proxy, backend = proxied
    response = proxy.client.head("/model/proxy/health", headers={"X-GPUStack-Model": "m"})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["x-backend-port"] == str(backend.port)


def test_bare_prefix_and_encoded_path(proxied) -> None:
    proxy, _ = proxied
    bare = proxy.client.get("/model/proxy", headers={"X-GPUStack-Model": "m"})
    assert bare.json()["path"] == "/"
    encoded = proxy.client.get("/model/proxy/a%2Fb/c%20d", headers={"X-GPUStack-Model": "m"})
    assert encoded.json()["path"] == "/a%2Fb/c%20d"


def test_model_from_body_when_no_header(proxied) -> None:
    proxy, _ = proxied
    body = {"model": "m", "text": "tokenize me"}
    response = proxy.client.post("/model/proxy/tokenize", json=body)
    assert response.status_code == 200
    assert json.loads(response.json()["body"]) == body


def test_header_wins_over_body(shared_backends, start_proxy) -> None:
    first, second = shared_backends
    proxy = start_proxy(
        route("a", first.url, generic_proxy=True), route("b", second.url, generic_proxy=True)
    )
    response = proxy.client.post(
        "/model/proxy/score", json={"model": "b"}, headers={"X-GPUStack-Model": "a"}
    )
    assert response.headers["x-backend-port"] == str(first.port)
    assert json.loads(response.json()["body"]) == {"model": "b"}


def test_streamed_request_body(proxied) -> None:
    proxy, _ = proxied

    def parts():
        yield b"part one, "
        yield b"part two"

    response = proxy.client.post(
        "/model/proxy/upload", content=parts(), headers={"X-GPUStack-Model": "m"}
    )
    echo = response.json()
    assert echo["body"] == "part one, part two"
    assert echo["headers"]["transfer-encoding"] == "chunked"


def test_off_is_404_saying_how_to_turn_it_on(shared_backends, start_proxy) -> None:
    backend = shared_backends[0]
    proxy = start_proxy(route("m", backend.url, generic_proxy=False))
    response = proxy.client.get("/model/proxy/off-check", headers={"X-GPUStack-Model": "m"})
    error = assert_openai_error(response, 404, "generic_proxy_disabled")
    assert "'m'" in error["message"]
    assert "advanced.generic_proxy: true" in error["message"]
    assert "/off-check" not in backend.output()


def test_no_model_is_400(proxied) -> None:
    proxy, _ = proxied
    assert_openai_error(proxy.client.get("/model/proxy/x"), 400, "model_required")
    assert_openai_error(
        proxy.client.post("/model/proxy/x", content=b"not json"), 400, "model_required"
    )
    assert_openai_error(proxy.client.post("/model/proxy/x", json={"n": 1}), 400, "model_required")


def test_unknown_model_and_no_instance(start_proxy) -> None:
    proxy = start_proxy(route("idle", generic_proxy=True))
    assert_openai_error(
        proxy.client.get("/model/proxy/x", headers={"X-GPUStack-Model": "nope"}),
        404,
        "model_not_found",
    )
    response = proxy.client.get("/model/proxy/x", headers={"X-GPUStack-Model": "idle"})
    assert_openai_error(response, 503, "no_running_instance")
    assert response.headers["retry-after"] == "5"


def test_large_bodies_both_ways(proxied) -> None:
    proxy, _ = proxied
    payload = ("0123456789abcdef" * 65536).encode()  # 1 MiB
    response = proxy.client.put(
        "/model/proxy/blob", content=payload, headers={"X-GPUStack-Model": "m"}
    )
    assert response.status_code == 200
    assert response.json()["body"].encode() == payload
