"""`GET /api/v1/models/search`: hub search for the TUI's model picker, most downloaded first."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from gpustack_tui.domain.model import SearchHit
from gpustack_tui.server.api.estimate import source_failure, sources_for
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.sources.errors import SourceError

router = APIRouter(prefix="/models", tags=["models"])
Context = Annotated[ServerContext, Depends(get_context)]


@router.get("/search")
async def search_models(
    ctx: Context,
    q: Annotated[str, Query(max_length=200)],
    source: Literal["huggingface", "modelscope"] = "huggingface",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[SearchHit]:
    """Models whose name contains `q` as typed (e.g. `qwen3` or `Qwen/Qwen3-0.6B`)."""
    try:
        return await asyncio.to_thread(sources_for(ctx).search, source, q, limit)
    except SourceError as exc:
        raise source_failure(exc) from exc
