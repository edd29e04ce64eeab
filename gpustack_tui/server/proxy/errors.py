"""Errors of the inference routes, in the OpenAI error shape."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

JSON = "application/json"
RETRY_AFTER_SECONDS = 5
_MAX_NAME = 128


def error_body(message: str, type_: str, code: str) -> dict[str, dict[str, str]]:
    """`{"error": {"message", "type", "code"}}`, as OpenAI clients expect."""
    return {"error": {"message": message, "type": type_, "code": code}}


class ProxyError(Exception):
    """A request the routes answer with an error instead of forwarding it."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    @property
    def type(self) -> str:
        """The OpenAI error type: the client's fault or ours."""
        return "invalid_request_error" if self.status_code < 500 else "server_error"

    def body(self) -> bytes:
        """The answer's JSON body (as Starlette's JSONResponse writes it: compact, UTF-8)."""
        shape = error_body(self.message, self.type, self.code)
        return json.dumps(shape, ensure_ascii=False, separators=(",", ":")).encode()

    def to_response(self) -> Response:
        """The JSON response for this error."""
        return Response(
            self.body(), status_code=self.status_code, headers=self.headers, media_type=JSON
        )


def shown(name: str) -> str:
    """A client-given name, quoted and cut short, fit to echo back in a message."""
    if len(name) > _MAX_NAME:
        name = name[:_MAX_NAME] + "..."
    return repr(name)


def bad_request(code: str, message: str) -> ProxyError:
    """400: the request does not say which deployment it is for, or is not JSON."""
    return ProxyError(400, code, message)


def model_not_found(model: str) -> ProxyError:
    """404: no deployment has that name. Names no other deployment."""
    return ProxyError(
        404,
        "model_not_found",
        f"model {shown(model)} not found: no deployment has that name. "
        "Run `gpustack-tui ls` to see the deployments.",
    )


def generic_proxy_disabled(model: str) -> ProxyError:
    """404: the deployment exists but its generic proxy is off."""
    return ProxyError(
        404,
        "generic_proxy_disabled",
        f"the generic proxy (/model/proxy) is off for deployment {shown(model)}. "
        "Turn it on with `advanced.generic_proxy: true` in the deployment's spec.",
    )


def no_running_instance(model: str) -> ProxyError:
    """503 with Retry-After: the deployment has no instance serving yet."""
    return ProxyError(
        503,
        "no_running_instance",
        f"deployment {shown(model)} has no running instance yet; retry shortly, "
        "or see its state with `gpustack-tui ls`.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def upstream_error(model: str, where: str, what: str) -> ProxyError:
    """502: the instance could not be reached, or broke the protocol."""
    return ProxyError(502, "upstream_error", f"deployment {shown(model)}: {what} ({where})")


def upstream_timeout(model: str, where: str) -> ProxyError:
    """504: the instance did not answer in time."""
    return ProxyError(
        504, "upstream_timeout", f"deployment {shown(model)}: the instance timed out ({where})"
    )


def internal_error() -> ProxyError:
    """500: a bug on this side; the details are in the server's log, never in the answer."""
    return ProxyError(500, "internal_error", "the server failed on this request; see its log")
