"""The model hubs' HTTP APIs, with urllib only: a repository's file list, and one file fetched
into a `.part` file that a later try resumes with an HTTP Range request.

Hugging Face: `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true` lists the files with
sizes; `GET {endpoint}/{repo}/resolve/{rev}/{path}` serves one (`Authorization: Bearer <token>`).
ModelScope (as its `modelscope_hub` client does): `GET {endpoint}/api/v1/models/{repo}/repo/files
?Revision={rev}&Recursive=True` lists them (`{"Data": {"Files": [{"Path", "Size", "Type"}]}}`);
`GET {endpoint}/api/v1/models/{repo}/repo?Revision={rev}&FilePath={path}` serves one; the token
goes both as `Authorization: Bearer` and as the `m_session_id` cookie.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import urllib.error
import urllib.request
from typing import IO, Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote, urlsplit

HF_ENDPOINT = "https://huggingface.co"
MS_ENDPOINT = "https://www.modelscope.cn"
DEFAULT_REVISION = {"huggingface": "main", "modelscope": "master"}
TIMEOUT = 30.0  # seconds without a byte before a read gives up
CHUNK = 1024 * 1024  # read1: at most this much per read, whatever has come so far
USER_AGENT = "gpustack-tui-agent"


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects (Hugging Face sends large files from a CDN on another host), keeping
    the Range header but never sending the hub's token to another host."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> Optional[urllib.request.Request]:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            for name in ("Authorization", "Cookie"):
                new.remove_header(name)
        return new


_OPENER = urllib.request.build_opener(_Redirects)


class HubFailure(Exception):
    """A failure with a message that says what to do; `retry` when another try may help."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


class Hub:
    """One repository on one hub, reached with one token."""

    def __init__(
        self, source: str, repo: str, revision: Optional[str], token: str, endpoint: str
    ) -> None:
        self.source = source
        self.repo = repo
        self.revision = revision or DEFAULT_REVISION[source]
        self.token = token
        default = HF_ENDPOINT if source == "huggingface" else MS_ENDPOINT
        self.endpoint = (endpoint or default).rstrip("/")

    # -- requests ---------------------------------------------------------------------------

    def _headers(self) -> Dict[str, str]:
        headers = {"User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
            if self.source == "modelscope":
                headers["Cookie"] = "m_session_id=" + self.token
        return headers

    def _open(self, url: str, what: str, extra: Optional[Dict[str, str]] = None) -> Any:
        request = urllib.request.Request(url, headers={**self._headers(), **(extra or {})})
        try:
            return _OPENER.open(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            raise self._http_failure(exc, what) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise HubFailure(
                f"cannot reach {self.endpoint} ({reason}): check the worker's network, "
                f"or point {self._endpoint_variable()} at a mirror it can reach",
                retry=True,
            ) from None

    def _endpoint_variable(self) -> str:
        return "HF_ENDPOINT" if self.source == "huggingface" else "MODELSCOPE_ENDPOINT"

    def _token_variable(self) -> str:
        return "HF_TOKEN" if self.source == "huggingface" else "MODELSCOPE_API_TOKEN"

    def _http_failure(self, exc: urllib.error.HTTPError, what: str) -> HubFailure:
        code = exc.code
        hub_code = exc.headers.get("X-Error-Code", "") if exc.headers else ""
        token = self._token_variable()
        if hub_code == "GatedRepo" or (code in (401, 403) and self.token):
            return HubFailure(
                f"{self.endpoint} refused {what} of {self.repo} (HTTP {code}): the repository "
                f"is gated or private; accept its terms on the hub and set {token} on the "
                "server to a token that can read it"
            )
        if code in (401, 403) or hub_code == "RepoNotFound":
            return HubFailure(
                f"{self.repo} was not found on {self.endpoint} (HTTP {code}), or it is private: "
                f"check the name, or set {token} on the server"
            )
        if code == 404:
            private = "" if self.token else f"; if it is private, set {token} on the server"
            return HubFailure(
                f"{what} of {self.repo} at revision {self.revision} was not found on "
                f"{self.endpoint} (HTTP 404): check the name and the revision{private}"
            )
        return HubFailure(
            f"{self.endpoint} answered HTTP {code} for {what} of {self.repo}", retry=code >= 500
        )

    # -- the file list ----------------------------------------------------------------------

    def list_files(self) -> Tuple[List[Tuple[str, int]], str]:
        """[(path, size)] of the repository's files, and the commit the hub names."""
        if self.source == "huggingface":
            url = "%s/api/models/%s/revision/%s?blobs=true" % (
                self.endpoint,
                quote(self.repo, safe="/"),
                quote(self.revision, safe=""),
            )
        else:
            url = "%s/api/v1/models/%s/repo/files?Revision=%s&Recursive=True" % (
                self.endpoint,
                quote(self.repo, safe="/"),
                quote(self.revision, safe=""),
            )
        with self._open(url, "the file list") as response:
            try:
                body = json.loads(response.read().decode("utf-8"))
            except (ValueError, OSError) as exc:
                raise HubFailure(f"{self.endpoint} sent an unreadable file list: {exc}") from None
        try:
            if self.source == "huggingface":
                found = [(s["rfilename"], int(s.get("size") or 0)) for s in body["siblings"]]
                return found, str(body.get("sha") or self.revision)
            files = body["Data"]["Files"]
            found = [(f["Path"], int(f.get("Size") or 0)) for f in files if f.get("Type") != "tree"]
            commit = next((str(f["Revision"]) for f in files if f.get("Revision")), self.revision)
            return found, commit
        except (KeyError, TypeError, ValueError) as exc:
            raise HubFailure(
                f"{self.endpoint} sent a file list of an unknown shape: {exc}"
            ) from None

    # -- one file ---------------------------------------------------------------------------

    def pin(self, commit: str) -> None:
        """Fetch every file from this commit (Hugging Face names one in its listing), so that a
        branch moving during the download cannot mix two versions."""
        if self.source == "huggingface" and re.fullmatch(r"[0-9a-f]{40}", commit):
            self.revision = commit

    def file_url(self, path: str) -> str:
        """Where one file is served."""
        if self.source == "huggingface":
            return "%s/%s/resolve/%s/%s" % (
                self.endpoint,
                quote(self.repo, safe="/"),
                quote(self.revision, safe=""),
                quote(path, safe="/"),
            )
        return "%s/api/v1/models/%s/repo?Revision=%s&FilePath=%s" % (
            self.endpoint,
            quote(self.repo, safe="/"),
            quote(self.revision, safe=""),
            quote(path, safe=""),
        )

    def fetch(self, path: str, part: str, size: int, progress: Callable[[int], None]) -> None:
        """Bring file `path` into `part`, resuming what `part` already holds; `progress` gets
        the byte count `part` holds after each chunk."""
        have = os.path.getsize(part) if os.path.exists(part) else 0
        if size and have > size:
            have = 0  # not a prefix of this file: start over
        if size and have == size:
            return
        extra = {"Range": "bytes=%d-" % have} if have else {}
        with self._open(self.file_url(path), path, extra) as response:
            status = getattr(response, "status", 200)
            mode = "ab" if have and status == 206 else "wb"
            done = have if mode == "ab" else 0
            with open(part, mode) as out:
                while True:
                    try:
                        chunk = response.read1(CHUNK)
                    except (OSError, socket.timeout, http.client.HTTPException) as exc:
                        raise HubFailure(
                            f"the transfer of {path} from {self.endpoint} broke off ({exc})",
                            retry=True,
                        ) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
                    progress(done)
        if size and done != size:
            raise HubFailure(
                f"the transfer of {path} from {self.endpoint} ended at {done} of {size} bytes",
                retry=True,
            )
