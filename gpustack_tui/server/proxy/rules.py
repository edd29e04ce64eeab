"""The proxy's request rules, written once for both paths (FastAPI's routes and the lean listener).

Every inference request goes through the same three steps, in this order, on either path:

1. `RequestRules.authenticate`: the key it presents (401 when missing or not valid);
2. `model_name.requested_model` (`model_of` for forms): the deployment it names (400);
3. `RequestRules.admit`: that deployment exists and is in the key's scope (else 404 as if absent),
   has the generic proxy on when asked through /model/proxy (404), and a running instance (503);
   the instances to try, in round-robin order. The `Admission` counts the request when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.picker import RoundRobinPicker
from gpustack_tui.server.proxy.routing import ModelRoute, RouteTable

MAX_TRIES = 2
"""An instance that refuses the connection is skipped once; then the error is the client's."""


@dataclass(frozen=True)
class Grant:
    """What a valid key allows (`gpustack_tui.server.access.keys.KeyRing` makes them)."""

    key_id: str
    name: str
    deployments: frozenset[str] | None
    """None: every deployment."""

    def allows(self, deployment: str) -> bool:
        """Whether this key may reach `deployment`."""
        return self.deployments is None or deployment in self.deployments


class Authenticator(Protocol):
    """Checks the key a request presents (see `gpustack_tui.server.access.keys.KeyRing`)."""

    def authenticate_headers(self, authorization: bytes | None, api_key: bytes | None) -> Grant:
        """The grant of the key in the raw Authorization / X-API-Key header values; raises
        ProxyError 401 when it is missing or not valid."""
        ...


class UsageRecorder(Protocol):
    """Counts finished requests (see `gpustack_tui.server.proxy.usage.UsageBook`)."""

    def record(
        self, deployment: str, key: str | None, *, status: int, seconds: float, tokens: Any = None
    ) -> None:
        """Count one request."""
        ...


class Admission:
    """A request let through to a deployment: the instances to try, and its count when it ends."""

    __slots__ = ("deployment", "key", "started", "upstreams", "usage")

    def __init__(
        self,
        deployment: str,
        upstreams: tuple[str, ...],
        key: str | None,
        started: float,
        usage: UsageRecorder | None,
    ) -> None:
        self.deployment = deployment
        self.upstreams = upstreams
        """Base URLs of the instances to try, in order (at most `MAX_TRIES`)."""
        self.key = key
        """The name of the key that was let in (None when the routes check no keys)."""
        self.started = started
        """`time.perf_counter()` when the request arrived."""
        self.usage = usage

    def record(self, status: int, tokens: Any = None) -> None:
        """Count the request, now that its answer (or error) is whole."""
        if self.usage is not None:
            seconds = time.perf_counter() - self.started
            self.usage.record(
                self.deployment, self.key, status=status, seconds=seconds, tokens=tokens
            )


class RequestRules:
    """Who may reach which deployment, and through which instances: the rules both paths apply.

    `keys` checks every request's API key; None (no keys at all) is for tests of the routing
    alone. `usage`, when given, counts every request that names a deployment it may reach.
    """

    def __init__(
        self,
        table: RouteTable,
        *,
        keys: Authenticator | None,
        usage: UsageRecorder | None = None,
        picker: RoundRobinPicker | None = None,
    ) -> None:
        self.table = table
        self.keys = keys
        self.usage = usage
        self.picker = picker or RoundRobinPicker()

    def authenticate(self, authorization: bytes | None, api_key: bytes | None) -> Grant | None:
        """The grant of the key in these header values (None when no keys are checked)."""
        if self.keys is None:
            return None
        return self.keys.authenticate_headers(authorization, api_key)

    def visible(self, grant: Grant | None) -> list[ModelRoute]:
        """The deployments `GET /v1/models` lists: running, and in the key's scope."""
        return [
            r
            for r in self.table.routes()
            if r.upstreams and (grant is None or grant.allows(r.name))
        ]

    def route(self, model: str, grant: Grant | None) -> ModelRoute:
        """The deployment named `model`; 404 when there is none or the key may not reach it (a
        deployment outside the key's scope reads as absent)."""
        route = self.table.lookup(model)
        if route is None or (grant is not None and not grant.allows(route.name)):
            raise errors.model_not_found(model)
        return route

    def admit(self, model: str, grant: Grant | None, *, generic: bool, started: float) -> Admission:
        """Let a request for `model` through, or raise the ProxyError that answers it.

        `generic`: it came through /model/proxy, which the deployment must have turned on. A
        refusal of a deployment the key may reach is counted before it is raised.
        """
        route = self.route(model, grant)
        key = grant.name if grant is not None else None
        admission = Admission(route.name, route.upstreams, key, started, self.usage)
        if generic and not route.generic_proxy:
            refusal = errors.generic_proxy_disabled(route.name)
        elif not route.upstreams:
            refusal = errors.no_running_instance(route.name)
        else:
            if len(route.upstreams) > 1:
                admission.upstreams = self.picker.order(route.name, route.upstreams)[:MAX_TRIES]
            return admission
        admission.record(refusal.status_code)
        raise refusal


def credentials(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bytes | None, bytes | None]:
    """The first Authorization and X-API-Key values of raw headers (names lower-case)."""
    authorization = api_key = None
    for name, value in headers:
        if name == b"authorization":
            if authorization is None:
                authorization = value
        elif name == b"x-api-key" and api_key is None:
            api_key = value
    return authorization, api_key
