"""`/api/v1/image-mirrors`: the installation's image prefix rewrites (a worker's own are
`PUT /api/v1/workers/{name}/image-mirrors`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gpustack_tui.domain.images import checked_mirrors
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.state.image_settings import (
    ImageSettingsError,
    read_mirrors,
    write_mirrors,
)

router = APIRouter(prefix="/image-mirrors", tags=["images"])
Context = Annotated[ServerContext, Depends(get_context)]


def installation_mirrors(ctx: ServerContext) -> dict[str, str]:
    """The installation's rules; 409 naming the file when it is malformed."""
    try:
        return read_mirrors(ctx.paths.image_settings_file)
    except ImageSettingsError as exc:
        raise ApiException(409, "bad_settings", f"{exc}: fix or remove the file") from exc


@router.get("")
def get_mirrors(ctx: Context) -> dict[str, str]:
    """The installation's image mirrors, {from prefix: to prefix}."""
    return installation_mirrors(ctx)


@router.put("")
def set_mirrors(mirrors: dict[str, str], ctx: Context) -> dict[str, str]:
    """Replace the installation's image mirrors; 422 naming a malformed rule. They apply to
    the next start and plan."""
    try:
        checked = checked_mirrors(mirrors)
    except ValueError as exc:
        raise ApiException(422, "invalid", str(exc)) from exc
    write_mirrors(ctx.paths.image_settings_file, checked)
    return checked
