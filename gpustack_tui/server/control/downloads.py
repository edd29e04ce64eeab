"""Hub models on the workers: their size for placement, and the worker agent's download of them
(`download`, `download_status`) into its shared cache before an instance starts.

The hub's token and address are the server's (HF_TOKEN or `hf auth login`, HF_ENDPOINT;
MODELSCOPE_API_TOKEN or `modelscope login`, MODELSCOPE_ENDPOINT or MODELSCOPE_DOMAIN): they go
to the agent in the call's params, and the agent keeps them off the worker's disk.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from typing import Any

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Instance, InstanceState, Progress
from gpustack_tui.domain.model import ModelMetadata
from gpustack_tui.domain.worker import Worker
from gpustack_tui.server.state.store import Store
from gpustack_tui.server.workers.sessions import SessionManager
from gpustack_tui.sources.errors import SourceError
from gpustack_tui.sources.service import Sources, hub

log = logging.getLogger(__name__)

GIB = 1024**3
DOWNLOAD_CALL_TIMEOUT = 60.0  # `download` waits for the helper to start, and queues behind others
_SOURCES = Sources()  # hub metadata for placement, cached in memory
# A hub that failed is asked again after this long, not on every pass: an unreachable one may
# take the client's whole timeout to fail, and a pass must not wait for it each second.
RETRY_HUB_SECONDS = 15.0
_FAILURES: dict[tuple[str, str], tuple[float, str]] = {}


def is_hub(spec: DeploymentSpec) -> bool:
    """Whether the deployment's model comes from a hub (downloaded by the worker)."""
    return spec.source.kind in ("huggingface", "modelscope")


def hub_credentials(source: str) -> dict[str, str]:
    """The server's token and endpoint for `source`, as the hub's own client finds them."""
    if source == "huggingface":
        from huggingface_hub import get_token

        return {"token": get_token() or "", "endpoint": hub(source).endpoint()}
    from modelscope_hub.config import HubConfig

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # MODELSCOPE_DOMAIN, the older name
        token = HubConfig().token
    return {"token": token or "", "endpoint": hub(source).endpoint()}


def download_params(spec: DeploymentSpec) -> dict[str, Any]:
    """The params of `download` for the deployment's repository."""
    source = spec.source.kind
    return {"source": source, "repo": spec.source.value, **hub_credentials(source)}


async def hub_model_metadata(
    spec: DeploymentSpec, workers: list[str]
) -> tuple[dict[str, str], ModelMetadata | None]:
    """(excluded: worker -> reason, the model's metadata) from the hub; a hub that cannot tell
    excludes every worker with its message (what to do), so the instance stays pending with that
    reason. A failure is remembered for RETRY_HUB_SECONDS, so a pass does not wait on the hub
    for every pending instance."""
    key = (spec.source.kind, spec.source.value)
    failed = _FAILURES.get(key)
    if failed is not None and time.monotonic() - failed[0] < RETRY_HUB_SECONDS:
        return {worker: failed[1] for worker in workers}, None
    try:
        meta = await asyncio.to_thread(_SOURCES.metadata, spec.source.kind, spec.source.value)
    except SourceError as exc:
        _FAILURES[key] = (time.monotonic(), exc.message)
        return {worker: exc.message for worker in workers}, None
    _FAILURES.pop(key, None)
    return {}, meta


def _gib(value: int) -> str:
    return f"{value / GIB:.1f}"


def progress_message(status: dict[str, Any]) -> str:
    """`downloading 37% (1.2 of 3.3 GiB)`, or what the download does before it knows its size."""
    total = status.get("bytes_total")
    done = int(status.get("bytes_done") or 0)
    if not total:
        return f"downloading {status.get('repo', 'the model')}: listing its files"
    percent = int(done * 100 / total)
    return f"downloading {percent}% ({_gib(done)} of {_gib(int(total))} GiB)"


def follow(store: Store, instance: Instance, status: dict[str, Any]) -> str | None:
    """Act on a download's status: the model folder once done; otherwise None, with the
    instance set to `downloading` (with its progress) or to `error` (with the agent's words)."""
    state = status.get("state")
    if state == "done":
        return str(status["path"])
    if state in ("failed", "interrupted"):
        message = f"download failed: {status.get('error') or 'no reason given'}"
        store.set_instance_state(instance.name, InstanceState.ERROR, message)
        log.warning("instance %s: %s", instance.name, message)
        return None
    message = progress_message(status)
    if instance.state is not InstanceState.DOWNLOADING or instance.state_message != message:
        total = int(status.get("bytes_total") or 0)
        done = min(int(status.get("bytes_done") or 0), total)
        progress = Progress(done=done, total=total) if total else None
        store.set_instance_state(
            instance.name, InstanceState.DOWNLOADING, message, progress=progress
        )
    return None


async def request_download(
    sessions: SessionManager, spec: DeploymentSpec, worker: Worker
) -> dict[str, Any]:
    """Ask the worker to download the model (or join the download under way); its status."""
    result: dict[str, Any] = await sessions.call(
        worker.name, "download", timeout=DOWNLOAD_CALL_TIMEOUT, **download_params(spec)
    )
    return result


async def download_status(
    sessions: SessionManager, spec: DeploymentSpec, worker: Worker
) -> dict[str, Any]:
    """The worker's status of the model's download; an interrupted one (its helper died: the
    worker rebooted, or someone killed it) is asked for again, which resumes it."""
    status: dict[str, Any] = await sessions.call(
        worker.name, "download_status", source=spec.source.kind, repo=spec.source.value
    )
    if status.get("state") == "interrupted":
        log.info("%s: download on %s was interrupted; resuming", spec.source.value, worker.name)
        status = await request_download(sessions, spec, worker)
    return status
