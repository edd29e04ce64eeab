"""Which deployment a request names: the JSON body's, the form's or the query's `model`, or the
generic proxy's X-GPUStack-Model header. Both paths (FastAPI's routes, the lean listener) ask here.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from gpustack_tui.server.proxy import errors
from gpustack_tui.server.proxy.usage import loads_json

MODEL_HEADER = "X-GPUStack-Model"
"""Names the deployment for the generic proxy (before the JSON body's "model")."""


def _clean(model: object) -> str | None:
    return model.strip() if isinstance(model, str) and model.strip() else None


def _missing(where: str) -> errors.ProxyError:
    return errors.bad_request(
        "model_required", f"name the deployment in {where}: a non-empty string"
    )


def model_from_json(body: bytes, from_query: str | None = None, *, generic: bool = False) -> str:
    """The JSON body's "model" (else the query's), or a 400 saying what is wrong."""
    where = f'the {MODEL_HEADER} header or the JSON body\'s "model"' if generic else '"model"'
    try:
        parsed = loads_json(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        if from_query:
            return from_query
        if generic:
            raise errors.bad_request(
                "model_required", f"name the deployment in {where} (the body is not JSON)"
            ) from None
        raise errors.bad_request("invalid_json", "the request body is not valid JSON") from None
    model = _clean(parsed.get("model")) if isinstance(parsed, dict) else None
    model = model or from_query
    if model is None:
        raise _missing(where)
    return model


def query_model(query: bytes) -> str | None:
    """The last non-empty `model` of a query string (without the "?"), stripped; else None."""
    if not query:
        return None
    values = [v for k, v in parse_qsl(query.decode("latin-1")) if k == "model"]
    return (values[-1].strip() or None) if values else None


def requested_model(
    body: bytes, *, query: bytes = b"", header: bytes | None = None, generic: bool
) -> str:
    """The deployment a request with a JSON (or empty) body names; a 400 when it names none.

    An OpenAI route (`generic` False): the body's "model", else the query's. The generic proxy:
    the X-GPUStack-Model `header`, else the body's "model".
    """
    if generic:
        named = header.decode("latin-1").strip() if header is not None else ""
        return named or model_from_json(body, generic=True)
    return model_from_json(body, query_model(query) if query else None)


async def model_from_form(request: Request, from_query: str | None) -> str:
    """The multipart (or url-encoded) form's "model" (else the query's); reads the body first so
    that it can still be forwarded byte for byte."""
    await request.body()
    try:
        async with request.form(max_files=16, max_fields=256) as form:
            model = _clean(form.get("model"))
    except Exception as exc:  # python-multipart raises several unrelated types on bad input
        if from_query:
            return from_query
        raise errors.bad_request(
            "invalid_form", f"the request body is not a valid form ({type(exc).__name__})"
        ) from None
    model = model or from_query
    if model is None:
        raise _missing('the form field "model"')
    return model


def is_form(request: Request) -> bool:
    """Whether the body is a multipart or url-encoded form."""
    kind = request.headers.get("content-type", "").lower()
    return kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


async def model_of(request: Request) -> tuple[str, bytes]:
    """The deployment an OpenAI route's request names, and its body."""
    if is_form(request):
        named = query_model(request.scope.get("query_string", b""))
        model = await model_from_form(request, named)
        return model, await request.body()
    body = await request.body()
    return requested_model(body, query=request.scope.get("query_string", b""), generic=False), body
