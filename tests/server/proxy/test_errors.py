"""Errors of the OpenAI-compatible routes: status, OpenAI shape, and what the messages say."""

from __future__ import annotations

import pytest

from gpustack_tui.server.proxy import Forwarder
from tests.server.proxy.support import assert_openai_error, closed_port, route

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]


@pytest.mark.parametrize("path", PATHS)
def test_body_without_a_model_is_400(start_proxy, path: str) -> None:
    proxy = start_proxy(route("m", "http://127.0.0.1:1"))
    assert_openai_error(proxy.client.post(path, content=b"{oops"), 400, "invalid_json")
    assert_openai_error(proxy.client.post(path, content=b""), 400, "model_required")
    assert_openai_error(proxy.client.post(path, json={"prompt": "x"}), 400, "model_required")
    assert_openai_error(proxy.client.post(path, json={"model": 3}), 400, "model_required")
    assert_openai_error(proxy.client.post(path, json=["m"]), 400, "model_required")


def test_unknown_model_is_404_and_names_no_other_deployment(start_proxy) -> None:
    proxy = start_proxy(route("secret-internal-name", "http://127.0.0.1:1"))
    response = proxy.client.post("/v1/chat/completions", json={**CHAT, "model": "missing"})
    error = assert_openai_error(response, 404, "model_not_found")
    assert error["type"] == "invalid_request_error"
    assert "'missing'" in error["message"]
    assert "gpustack-tui ls" in error["message"]
    assert "secret-internal-name" not in error["message"]
    assert "127.0.0.1" not in error["message"]


def test_no_running_instance_is_503_with_retry_after(start_proxy) -> None:
    proxy = start_proxy(route("m"))
    response = proxy.client.post("/v1/chat/completions", json=CHAT)
    error = assert_openai_error(response, 503, "no_running_instance")
    assert response.headers["retry-after"] == "5"
    assert "'m'" in error["message"]
    assert error["type"] == "server_error"


def test_upstream_down_is_502_naming_deployment_and_host_port(start_proxy) -> None:
    port = closed_port()
    proxy = start_proxy(route("m", f"http://127.0.0.1:{port}/internal/path"))
    response = proxy.client.post("/v1/chat/completions", json=CHAT)
    error = assert_openai_error(response, 502, "upstream_error")
    assert "'m'" in error["message"]
    assert f"127.0.0.1:{port}" in error["message"]
    assert "internal" not in error["message"]
    assert "Errno" not in error["message"]


def test_all_upstreams_down_names_each(start_proxy) -> None:
    ports = closed_port(), closed_port()
    proxy = start_proxy(route("m", *(f"http://127.0.0.1:{p}" for p in ports)))
    error = assert_openai_error(
        proxy.client.post("/v1/embeddings", json=CHAT), 502, "upstream_error"
    )
    assert all(f"127.0.0.1:{p}" in error["message"] for p in ports)


def test_protocol_error_is_502(start_proxy, garbage_upstream: str) -> None:
    proxy = start_proxy(route("m", garbage_upstream))
    response = proxy.client.post("/v1/completions", json=CHAT)
    error = assert_openai_error(response, 502, "upstream_error")
    assert garbage_upstream.removeprefix("http://") in error["message"]


def test_upstream_timeout_is_504(start_proxy, silent_upstream: str) -> None:
    proxy = start_proxy(route("m", silent_upstream), forwarder=Forwarder(read_timeout=0.3))
    response = proxy.client.post("/v1/chat/completions", json=CHAT)
    error = assert_openai_error(response, 504, "upstream_timeout")
    assert "'m'" in error["message"]
    assert silent_upstream.removeprefix("http://") in error["message"]


def test_invalid_upstream_address_is_502(start_proxy) -> None:
    proxy = start_proxy(route("m", "ftp://127.0.0.1:21"))
    assert_openai_error(proxy.client.post("/v1/chat/completions", json=CHAT), 502, "upstream_error")
