"""`/api/v1/backends`: backends defined by users (list, read, add, replace, delete), and the check
that a deployment names a backend the server knows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from gpustack_tui.domain.deployment import BUILTIN_BACKENDS, DeploymentSpec
from gpustack_tui.domain.user_backend import UnknownVersion, UserBackend
from gpustack_tui.server.api.errors import ApiException
from gpustack_tui.server.context import ServerContext, get_context
from gpustack_tui.server.state.store import AlreadyExists, BackendInUse, NotFound, Store

router = APIRouter(prefix="/backends", tags=["backends"])
Context = Annotated[ServerContext, Depends(get_context)]


def _in_use(exc: BackendInUse) -> ApiException:
    return ApiException(409, "in_use", str(exc), {"deployments": exc.deployments})


@router.get("")
def list_backends(ctx: Context) -> list[UserBackend]:
    """Every backend defined by users, by name (the built-in ones are not listed)."""
    return ctx.store.list_user_backends()


@router.get("/{name}")
def get_backend(name: str, ctx: Context) -> UserBackend:
    """One backend defined by a user."""
    return ctx.store.get_user_backend(name)


@router.post("", status_code=201)
def add_backend(backend: UserBackend, ctx: Context) -> UserBackend:
    """Define a new backend; 409 if the name is taken."""
    try:
        ctx.store.add_user_backend(backend)
    except AlreadyExists as exc:
        raise ApiException(409, "exists", f"{exc}: remove it first or replace it with PUT") from exc
    return backend


@router.put("/{name}")
def put_backend(name: str, backend: UserBackend, ctx: Context, response: Response) -> UserBackend:
    """Define or replace a backend. New instances use the new definition; running ones keep
    theirs until recreated. 409 when deployments use a version it would drop."""
    if backend.name != name:
        raise ApiException(
            422, "invalid", f"the body names {backend.name!r} but the URL names {name!r}"
        )
    try:
        created = ctx.store.put_user_backend(backend)
    except BackendInUse as exc:
        raise _in_use(exc) from exc
    response.status_code = 201 if created else 200
    return backend


@router.delete("/{name}", status_code=204)
def delete_backend(name: str, ctx: Context) -> Response:
    """Delete a backend; 409 naming the deployments that still use it."""
    if name in BUILTIN_BACKENDS:
        raise ApiException(409, "builtin", f"{name!r} is a built-in backend: it cannot be removed")
    try:
        ctx.store.delete_user_backend(name)
    except BackendInUse as exc:
        raise _in_use(exc) from exc
    return Response(status_code=204)


def known_backends(store: Store) -> list[str]:
    """The built-in names, then the users' names."""
    return [*BUILTIN_BACKENDS, *(b.name for b in store.list_user_backends())]


def check_backend(store: Store, spec: DeploymentSpec) -> UserBackend | None:
    """The user backend `spec` names (None for a built-in one); ApiException 422 when the server
    has no backend of that name, no such version, or it cannot offload to the CPU."""
    if spec.backend in BUILTIN_BACKENDS:
        return None
    try:
        backend = store.get_user_backend(spec.backend)
    except NotFound:
        known = known_backends(store)
        raise ApiException(
            422,
            "unknown_backend",
            f"no backend named {spec.backend!r}: known backends are {', '.join(known)} "
            "(define one with `gpustack-tui backends add`)",
            {"known": known},
        ) from None
    try:
        backend.resolve(spec.backend_version)
    except UnknownVersion as exc:
        raise ApiException(
            422, "unknown_version", str(exc), {"versions": backend.version_names()}
        ) from None
    if spec.advanced.allow_cpu_offloading and not backend.cpu_offloading:
        raise ApiException(
            422,
            "not_supported",
            f"backend {backend.name!r} cannot offload to the CPU: turn allow_cpu_offloading "
            "off, or mark the backend as able to (cpu_offloading: true)",
        )
    return backend
