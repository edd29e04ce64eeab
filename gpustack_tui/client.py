"""The management API client: the only way the CLI and the TUI reach the server.

Synchronous (httpx); the TUI calls it from thread workers so its event loop never blocks.
Every failure surfaces as `ApiError` with a message a person can act on.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Generator
from typing import IO, Any

import httpx

from gpustack_tui.config import Paths, read_token, server_url
from gpustack_tui.domain.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyInfo
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance
from gpustack_tui.domain.model import SearchHit
from gpustack_tui.domain.user_backend import UserBackend
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import Worker, WorkerStats


class ApiError(Exception):
    """A request the server refused or could not answer.

    `code` is stable for scripts, `message` is for people.
    """

    def __init__(
        self, code: str, message: str, status: int = 0, details: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class ServerUnavailable(ApiError):
    """No server answers at the configured address."""


class Client:
    """Typed calls to `/api/v1`. Create with `Client.for_paths(paths)` or a URL and token."""

    def __init__(self, base_url: str, token: str | None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    @classmethod
    def for_paths(cls, paths: Paths, url: str | None = None, timeout: float = 30.0) -> Client:
        """A client for the installation at `paths` (its server address and token)."""
        return cls(server_url(paths, url), read_token(paths), timeout=timeout)

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiError(
                "timeout", f"the server at {self.base_url} did not answer in time"
            ) from exc
        except httpx.TransportError as exc:
            raise ServerUnavailable(
                "server_unavailable",
                f"no server answers at {self.base_url}: start it with `gpustack-tui server` "
                "or just run `gpustack-tui`",
            ) from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON object a route answers with (these routes answer objects)."""
        body: dict[str, Any] = self._request(method, path, **kwargs).json()
        return body

    # -- server -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Server liveness and version (no token needed)."""
        return self._object("GET", "/healthz")

    # -- workers ----------------------------------------------------------------------------

    def list_workers(self) -> list[Worker]:
        """Every worker with its state and GPUs."""
        return [Worker.model_validate(w) for w in self._request("GET", "/api/v1/workers").json()]

    def get_worker(self, name: str) -> Worker:
        """One worker with its state and GPUs."""
        return Worker.model_validate(self._request("GET", f"/api/v1/workers/{name}").json())

    def worker_stats(self) -> list[WorkerStats]:
        """Every worker's live figures: GPU utilisation, memory, temperature, RAM, load, holders."""
        return [
            WorkerStats.model_validate(w)
            for w in self._request("GET", "/api/v1/worker-stats").json()
        ]

    def add_worker(
        self,
        destination: str,
        name: str | None = None,
        identity_file: str | None = None,
        accept_host_key: str | None = None,
        image_mirrors: dict[str, str] | None = None,
    ) -> Worker:
        """Connect to a worker and keep it (with its own `image_mirrors`, {from: to}). An
        unknown host key raises ApiError code `host_key_unknown` with details {fingerprint,
        key_type, host}: show it, then call again with `accept_host_key=<fingerprint>`."""
        body = {
            "destination": destination,
            "name": name,
            "identity_file": identity_file,
            "accept_host_key": accept_host_key,
            "image_mirrors": image_mirrors or {},
        }
        return Worker.model_validate(self._request("POST", "/api/v1/workers", json=body).json())

    def remove_worker(self, name: str) -> None:
        """Forget a worker; refused while instances are placed on it."""
        self._request("DELETE", f"/api/v1/workers/{name}")

    def set_worker_labels(self, name: str, labels: dict[str, str]) -> Worker:
        """Replace a worker's labels."""
        response = self._request("PUT", f"/api/v1/workers/{name}/labels", json=labels)
        return Worker.model_validate(response.json())

    def set_worker_image_mirrors(self, name: str, mirrors: dict[str, str]) -> Worker:
        """Replace a worker's own image mirrors ({from prefix: to prefix})."""
        response = self._request("PUT", f"/api/v1/workers/{name}/image-mirrors", json=mirrors)
        return Worker.model_validate(response.json())

    def image_mirrors(self) -> dict[str, str]:
        """The installation's image mirrors ({from prefix: to prefix})."""
        return dict(self._request("GET", "/api/v1/image-mirrors").json())

    def set_image_mirrors(self, mirrors: dict[str, str]) -> dict[str, str]:
        """Replace the installation's image mirrors; returns them as stored."""
        return dict(self._request("PUT", "/api/v1/image-mirrors", json=mirrors).json())

    # -- deployments ------------------------------------------------------------------------

    def list_deployments(self) -> list[DeploymentView]:
        """Every deployment with its instances."""
        data = self._request("GET", "/api/v1/deployments").json()
        return [DeploymentView.model_validate(d) for d in data]

    def get_deployment(self, name: str) -> DeploymentView:
        """One deployment with its instances."""
        return DeploymentView.model_validate(
            self._request("GET", f"/api/v1/deployments/{name}").json()
        )

    def create_deployment(self, spec: DeploymentSpec) -> DeploymentView:
        """Store a new deployment; the server creates its instances."""
        body = spec.model_dump(mode="json")
        return DeploymentView.model_validate(
            self._request("POST", "/api/v1/deployments", json=body).json()
        )

    def apply_deployment(self, spec: DeploymentSpec) -> DeploymentView:
        """Create the deployment, or replace the spec of the one with that name."""
        body = spec.model_dump(mode="json")
        return DeploymentView.model_validate(
            self._request("PUT", f"/api/v1/deployments/{spec.name}", json=body).json()
        )

    def scale(self, name: str, replicas: int) -> DeploymentView:
        """Set the replica count (0 stops every instance, keeping the deployment)."""
        response = self._request(
            "PATCH", f"/api/v1/deployments/{name}/scale", json={"replicas": replicas}
        )
        return DeploymentView.model_validate(response.json())

    def stop_deployment(self, name: str) -> DeploymentView:
        """Replicas to 0, the count it had remembered for `start_deployment`."""
        response = self._request("POST", f"/api/v1/deployments/{name}/stop")
        return DeploymentView.model_validate(response.json())

    def start_deployment(self, name: str, replicas: int | None = None) -> DeploymentView:
        """Replicas back to the remembered count (1 when none), or to `replicas`."""
        body = {} if replicas is None else {"replicas": replicas}
        response = self._request("POST", f"/api/v1/deployments/{name}/start", json=body)
        return DeploymentView.model_validate(response.json())

    def delete_deployment(self, name: str) -> None:
        """Delete a deployment; its processes are stopped on the workers."""
        self._request("DELETE", f"/api/v1/deployments/{name}")

    def plan(self, spec: DeploymentSpec) -> dict[str, Any]:
        """Where the spec's replicas would land on the live cluster (nothing is started)."""
        return self._object("POST", "/api/v1/plan", json=spec.model_dump(mode="json"))

    # -- instances --------------------------------------------------------------------------

    def list_instances(self) -> list[Instance]:
        """Every instance of every deployment."""
        return [
            Instance.model_validate(i) for i in self._request("GET", "/api/v1/instances").json()
        ]

    def delete_instance(self, name: str) -> None:
        """Stop and forget one instance; the reconciler makes a new one if replicas ask for it."""
        self._request("DELETE", f"/api/v1/instances/{name}")

    def read_logs(self, name: str, tail: int | None = None, previous: bool = False) -> str:
        """An instance's log so far (the last `tail` lines when given); with `previous`, the
        log of its program's previous run."""
        params: dict[str, Any] = {"tail": tail} if tail is not None else {}
        if previous:
            params["previous"] = "true"
        return self._request("GET", f"/api/v1/instances/{name}/logs", params=params).text

    def follow_logs(
        self,
        name: str,
        tail: int | None = None,
        on_open: Callable[[Callable[[], None]], object] | None = None,
    ) -> Generator[str, None, None]:
        """Yield an instance's log as it grows, until the caller stops or the instance goes.
        `on_open` gets a function that ends the stream from any thread (a quiet log would
        otherwise keep the reading thread waiting for its next line)."""
        params: dict[str, Any] = {"follow": "true"}
        if tail is not None:
            params["tail"] = tail
        try:
            with self._http.stream(
                "GET", f"/api/v1/instances/{name}/logs", params=params, timeout=None
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error_from(response)
                if on_open is not None:
                    on_open(lambda: _abort_stream(response))
                yield from response.iter_text()
        except httpx.TransportError as exc:
            raise ServerUnavailable(
                "server_unavailable", f"lost the log stream from {self.base_url}: {exc}"
            ) from exc

    def download_logs(self, name: str, out: IO[bytes], previous: bool = False) -> int:
        """Write an instance's whole log as the server keeps it (with `previous`, its previous
        run's) to `out`, streamed, never held in memory; return the number of bytes."""
        params: dict[str, Any] = {"previous": "true"} if previous else {}
        written = 0
        try:
            with self._http.stream(
                "GET", f"/api/v1/instances/{name}/logs", params=params, timeout=None
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error_from(response)
                for block in response.iter_bytes():
                    out.write(block)
                    written += len(block)
        except httpx.TransportError as exc:
            raise ServerUnavailable(
                "server_unavailable", f"lost the log download from {self.base_url}: {exc}"
            ) from exc
        return written

    # -- API keys and usage -----------------------------------------------------------------

    def list_keys(self) -> list[ApiKeyInfo]:
        """Every inference API key (revoked and expired ones too), without secrets."""
        return [ApiKeyInfo.model_validate(k) for k in self._request("GET", "/api/v1/keys").json()]

    def create_key(
        self,
        name: str,
        deployments: list[str] | None = None,
        expires_in_days: float | None = None,
    ) -> ApiKeyCreated:
        """A new key; its `key` is shown this once and never again."""
        body = ApiKeyCreate(name=name, deployments=deployments, expires_in_days=expires_in_days)
        response = self._request("POST", "/api/v1/keys", json=body.model_dump())
        return ApiKeyCreated.model_validate(response.json())

    def revoke_key(self, name: str) -> None:
        """Revoke a key: it stops working at once."""
        self._request("DELETE", f"/api/v1/keys/{name}")

    def usage(self) -> dict[str, Any]:
        """Inference usage since the server started, per deployment, per key and per pair."""
        return self._object("GET", "/api/v1/usage")

    # -- models: metadata, estimate, search ---------------------------------------------------

    def estimate(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /estimate: `{metadata, gpu_source, estimate, minimum}` for a body of
        {source: {huggingface|modelscope|local_path: str}, backend, gpus, gpu_memory,
        backend_parameters, category, worker, revision, extended_kv_cache}. Reading a hub can
        take a while, hence the longer timeout."""
        return self._object("POST", "/api/v1/estimate", json=body, timeout=120.0)

    def search_models(
        self, query: str, source: str = "huggingface", limit: int = 20
    ) -> list[SearchHit]:
        """Hub models whose name contains `query`, most downloaded first."""
        params = {"q": query, "source": source, "limit": limit}
        found = self._request("GET", "/api/v1/models/search", params=params).json()
        return [SearchHit.model_validate(hit) for hit in found]

    def list_files(
        self,
        path: str,
        worker: str | None = None,
        all_files: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """GET /files: `{path, where, entries: [{name, is_dir, size}], truncated}` of one folder
        on the server, or on `worker`; folders and .gguf files only unless `all_files`."""
        params: dict[str, Any] = {"path": path}
        if worker:
            params["worker"] = worker
        if all_files:
            params["all"] = "true"
        kwargs: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        return self._object("GET", "/api/v1/files", params=params, **kwargs)

    # -- backends defined by users -----------------------------------------------------------

    def list_backends(self) -> list[UserBackend]:
        """Every backend defined by users (not the built-in ones)."""
        found = self._request("GET", "/api/v1/backends").json()
        return [UserBackend.model_validate(b) for b in found]

    def get_backend(self, name: str) -> UserBackend:
        """One backend defined by a user."""
        return UserBackend.model_validate(self._request("GET", f"/api/v1/backends/{name}").json())

    def add_backend(self, backend: UserBackend) -> UserBackend:
        """Define a new backend (ApiError `exists` if the name is taken)."""
        body = backend.model_dump(mode="json")
        return UserBackend.model_validate(
            self._request("POST", "/api/v1/backends", json=body).json()
        )

    def put_backend(self, backend: UserBackend) -> UserBackend:
        """Define a backend or replace the one with that name."""
        body = backend.model_dump(mode="json")
        return UserBackend.model_validate(
            self._request("PUT", f"/api/v1/backends/{backend.name}", json=body).json()
        )

    def delete_backend(self, name: str) -> None:
        """Delete a backend (ApiError `in_use`, details.deployments, while deployments use it)."""
        self._request("DELETE", f"/api/v1/backends/{name}")


def _abort_stream(response: httpx.Response) -> None:
    """Wake a thread blocked reading `response`: shutting the socket down ends its read (closing
    it from another thread would not)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _error_from(response: httpx.Response) -> ApiError:
    """Build an ApiError from the server's `{"error": {...}}` body (or whatever came back)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return ApiError(
            str(err.get("code", "error")),
            str(err.get("message", response.reason_phrase)),
            response.status_code,
            err.get("details") or {},
        )
    if response.status_code == 401:
        return ApiError(
            "unauthorized",
            "the server refused the management token: is this the right --data-dir?",
            401,
        )
    text = response.text[:300] if body is None else str(body)[:300]
    return ApiError("http_error", f"HTTP {response.status_code}: {text}", response.status_code)
