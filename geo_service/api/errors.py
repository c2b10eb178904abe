"""Errors are a table: each domain error class maps to one HTTP status, rendered as RFC 9457."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo_service import errors
from geo_service.api.responses import ProblemResponse

log = logging.getLogger(__name__)

STATUS: dict[type[errors.GeoServiceError], int] = {
    errors.InvalidInput: 400,
    errors.InvalidGeometry: 422,
    errors.InvalidAttributes: 422,
    errors.InvalidCRS: 422,
    errors.UnsupportedFormat: 415,
    errors.BrokenFile: 422,
    errors.PayloadTooLarge: 413,
    errors.NotFound: 404,
    errors.UnknownLayer: 404,
    errors.UnknownFeature: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.Forbidden: 403,
    errors.DatabaseUnavailable: 503,
}


def _slug(cls: type) -> str:
    """InvalidGeometry -> invalid-geometry, InvalidCRS -> invalid-crs."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "-", cls.__name__).lower()


def status_for(exc: errors.GeoServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(
    status: int,
    title: str,
    detail: str,
    instance: str | None = None,
    type_: str = "about:blank",
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v not in (None, [], {})})
    return ProblemResponse(body, status_code=status)


async def _domain_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, errors.GeoServiceError)
    return problem(
        status_for(exc),
        exc.title,
        exc.detail,
        instance=request.url.path,
        type_=f"/problems/{_slug(type(exc))}",
        where=exc.where,
        errors=exc.errors,
    )


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"where": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    detail = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
    return problem(422, "Invalid request", detail, instance=request.url.path, errors=problems)


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, "HTTP error", str(exc.detail), instance=request.url.path)


async def _database_error(request: Request, exc: Exception) -> ProblemResponse:
    log.warning("database error on %s: %s", request.url.path, exc)
    if isinstance(exc, OperationalError):
        return problem(
            503, "Database unavailable", "The database cannot be reached; try again shortly",
            instance=request.url.path,
        )  # fmt: skip
    return problem(
        400, "Request refused by the database", str(getattr(exc, "orig", exc)).split("\n")[0],
        instance=request.url.path,
    )  # fmt: skip


async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
    log.exception("unexpected error on %s", request.url.path)
    return problem(500, "Internal error", "An unexpected error occurred", instance=request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.GeoServiceError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
