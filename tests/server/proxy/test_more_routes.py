"""The rest of the OpenAI routes: model from the JSON body, the multipart form or the query."""

from __future__ import annotations

import pytest

from tests.server.proxy.support import assert_openai_error, closed_port, route

JSON_ROUTES = [
    "/v1/rerank",
    "/v1/audio/speech",
    "/v1/images/generations",
    "/v1/responses",
]


@pytest.fixture
def proxy(shared_backends, start_proxy):
    return start_proxy(route("m", shared_backends[0].url))


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_json_routes_reach_the_same_path_upstream(proxy, path: str) -> None:
    body = {"model": "m", "input": "hello", "query": "q", "documents": ["a", "b"]}
    response = proxy.client.post(path, json=body, params={"x": "1"})
    assert response.status_code == 200, response.text
    echo = response.json()  # the test backend echoes paths it does not implement
    assert echo["method"] == "POST" and echo["path"] == path and echo["query"] == "x=1"
    assert '"documents": ["a", "b"]' in echo["body"] or '"documents":["a","b"]' in echo["body"]


def test_rerank_without_v1_is_served_as_v1_rerank(proxy) -> None:
    echo = proxy.client.post("/rerank", json={"model": "m", "query": "q"}).json()
    assert echo["path"] == "/v1/rerank"


def test_transcription_reads_the_model_from_the_multipart_form(proxy) -> None:
    audio = bytes(range(256)) * 64
    response = proxy.client.post(
        "/v1/audio/transcriptions",
        data={"model": "m", "language": "en"},
        files={"file": ("clip.wav", audio, "audio/wav")},
    )
    assert response.status_code == 200, response.text
    echo = response.json()
    assert echo["path"] == "/v1/audio/transcriptions"
    assert echo["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    # The form went on byte for byte (the echo decodes the body leniently, so compare lengths).
    assert int(echo["headers"]["content-length"]) > len(audio)
    assert 'name="model"' in echo["body"] and 'filename="clip.wav"' in echo["body"]


def test_form_without_a_model_is_400(proxy) -> None:
    response = proxy.client.post(
        "/v1/audio/transcriptions", files={"file": ("clip.wav", b"RIFF", "audio/wav")}
    )
    error = assert_openai_error(response, 400, "model_required")
    assert '"model"' in error["message"]


def test_broken_multipart_is_400(proxy) -> None:
    response = proxy.client.post(
        "/v1/audio/transcriptions",
        content=b"--nope\r\nContent-Disposition: form-data; name=\r\n\r\n",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid_form", "model_required"}


def test_model_from_the_query_when_the_body_names_none(proxy) -> None:
    response = proxy.client.post("/v1/audio/speech", params={"model": "m"}, json={"input": "hi"})
    assert response.status_code == 200
    assert response.json()["query"] == "model=m"
    form = proxy.client.post(
        "/v1/audio/transcriptions?model=m", files={"file": ("a.wav", b"RIFF", "audio/wav")}
    )
    assert form.status_code == 200


def test_body_model_wins_over_query(shared_backends, start_proxy) -> None:
    proxy = start_proxy(route("m", shared_backends[0].url))
    response = proxy.client.post("/v1/responses", params={"model": "ghost"}, json={"model": "m"})
    assert response.status_code == 200


def test_failover_tries_one_other_instance_only(shared_backends, start_proxy) -> None:
    down = [f"http://127.0.0.1:{closed_port()}" for _ in range(2)]
    proxy = start_proxy(route("m", *down, shared_backends[0].url))
    outcomes = [
        proxy.client.post("/v1/embeddings", json={"model": "m", "input": "x"}).status_code
        for _ in range(3)
    ]
    # Rotation starts at each instance once: from the first dead one both tries fail (502);
    # from the second dead one the retry reaches the live one; from the live one it just works.
    assert sorted(outcomes) == [200, 200, 502]
