"""Errors are a table: each domain error class maps to one HTTP status, rendered as RFC 9457.

Problems speak the request's language: `?lang=fr|en` when given, else the best of
Accept-Language, else English (`Content-Language` says which). Their `title` and `detail`, and
any message in `where`, `errors` or extension members, are said in it (problems.py); `type`
and the structure of `where` and `errors` stay as they are, for programs.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from geo_service import errors
from geo_service.analysis.messages import Lang
from geo_service.api.responses import ProblemResponse
from geo_service.problems import in_language, msg, pick_language, pydantic_message

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
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.TooManyRequests: 429,
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


def request_language(scope: Scope) -> Lang:
    """The language to answer in: `?lang=` when we speak it, else the best of Accept-Language,
    else English."""
    lang = QueryParams(scope.get("query_string", b"")).get("lang")
    return pick_language(lang, Headers(scope=scope).get("accept-language"))


def problem(
    status: int,
    title: str,
    detail: str,
    instance: str | None = None,
    type_: str = "about:blank",
    lang: Lang = "en",
    **extra: Any,
) -> ProblemResponse:
    """A problem-details answer with its messages said in `lang`."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v not in (None, [], {})})
    response = ProblemResponse(in_language(body, lang), status_code=status)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    return response


async def _domain_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, errors.GeoServiceError)
    response = problem(
        status_for(exc),
        exc.title,
        exc.detail,
        instance=request.url.path,
        type_=f"/problems/{_slug(type(exc))}",
        lang=request_language(request.scope),
        where=exc.where,
        errors=exc.errors,
        **exc.extra,
    )
    response.headers.update(exc.headers)
    return response


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    lang = request_language(request.scope)
    problems = [
        {"where": ".".join(str(p) for p in e["loc"]), "message": pydantic_message(e)}
        for e in exc.errors()
    ]
    detail = "; ".join(
        in_language(msg("validation.at", where=p["where"], message=p["message"]), lang)
        for p in problems
    )
    return problem(
        422,
        msg("title.invalid_request"),
        detail,
        instance=request.url.path,
        lang=lang,
        errors=problems,
    )


# The framework's own refusals (an address no route has, a method a route does not take).
_HTTP_DETAILS = {404: msg("http.not_found"), 405: msg("http.method_not_allowed")}


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail: str = str(exc.detail)
    if exc.status_code in _HTTP_DETAILS and detail == HTTPStatus(exc.status_code).phrase:
        detail = _HTTP_DETAILS[exc.status_code]
    response = problem(
        exc.status_code,
        msg("title.http_error"),
        detail,
        instance=request.url.path,
        lang=request_language(request.scope),
    )
    response.headers.update(exc.headers or {})
    return response


RETRY_AFTER = 3  # seconds a client is asked to wait before retrying after a database 503
# Failures of the connection itself (refused, closed, timed out, pool exhausted) carry no
# SQLSTATE; the database is away for now, the request was fine.
_CONNECTION_FAILURES = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def _driver_error(exc: Exception) -> Exception:
    """psycopg's exception behind SQLAlchemy's wrapper (or `exc` itself)."""
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def _database_problem(exc: Exception) -> errors.GeoServiceError | None:
    """The domain error a database failure amounts to, by SQLSTATE class, with a message of
    ours: the server's own text can name tables, constraints, values or hosts. None when it is
    a fault of ours (an answer 500)."""
    state = getattr(_driver_error(exc), "sqlstate", None) or ""
    retry = {"Retry-After": str(RETRY_AFTER)}
    if state.startswith("22"):
        return errors.InvalidInput(msg("db.out_of_range"))
    if state.startswith("23"):
        return errors.Conflict(msg("db.conflict"))
    if state in ("40001", "40P01", "55P03"):  # serialization, deadlock, lock timeout
        return errors.DatabaseUnavailable(msg("db.collision"), headers=retry)
    if state == "57014":
        return errors.DatabaseUnavailable(msg("db.timeout"), headers=retry)
    if state.startswith("53"):
        return errors.DatabaseUnavailable(msg("db.short"), headers=retry)
    if state.startswith(("08", "57P")) or (not state and isinstance(exc, _CONNECTION_FAILURES)):
        return errors.DatabaseUnavailable(msg("db.unavailable"), headers=retry)
    return None


def database_text(exc: Exception) -> str:
    """What the server or libpq said, on one line: for the log, never for an answer. (The cause
    of an `Unreachable` is libpq's own message.)"""
    orig = _driver_error(exc)
    return str(orig.__cause__ or orig).strip().replace("\n", " | ")


async def _database_error(request: Request, exc: Exception) -> ProblemResponse:
    said = database_text(exc)
    state = getattr(_driver_error(exc), "sqlstate", None)
    mapped = _database_problem(exc)
    if mapped is None:
        log.error("database error on %s [%s]: %s", request.url.path, state, said, exc_info=exc)
        return problem(
            500, msg("title.internal_error"), msg("db.failed"), instance=request.url.path,
            lang=request_language(request.scope),
        )  # fmt: skip
    log.warning("database error on %s [%s]: %s", request.url.path, state, said)
    return await _domain_error(request, mapped)


async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
    log.exception("unexpected error on %s", request.url.path)
    return problem(
        500,
        msg("title.internal_error"),
        msg("error.unexpected"),
        instance=request.url.path,
        lang=request_language(request.scope),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.GeoServiceError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for failure in (DBAPIError, psycopg.Error, PoolTimeout):
        app.add_exception_handler(failure, _database_error)
    app.add_exception_handler(Exception, _unexpected)
