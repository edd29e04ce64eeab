"""`/api/v1/usage`: what the inference routes served, per deployment and per key (in memory)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gpustack_tui.server.proxy.usage import UsageBook

router = APIRouter(prefix="/usage", tags=["usage"])


def get_usage() -> UsageBook:
    """FastAPI dependency, overridden by the app with its usage book."""
    raise RuntimeError("the app did not provide its usage book")


@router.get("")
def usage(book: Annotated[UsageBook, Depends(get_usage)]) -> dict[str, Any]:
    """Requests, errors, latency p50/p90/p99 in ms and tokens since the server started:
    `deployments`, `keys` and `pairs` (deployment x key) rows."""
    return book.snapshot()
