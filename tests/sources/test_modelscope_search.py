"""ModelScope search: an item the hub answers without an id is skipped, not fatal."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from modelscope_hub.types import RepoInfo

from gpustack_tui.sources import modelscope


class FakeApi:
    """A hub client whose search answers `items`."""

    def __init__(self, items: list[RepoInfo]) -> None:
        self.items = items

    def list_repos(self, repo_type: str, **_options: object) -> SimpleNamespace:
        """One page of `items`."""
        return SimpleNamespace(items=self.items)


def test_items_without_an_id_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    items = [
        RepoInfo(owner="Qwen", name="Qwen3-8B", downloads=10),
        RepoInfo(name="no-owner", downloads=99),  # repo_id None: the search failed on it
        RepoInfo(owner="org", name="small", downloads=3),
    ]
    monkeypatch.setattr(modelscope, "_api", lambda: FakeApi(items))
    hits = modelscope.search("q")
    assert [h.model_id for h in hits] == ["Qwen/Qwen3-8B", "org/small"]
