"""Management API errors: `{"error": {"code", "message", "details"}}` for every failure."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gpustack_tui.server.state.store import NotFound


class ApiException(Exception):
    """Raised by handlers; becomes a JSON error with a stable code and a message for people."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


def error_response(
    status: int, code: str, message: str, details: dict | None = None
) -> JSONResponse:
    """The JSON error body every management route uses."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status)


def describe_validation_errors(errors: list[dict[str, Any]]) -> str:
    """Pydantic errors as `field.path: what is wrong` lines joined by '; '."""
    parts = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body",)]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc) or 'body'}: {message}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Route ApiException, validation errors and plain HTTP errors to the JSON shape."""

    @app.exception_handler(ApiException)
    async def _api(_request: Request, exc: ApiException) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        # The store names what is missing ("no worker named 'w1'"); KeyError's str() would quote it.
        return error_response(404, "not_found", str(exc.args[0]) if exc.args else "not found")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return error_response(
            422, "invalid", describe_validation_errors(errors), {"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail))
