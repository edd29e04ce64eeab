"""Which deployment a request names: the JSON body's, the form's or the query's `model`."""

from __future__ import annotations

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


def model_from_json(body: bytes, query_model: str | None = None, *, generic: bool = False) -> str:
    """The JSON body's "model" (else the query's), or a 400 saying what is wrong."""
    where = f'the {MODEL_HEADER} header or the JSON body\'s "model"' if generic else '"model"'
    try:
        parsed = loads_json(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        if query_model:
            return query_model
        if generic:
            raise errors.bad_request(
                "model_required", f"name the deployment in {where} (the body is not JSON)"
            ) from None
        raise errors.bad_request("invalid_json", "the request body is not valid JSON") from None
    model = _clean(parsed.get("model")) if isinstance(parsed, dict) else None
    model = model or query_model
    if model is None:
        raise _missing(where)
    return model


async def model_from_form(request: Request, query_model: str | None) -> str:
    """The multipart (or url-encoded) form's "model" (else the query's); reads the body first so
    that it can still be forwarded byte for byte."""
    await request.body()
    try:
        async with request.form(max_files=16, max_fields=256) as form:
            model = _clean(form.get("model"))
    except Exception as exc:  # python-multipart raises several unrelated types on bad input
        if query_model:
            return query_model
        raise errors.bad_request(
            "invalid_form", f"the request body is not a valid form ({type(exc).__name__})"
        ) from None
    model = model or query_model
    if model is None:
        raise _missing('the form field "model"')
    return model


def is_form(request: Request) -> bool:
    """Whether the body is a multipart or url-encoded form."""
    kind = request.headers.get("content-type", "").lower()
    return kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


async def model_of(request: Request) -> tuple[str, bytes]:
    """The deployment an OpenAI route's request names, and its body."""
    query = request.scope.get("query_string")
    query_model = _clean(request.query_params.get("model")) if query else None
    if is_form(request):
        model = await model_from_form(request, query_model)
        return model, await request.body()
    body = await request.body()
    return model_from_json(body, query_model), body
