"""Hugging Face and ModelScope through their libraries, against the loopback hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpustack_tui.sources import huggingface, modelscope
from gpustack_tui.sources.errors import SourceError
from gpustack_tui.sources.service import Sources, hub_metadata
from tests.fixtures.hub_server import HF_TOKEN, MS_TOKEN, HubRepo, HubServer
from tests.fixtures.ports import free_port


@pytest.mark.parametrize("module", [huggingface, modelscope], ids=["hf", "ms"])
def test_search_as_typed_sorted_by_downloads(hub: HubServer, module: object) -> None:
    hits = module.search("qwen3")  # type: ignore[attr-defined]
    assert [h.model_id for h in hits] == [
        "Qwen/Qwen3-0.6B",
        "Qwen/Qwen3-8B",
        "someone/qwen3-finetune",
    ]
    first = hits[0]
    assert (first.downloads, first.likes, first.pipeline_tag, first.library) == (
        4_200_000,
        700,
        "text-generation",
        "transformers",
    )
    assert first.last_modified and first.last_modified.startswith("2025-07-26")
    exact = module.search("Qwen/Qwen3-0.6B")  # type: ignore[attr-defined]
    assert [h.model_id for h in exact] == ["Qwen/Qwen3-0.6B"]
    assert module.search("no-such-model-anywhere") == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("source", ["huggingface", "modelscope"])
def test_metadata_from_files_and_config(hub: HubServer, source: str) -> None:
    meta = hub_metadata(source, "Qwen/Qwen3-0.6B")
    assert meta.weight_bytes == 1503300328
    assert (meta.num_layers, meta.num_kv_heads, meta.head_dim, meta.max_context) == (
        28,
        8,
        128,
        40960,
    )
    assert {f.path for f in meta.files} == {"config.json", "README.md", "model.safetensors"}
    if source == "huggingface":
        assert meta.parameters_by_dtype == {"BF16": 751632384}  # the hub's safetensors count
        assert meta.revision == hub.state.repos["Qwen/Qwen3-0.6B"].sha
    else:
        assert meta.parameters_by_dtype == {"BF16": 1503300328 // 2}


def test_hf_repo_info_lists_sizes(hub: HubServer) -> None:
    info = huggingface.repo_info("Qwen/Qwen3-0.6B")
    sizes = {f.path: f.size for f in info.files}
    assert sizes["model.safetensors"] == 1503300328
    assert sizes["config.json"] == len(hub.state.repos["Qwen/Qwen3-0.6B"].files["config.json"])


def test_hf_gated_repo_says_how_to_get_access(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SourceError) as failure:
        hub_metadata("huggingface", "meta-llama/Llama-3.1-8B")
    assert failure.value.code == "gated"
    assert "accept its conditions" in failure.value.message
    assert "HF_TOKEN" in failure.value.message
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    assert hub_metadata("huggingface", "meta-llama/Llama-3.1-8B").weight_bytes == 100
    assert ("GET", "/meta-llama/Llama-3.1-8B/resolve/", f"Bearer {HF_TOKEN}") in [
        (m, p[: p.index("resolve/") + 8], a) for m, p, a in hub.state.requests if "resolve" in p
    ]


def test_hf_private_and_missing(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for repo in ("acme/secret-model", "nobody/nothing"):
        with pytest.raises(SourceError) as failure:
            hub_metadata("huggingface", repo)
        assert failure.value.code == "not_found"
        assert "check the name" in failure.value.message and "private" in failure.value.message
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    assert hub_metadata("huggingface", "acme/secret-model").model_id == "acme/secret-model"
    with pytest.raises(SourceError, match="not a repository id"):
        hub_metadata("huggingface", "not a/valid//id")


def test_hf_missing_revision(hub: HubServer) -> None:
    with pytest.raises(SourceError, match="no such revision") as failure:
        hub_metadata("huggingface", "Qwen/Qwen3-0.6B", revision="v9")
    assert failure.value.code == "not_found"


def test_ms_private_needs_its_token(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SourceError) as failure:
        hub_metadata("modelscope", "acme/secret-model")
    assert failure.value.code == "not_found"
    assert "MODELSCOPE_API_TOKEN" in failure.value.message
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", MS_TOKEN)
    assert hub_metadata("modelscope", "acme/secret-model").model_id == "acme/secret-model"
    assert any(a == f"Bearer {MS_TOKEN}" for _m, _p, a in hub.state.requests)


@pytest.mark.parametrize(
    ("source", "variable"), [("huggingface", "HF_ENDPOINT"), ("modelscope", "MODELSCOPE_ENDPOINT")]
)
def test_network_failure_is_clear(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch, source: str, variable: str
) -> None:
    monkeypatch.setenv(variable, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SourceError) as failure:
        hub_metadata(source, "Qwen/Qwen3-0.6B")
    assert failure.value.code == "network"
    assert "cannot reach" in failure.value.message and variable in failure.value.message
    if source == "modelscope":  # huggingface_hub retries a search 5 times over 23 s first
        with pytest.raises(SourceError, match="cannot reach"):
            Sources().search(source, "qwen3")


def test_endpoint_is_read_at_each_call(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    other = HubServer().start()
    try:
        other.state.add(HubRepo("mirror/only-here", files={"config.json": b"{}"}, downloads=5))
        monkeypatch.setenv("HF_ENDPOINT", other.url)
        monkeypatch.setenv("MODELSCOPE_ENDPOINT", other.url)
        assert [h.model_id for h in huggingface.search("only-here")] == ["mirror/only-here"]
        assert [h.model_id for h in modelscope.search("only-here")] == ["mirror/only-here"]
    finally:
        other.stop()


def test_metadata_is_cached_in_memory_and_on_disk(hub: HubServer, tmp_path: Path) -> None:
    sources = Sources(tmp_path / "cache")
    first = sources.metadata("huggingface", "Qwen/Qwen3-0.6B")
    calls = len(hub.state.requests)
    assert sources.metadata("huggingface", "Qwen/Qwen3-0.6B") == first
    restarted = Sources(tmp_path / "cache")
    assert restarted.metadata("huggingface", "Qwen/Qwen3-0.6B") == first
    assert len(hub.state.requests) == calls  # neither asked the hub again
    assert restarted.metadata(
        "huggingface", "Qwen/Qwen3-0.6B", category="embedding"
    ).category.value == ("embedding")
    stored = json.loads(next((tmp_path / "cache").glob("*.json")).read_text())
    assert stored["key"] == "huggingface:Qwen/Qwen3-0.6B@main"


def test_unknown_hub_is_refused() -> None:
    with pytest.raises(SourceError, match="unknown hub 'civitai'"):
        Sources().metadata("civitai", "x/y")
    assert Sources().search("huggingface", "   ") == []


def test_modelscope_domain_setting_is_honoured(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELSCOPE_ENDPOINT")
    monkeypatch.setenv("MODELSCOPE_DOMAIN", hub.url)  # the older name of the setting
    assert [h.model_id for h in modelscope.search("Qwen3-0.6B")] == ["Qwen/Qwen3-0.6B"]
    assert modelscope.endpoint() == hub.url
