"""Errors carry their status; one handler shapes every error body.

REST bodies are ``{"error": "<Code>", "detail": "..."}``; the WebSocket protocols map
the same exceptions to their error frames in one place each.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match


class ServiceError(Exception):
    status_code: int = 400
    code: str | None = None

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers

    @property
    def error(self) -> str:
        return self.code or type(self).__name__


class BadRequest(ServiceError):
    status_code = 400


class Unauthorized(ServiceError):
    status_code = 401

    def __init__(self, detail: str = "not authenticated") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class InvalidToken(Unauthorized):
    """A token that is malformed, badly signed, expired, or of a session that ended: the
    same code from every service (``Unauthorized`` is a token missing)."""

    def __init__(self, detail: str = "invalid token") -> None:
        super().__init__(detail)


class Forbidden(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class TooManyRequests(ServiceError):
    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(ServiceError):
    status_code = 503


def error_body(error: str, detail: Any) -> dict[str, Any]:
    return {"error": error, "detail": detail}


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse(
        error_body(exc.error, exc.detail), status_code=exc.status_code, headers=exc.headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    return JSONResponse(error_body("ValidationError", errors), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, UnicodeDecodeError):
        # A JSON body that is not UTF-8 is as malformed as one that does not parse: 422,
        # as FastAPI answers the latter, not an undocumented 400.
        invalid = [{"loc": ["body"], "msg": "the body is not UTF-8", "type": "json_invalid"}]
        return JSONResponse(error_body("ValidationError", invalid), status_code=422)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return JSONResponse(
        error_body("HTTPError", exc.detail), status_code=exc.status_code, headers=headers
    )


def _allowed_methods(request: Request) -> str:
    """Every method of every route at this path (Starlette lists only the first route's,
    and a path served by several routes, one per method, is the usual case)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
