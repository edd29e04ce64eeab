"""A loopback HTTP server answering the subset of the Hugging Face and ModelScope HTTP APIs
that `huggingface_hub` and `modelscope` call for search, repository info, file lists and file
downloads. Responses follow the shapes of the real services (field names, error headers such
as X-Error-Code, the ModelScope envelopes); HF_ENDPOINT and MODELSCOPE_ENDPOINT point at it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

HF_TOKEN = "hf_test_token"
MS_TOKEN = "ms-test-token"


@dataclass
class HubRepo:
    """One repository: small files with content, big ones with a size only."""

    repo_id: str
    files: dict[str, bytes] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    downloads: int = 0
    likes: int = 0
    last_modified: str = "2025-07-26T03:46:27.000Z"
    library: str | None = "transformers"
    pipeline_tag: str | None = "text-generation"
    gated: bool = False
    private: bool = False
    safetensors: dict[str, int] | None = None
    sha: str = ""

    def __post_init__(self) -> None:
        if not self.sha:
            self.sha = hashlib.sha1(self.repo_id.encode()).hexdigest()

    def size_of(self, path: str) -> int:
        """A file's size, whether it has content or only a size."""
        return len(self.files[path]) if path in self.files else self.sizes[path]

    def paths(self) -> list[str]:
        """Every file path."""
        return sorted({*self.files, *self.sizes})


class HubState:
    """The repositories and a log of the requests (method, path, authorization)."""

    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        # File downloads: the Range header of each (None without one), a pause after each
        # chunk (to watch progress), and files whose first transfer breaks off after N bytes.
        self.ranges: list[tuple[str, str | None]] = []
        self.chunk_size = 256 * 1024
        self.chunk_delay = 0.0
        self.cut_once: dict[str, int] = {}
        self.offline = False  # transfers under way break off (stop() refuses new ones)
        # Like huggingface.co for LFS files: `resolve` of a *.safetensors answers 302 to a CDN
        # on another host (here `localhost` instead of 127.0.0.1), which needs no token.
        self.cdn_redirect = False

    def add(self, repo: HubRepo) -> HubRepo:
        """Publish a repository."""
        self.repos[repo.repo_id] = repo
        return repo


class _Handler(BaseHTTPRequestHandler):
    state: HubState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    # -- plumbing --------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        for key, value in merged.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), headers)

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        return auth.removeprefix("Bearer ").strip() or None

    def _hf_error(self, status: int, code: str, message: str) -> None:
        headers = {"X-Error-Code": code, "X-Error-Message": message}
        self._json(status, {"error": message}, headers)

    def _send_file(self, name: str, body: bytes, headers: dict[str, str]) -> None:
        """A file download: 206 for a Range request, sent in chunks (paced by chunk_delay),
        broken off once after `cut_once[name]` bytes when asked to."""
        wanted = self.headers.get("Range")
        self.state.ranges.append((name, wanted))
        start = 0
        if wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[len("bytes=") : -1])
        if start >= len(body) and body:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        for key, value in {**headers, "Content-Type": "application/octet-stream"}.items():
            self.send_header(key, value)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = self.state.cut_once.pop(name, None)
        sent = start
        while sent < len(body):
            end = min(len(body), sent + self.state.chunk_size)
            if self.state.offline:
                cut = sent
            if cut is not None and end >= cut:
                self.wfile.write(body[sent:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(body[sent:end])
            sent = end
            if self.state.chunk_delay:
                self.wfile.flush()
                time.sleep(self.state.chunk_delay)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.state.requests.append((self.command, url.path, self.headers.get("Authorization")))
        path = unquote(url.path)
        if path.startswith("/openapi/v1/models"):
            self._ms_openapi(path.removeprefix("/openapi/v1/models"), query)
        elif path.startswith("/api/v1/models/"):
            self._ms_legacy(path.removeprefix("/api/v1/models/"), query)
        elif path == "/api/models":
            self._hf_list(query)
        elif path.startswith("/api/models/"):
            self._hf_info(path.removeprefix("/api/models/"), query)
        elif path.startswith("/cdn/"):
            self._cdn(path.removeprefix("/cdn/"))
        elif "/resolve/" in path:
            self._hf_resolve(path)
        else:
            self._json(404, {"error": "Not Found"})

    # -- Hugging Face --------------------------------------------------------------------------

    def _hf_visible(self, repo: HubRepo) -> bool:
        return not repo.private or self._token() == HF_TOKEN

    def _hf_summary(self, repo: HubRepo) -> dict[str, Any]:
        return {
            "_id": repo.sha[:24],
            "id": repo.repo_id,
            "downloads": repo.downloads,
            "likes": repo.likes,
            "lastModified": repo.last_modified,
            "library_name": repo.library,
            "pipeline_tag": repo.pipeline_tag,
            "gated": "manual" if repo.gated else False,
            "private": repo.private,
            "tags": [t for t in (repo.library, repo.pipeline_tag) if t],
        }

    def _hf_list(self, query: dict[str, str]) -> None:
        needle = query.get("search", "").lower()
        found = [
            r
            for r in self.state.repos.values()
            if needle in r.repo_id.lower() and self._hf_visible(r)
        ]
        if query.get("sort") == "downloads":
            found.sort(key=lambda r: r.downloads, reverse=True)
        limit = int(query.get("limit", "1000"))
        self._json(200, [self._hf_summary(r) for r in found[:limit]])

    def _hf_repo(self, repo_id: str) -> HubRepo | None:
        repo = self.state.repos.get(repo_id)
        if repo is None or not self._hf_visible(repo):
            if self._token() is None:
                self._hf_error(401, "RepoNotFound", "Invalid username or password.")
            else:
                self._hf_error(404, "RepoNotFound", "Repository not found")
            return None
        return repo

    def _hf_info(self, rest: str, query: dict[str, str]) -> None:
        repo_id, _, revision = rest.partition("/revision/")
        repo = self._hf_repo(repo_id)
        if repo is None:
            return
        if revision and revision not in ("main", repo.sha):
            self._hf_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        info = self._hf_summary(repo)
        info.update(modelId=repo.repo_id, author=repo.repo_id.split("/")[0], sha=repo.sha)
        info["disabled"] = False
        siblings = []
        for path in repo.paths():
            sibling: dict[str, Any] = {"rfilename": path}
            if query.get("blobs") == "true":
                size = repo.size_of(path)
                sibling.update(size=size, blobId=hashlib.sha1(path.encode()).hexdigest())
                if path.endswith((".safetensors", ".bin", ".gguf")):
                    lfs_sha = hashlib.sha256(path.encode()).hexdigest()
                    sibling["lfs"] = {"sha256": lfs_sha, "size": size, "pointerSize": 135}
            siblings.append(sibling)
        info["siblings"] = siblings
        if repo.safetensors:
            info["safetensors"] = {
                "parameters": repo.safetensors,
                "total": sum(repo.safetensors.values()),
            }
        self._json(200, info)

    def _hf_resolve(self, path: str) -> None:
        repo_part, _, rest = path.lstrip("/").partition("/resolve/")
        revision, _, filename = rest.partition("/")
        repo = self._hf_repo(repo_part)
        if repo is None:
            return
        if repo.gated and self._token() != HF_TOKEN:
            message = (
                f"Access to model {repo.repo_id} is restricted. You must have access to it and "
                "be authenticated to access it. Please log in."
            )
            self._hf_error(401, "GatedRepo", message)
            return
        if filename not in repo.files:
            self._hf_error(404, "EntryNotFound", f"{filename} does not exist on {revision}")
            return
        body = repo.files[filename]
        etag = hashlib.sha1(body).hexdigest()
        headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if self.state.cdn_redirect and filename.endswith(".safetensors"):
            port = self.server.server_address[1]
            location = f"http://localhost:{port}/cdn/{repo.repo_id}/{filename}"
            headers.update(Location=location, **{"X-Linked-Size": str(len(body))})
            self._send(302, b"", headers)
            return
        self._send_file(filename, body, headers)

    def _cdn(self, rest: str) -> None:
        for repo_id, repo in self.state.repos.items():
            if rest.startswith(repo_id + "/") and rest[len(repo_id) + 1 :] in repo.files:
                name = rest[len(repo_id) + 1 :]
                self._send_file(name, repo.files[name], {"Accept-Ranges": "bytes"})
                return
        self._json(404, {"error": "Not Found"})

    # -- ModelScope ----------------------------------------------------------------------------

    def _ms_visible(self, repo: HubRepo) -> bool:
        return not repo.private or self._token() == MS_TOKEN

    def _ms_item(self, repo: HubRepo) -> dict[str, Any]:
        return {
            "id": repo.repo_id,
            "display_name": repo.repo_id.split("/")[1],
            "downloads": repo.downloads,
            "likes": repo.likes,
            "created_at": "2025-04-29T00:00:00Z",
            "last_modified": repo.last_modified,
            "tasks": [repo.pipeline_tag] if repo.pipeline_tag else [],
            "tags": [repo.library] if repo.library else [],
            "license": "apache-2.0",
            "private": repo.private,
            "gated": repo.gated,
        }

    def _ms_fail(self, status: int, message: str) -> None:
        self._json(status, {"success": False, "code": status, "message": message})

    def _ms_openapi(self, rest: str, query: dict[str, str]) -> None:
        if not rest:
            needle = query.get("search", "").lower()
            found = [
                r
                for r in self.state.repos.values()
                if needle in r.repo_id.lower() and self._ms_visible(r)
            ]
            if query.get("sort") == "downloads":
                found.sort(key=lambda r: r.downloads, reverse=True)
            size = int(query.get("page_size", "10"))
            data = {
                "models": [self._ms_item(r) for r in found[:size]],
                "total_count": len(found),
                "page_number": int(query.get("page_number", "1")),
                "page_size": size,
            }
            self._json(200, {"success": True, "request_id": "test", "data": data})
            return
        repo = self.state.repos.get(rest.lstrip("/"))
        if repo is None or not self._ms_visible(repo):
            self._ms_fail(404, f"model {rest.lstrip('/')} not found")
            return
        self._json(200, {"success": True, "request_id": "test", "data": self._ms_item(repo)})

    def _ms_legacy(self, rest: str, query: dict[str, str]) -> None:
        if rest.endswith("/repo/files"):
            repo = self.state.repos.get(rest.removesuffix("/repo/files"))
            if repo is None or not self._ms_visible(repo):
                self._json(
                    404, {"Code": 10010205001, "Message": "model not found", "Success": False}
                )
                return
            files = [
                {
                    "Name": p.rsplit("/", 1)[-1],
                    "Path": p,
                    "Size": repo.size_of(p),
                    "Type": "blob",
                    "Sha256": hashlib.sha256(repo.files.get(p, p.encode())).hexdigest(),
                    "CommittedDate": 1745884800,
                    "Revision": repo.sha,
                }
                for p in repo.paths()
            ]
            self._json(200, {"Code": 200, "Data": {"Files": files}, "Success": True})
            return
        if rest.endswith("/repo"):
            repo = self.state.repos.get(rest.removesuffix("/repo"))
            filename = query.get("FilePath", "")
            if repo is None or not self._ms_visible(repo) or filename not in repo.files:
                self._json(
                    404, {"Code": 10010205001, "Message": "file not found", "Success": False}
                )
                return
            if repo.gated and self._token() != MS_TOKEN:
                self._json(403, {"Code": 10010205003, "Message": "no permission", "Success": False})
                return
            self._send_file(filename, repo.files[filename], {"Accept-Ranges": "bytes"})
            return
        self._json(404, {"Code": 404, "Message": "not found", "Success": False})


class HubServer:
    """The server on a free loopback port, served from a thread."""

    def __init__(self) -> None:
        self.state = HubState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HubServer:
        """Serve in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
