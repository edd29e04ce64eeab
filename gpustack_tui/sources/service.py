"""The sources' one entry point: metadata and search for Hugging Face, ModelScope and local
paths, through the cache."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from gpustack_tui.domain.model import ModelMetadata, SearchHit
from gpustack_tui.sources import local
from gpustack_tui.sources.cache import MetadataCache, ttl_for
from gpustack_tui.sources.errors import SourceError
from gpustack_tui.sources.facts import build_metadata, metadata_from_facts

HUBS = {
    "huggingface": "gpustack_tui.sources.huggingface",
    "modelscope": "gpustack_tui.sources.modelscope",
}
"""Source -> the module that reads it. Imported on first use: the hub clients take about a third
of a second to import, which a command or a server start that never reads a hub should not pay."""
SOURCES = ("huggingface", "modelscope", "local")
SEARCH_LIMIT = 20


def hub(source: str) -> ModuleType:
    """The module of a hub source (imported now if it was not); SourceError for anything else."""
    if source not in HUBS:
        raise SourceError("invalid", f"unknown hub {source!r}: use huggingface or modelscope")
    return importlib.import_module(HUBS[source])


def hub_metadata(source: str, repo: str, revision: str | None = None) -> ModelMetadata:
    """Metadata of a hub repository: its file list, config.json and model_index.json."""
    module = hub(source)
    info = module.repo_info(repo, revision)
    names = {f.path for f in info.files}
    config = model_index = None
    if "config.json" in names:
        config = module.read_json_file(repo, "config.json", info.revision)
    if "model_index.json" in names:
        model_index = module.read_json_file(repo, "model_index.json", info.revision)
    return build_metadata(
        source,
        info.model_id,
        info.files,
        config,
        model_index,
        revision=info.revision,
        parameters_by_dtype=info.parameters_by_dtype,
        pipeline_tag=info.pipeline_tag,
    )


class Sources:
    """Metadata and search with a cache (in memory, and on disk under `cache_dir`)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache = MetadataCache(cache_dir)

    def metadata(
        self,
        source: str,
        value: str,
        revision: str | None = None,
        category: str | None = None,
    ) -> ModelMetadata:
        """Metadata of a repository or local path, with the user's category override."""
        if source in ("local", "local_path"):
            rev = "local:" + local.revision_of(value) if _exists(value) else None
            key = self.cache.key("local", value, rev)
            meta = self.cache.get(key, ttl_for(rev)) if rev else None
            if meta is None:
                meta = local.local_metadata(value)
                self.cache.put(key, meta)
            return meta.with_category(category)
        hub(source)
        key = self.cache.key(source, value, revision)
        meta = self.cache.get(key, ttl_for(revision))
        if meta is None:
            meta = hub_metadata(source, value, revision)
            self.cache.put(key, meta)
        return meta.with_category(category)

    def from_facts(self, facts: dict, category: str | None = None) -> ModelMetadata:
        """Metadata from a worker agent's `model_metadata` answer."""
        return metadata_from_facts(facts).with_category(category)

    def search(self, source: str, query: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
        """Hub search, most downloaded first."""
        if not query.strip():
            return []
        return hub(source).search(query, limit)


def _exists(path: str) -> bool:
    return Path(path).expanduser().exists()
