"""The FastAPI application: routers, error table, CORS, the engine opened at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from geo_service import __version__
from geo_service.api import analysis, errors, features, health, jobs, layers, tiles, web
from geo_service.api.responses import JSONResponse
from geo_service.db.engine import database_url, make_engine
from geo_service.settings import Settings, get_settings


def create_app(url: str | None = None, settings: Settings | None = None) -> FastAPI:
    """The app on `url`, or on the configured database (the embedded cluster by default)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(
            url or database_url(settings.db), pool_size=settings.db.pool_size
        )
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="geo-service",
        version=__version__,
        description=(
            "Mining sites, titles, tailings facilities and abandoned mines in PostGIS: "
            "OGC API Features, analyses in geodesic hectares and metres, vector tiles."
        ),
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.api.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["ETag", "Location", "Content-Crs"],
    )
    for module in (health, jobs, features, layers, analysis, tiles, web):
        app.include_router(module.router)
    return app
