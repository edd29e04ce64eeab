"""Hugging Face through `huggingface_hub`: search, repository info with file sizes, config files.

HF_TOKEN or the cached login (`hf auth login`) is used by the library itself; HF_ENDPOINT is
read at each call, so a mirror set after import is honoured too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from gpustack_tui.domain.model import ModelFile, RepoInfo, SearchHit
from gpustack_tui.sources.errors import SourceError

T = TypeVar("T")
DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT = 15.0


def endpoint() -> str:
    """The hub's address: HF_ENDPOINT, else huggingface.co."""
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def cache_dir() -> str | None:
    """The hub cache: HF_HUB_CACHE, else HF_HOME/hub, read at each call (the library reads
    them once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None


def _api() -> HfApi:
    return HfApi(endpoint=endpoint())


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)


def translate(call: Callable[[], T], repo: str) -> T:
    """Run a hub call, turning its failures into SourceError messages that say what to do."""
    where = endpoint()
    try:
        return call()
    except GatedRepoError as exc:
        raise SourceError(
            "gated",
            f"{repo} is gated: accept its conditions on {where}/{repo} with your account, then "
            "log in here (`hf auth login`) or set HF_TOKEN",
        ) from exc
    except RevisionNotFoundError as exc:
        raise SourceError("not_found", f"{repo}: no such revision on {where}") from exc
    except RepositoryNotFoundError as exc:
        raise SourceError(
            "not_found",
            f"{repo} was not found on {where}: check the name; if it is private, log in "
            "(`hf auth login`) or set HF_TOKEN to a token that can read it",
        ) from exc
    except EntryNotFoundError as exc:
        raise SourceError("not_found", f"{repo}: file not found ({exc})") from exc
    except HFValidationError as exc:
        raise SourceError("invalid", f"{repo!r} is not a repository id such as org/name") from exc
    except OfflineModeIsEnabled as exc:
        raise SourceError("network", "HF_HUB_OFFLINE is set: unset it to reach the hub") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code
        if status in (401, 403):
            raise SourceError(
                "unauthorized",
                f"{where} refused access to {repo} (HTTP {status}): check HF_TOKEN or log in",
            ) from exc
        raise SourceError("network", f"{where} answered HTTP {status} for {repo}") from exc
    except (OSError, ValueError) as exc:
        raise SourceError(
            "network",
            f"cannot reach {where} ({type(exc).__name__}): check the network, or set "
            "HF_ENDPOINT to a mirror",
        ) from exc
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "httpcore")):
            raise SourceError(
                "network",
                f"cannot reach {where} ({type(exc).__name__}): check the network, or set "
                "HF_ENDPOINT to a mirror",
            ) from exc
        raise


def search(query: str, limit: int = 20) -> list[SearchHit]:
    """Models whose id contains `query` (as typed), most downloaded first."""

    def call() -> list[SearchHit]:
        found = _api().list_models(
            search=query.strip(),
            sort="downloads",
            limit=limit,
            expand=["downloads", "likes", "lastModified", "library_name", "pipeline_tag", "gated"],
        )
        return [
            SearchHit(
                source="huggingface",
                model_id=m.id,
                downloads=m.downloads or 0,
                likes=m.likes or 0,
                last_modified=_iso(m.last_modified),
                library=m.library_name,
                pipeline_tag=m.pipeline_tag,
                gated=bool(m.gated),
                private=bool(m.private),
            )
            for m in found
        ]

    hits = translate(call, query)
    return sorted(hits, key=lambda h: h.downloads, reverse=True)


def repo_info(repo: str, revision: str | None = None) -> RepoInfo:
    """The repository's files with sizes, safetensors parameter counts and hub facts."""

    def call() -> RepoInfo:
        info = _api().model_info(repo, revision=revision, files_metadata=True, timeout=TIMEOUT)
        safetensors = getattr(info, "safetensors", None)
        return RepoInfo(
            source="huggingface",
            model_id=info.id,
            revision=info.sha or revision,
            files=[ModelFile(path=s.rfilename, size=s.size or 0) for s in info.siblings or []],
            parameters_by_dtype=dict(safetensors.parameters) if safetensors else {},
            pipeline_tag=info.pipeline_tag,
            library=info.library_name,
            gated=bool(info.gated),
            private=bool(info.private),
            downloads=info.downloads or 0,
            likes=info.likes or 0,
            last_modified=_iso(info.last_modified),
        )

    return translate(call, repo)


def read_json_file(repo: str, filename: str, revision: str | None = None) -> dict[str, Any]:
    """A JSON file of the repository, through the hub's cache (HF_HOME)."""

    def call() -> dict[str, Any]:
        path = hf_hub_download(
            repo,
            filename,
            revision=revision,
            endpoint=endpoint(),
            cache_dir=cache_dir(),
            etag_timeout=TIMEOUT,
        )
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except ValueError as exc:
            raise SourceError("invalid", f"{repo}/{filename} is not valid JSON ({exc})") from exc

    value = translate(call, repo)
    if not isinstance(value, dict):
        raise SourceError("invalid", f"{repo}/{filename} is not a JSON object")
    return value
