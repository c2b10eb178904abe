"""Health: database and PostGIS versions, 503 when the database cannot be reached, and why."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from geo_service import __version__
from geo_service.api.deps import DbEngine
from geo_service.api.errors import RETRY_AFTER, database_text, request_language
from geo_service.api.responses import JSONResponse
from geo_service.db.engine import Unreachable
from geo_service.problems import in_language, msg

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


def _why(exc: DBAPIError | PoolTimeout) -> str:
    """Why the database cannot serve, in plain words and without the server's own text (which
    can name hosts, users or values): 'the database at 127.0.0.1:5433 refuses connections'."""
    if isinstance(exc, PoolTimeout):
        return msg("health.busy")
    if isinstance(exc.orig, Unreachable):
        return exc.orig.args[0]  # a message of problems.py, made by db/engine.py
    state = getattr(exc.orig, "sqlstate", None)
    return msg("health.failed_state", state=state) if state else msg("health.failed")


@router.get("/health", summary="Service and database health")
def health(request: Request, engine: DbEngine) -> JSONResponse:
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT version(), postgis_full_version(), postgis_lib_version()")
            ).one()
    except (DBAPIError, PoolTimeout) as exc:
        why = _why(exc)
        log.warning("health: %s: %s", why, database_text(exc))
        lang = request_language(request.scope)
        return JSONResponse(
            {"status": "unavailable", "service": __version__, "database": None,
             "detail": in_language(why, lang)},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER), "Content-Language": lang,
                     "Vary": "Accept-Language"},
        )  # fmt: skip
    return JSONResponse(
        {
            "status": "ok",
            "service": __version__,
            "database": row[0].split(" on ")[0],
            "postgis": row[2],
            "postgis_full": row[1],
        }
    )
