"""Health: database and PostGIS versions, 503 when the database cannot be reached."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo_service import __version__
from geo_service.api.deps import DbEngine
from geo_service.api.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service and database health")
def health(engine: DbEngine) -> JSONResponse:
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT version(), postgis_full_version(), postgis_lib_version()")
            ).one()
    except DBAPIError as exc:
        return JSONResponse(
            {
                "status": "unavailable",
                "service": __version__,
                "database": None,
                "detail": str(exc.orig).split("\n")[0] if exc.orig else str(exc),
            },
            status_code=503,
        )
    return JSONResponse(
        {
            "status": "ok",
            "service": __version__,
            "database": row[0].split(" on ")[0],
            "postgis": row[2],
            "postgis_full": row[1],
        }
    )
