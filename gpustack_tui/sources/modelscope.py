"""ModelScope through `modelscope`'s hub client (`modelscope_hub`, which the `modelscope`
package installs and wraps): search, files with sizes, config files.

The client honours MODELSCOPE_API_TOKEN (or a saved `modelscope login`) and MODELSCOPE_ENDPOINT
(or the older MODELSCOPE_DOMAIN) itself; a new client is made per call so that changes to them
are seen.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from modelscope_hub.api import HubApi
from modelscope_hub.config import HubConfig
from modelscope_hub.errors import (
    AuthenticationError,
    HubError,
    NetworkError,
    NotExistError,
    PermissionDeniedError,
)

from gpustack_tui.domain.model import ModelFile, RepoInfo, SearchHit
from gpustack_tui.sources.errors import SourceError

T = TypeVar("T")
PAGE_SIZE = 20


def _api() -> HubApi:
    with warnings.catch_warnings():
        # MODELSCOPE_DOMAIN still works; the library only warns that it is the older name.
        warnings.simplefilter("ignore", FutureWarning)
        # A fresh config per call: the library's default one is read once per process.
        return HubApi(config=HubConfig())


def endpoint() -> str:
    """The hub's address as the client resolves it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return str(HubConfig().endpoint)


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)


def translate(call: Callable[[], T], repo: str) -> T:
    """Run a ModelScope call, turning its failures into SourceError messages."""
    where = endpoint()
    try:
        return call()
    except NotExistError as exc:
        raise SourceError(
            "not_found",
            f"{repo} was not found on {where}: check the name; if it is private, set "
            "MODELSCOPE_API_TOKEN (or `modelscope login`)",
        ) from exc
    except (AuthenticationError, PermissionDeniedError) as exc:
        raise SourceError(
            "unauthorized",
            f"{where} refused access to {repo}: it may be private or need its terms accepted; "
            "set MODELSCOPE_API_TOKEN to a token that can read it",
        ) from exc
    except NetworkError as exc:
        raise SourceError(
            "network",
            f"cannot reach {where}: check the network, or set MODELSCOPE_ENDPOINT",
        ) from exc
    except HubError as exc:
        raise SourceError("network", f"{where} failed for {repo}: {exc}") from exc


def search(query: str, limit: int = PAGE_SIZE) -> list[SearchHit]:
    """Models matching `query`, most downloaded first."""

    def call() -> list[SearchHit]:
        page = _api().list_repos("model", search=query.strip(), sort="downloads", page_size=limit)
        return [
            SearchHit(
                source="modelscope",
                model_id=repo_id,
                downloads=r.downloads or 0,
                likes=r.likes or 0,
                last_modified=_iso(r.last_modified),
                library=next((t for t in r.tags if t in LIBRARIES), None),
                pipeline_tag=r.tasks[0] if r.tasks else None,
                gated=bool(r.gated),
                private=bool(r.private),
            )
            for r in page.items
            # An item without its owner or name has no id to deploy by: skip it, not the search.
            if (repo_id := r.repo_id) is not None
        ]

    hits = translate(call, query)
    return sorted(hits, key=lambda h: h.downloads, reverse=True)


LIBRARIES = ("transformers", "diffusers", "sentence-transformers", "gguf", "pytorch", "safetensors")


def repo_info(repo: str, revision: str | None = None) -> RepoInfo:
    """The repository's files with sizes and hub facts."""

    def call() -> RepoInfo:
        api = _api()
        info = api.get_repo(repo, "model")
        files = api.list_repo_files(repo, "model", revision=revision, recursive=True)
        return RepoInfo(
            source="modelscope",
            model_id=repo,
            revision=revision or "master",
            files=[ModelFile(path=f.path, size=f.size) for f in files if not f.is_dir],
            pipeline_tag=info.tasks[0] if info.tasks else None,
            library=next((t for t in info.tags if t in LIBRARIES), None),
            gated=bool(info.gated),
            private=bool(info.private),
            downloads=info.downloads or 0,
            likes=info.likes or 0,
            last_modified=_iso(info.last_modified),
        )

    return translate(call, repo)


def read_json_file(repo: str, filename: str, revision: str | None = None) -> dict[str, Any]:
    """A JSON file of the repository, through ModelScope's cache (MODELSCOPE_CACHE)."""

    def call() -> Any:
        path = _api().download_file(repo, "model", filename, revision=revision)
        with open(os.fspath(path), encoding="utf-8") as handle:
            try:
                return json.load(handle)
            except ValueError as exc:
                raise SourceError("invalid", f"{repo}/{filename} is not valid JSON") from exc

    value = translate(call, repo)
    if not isinstance(value, dict):
        raise SourceError("invalid", f"{repo}/{filename} is not a JSON object")
    return value
