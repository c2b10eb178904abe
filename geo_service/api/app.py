"""The FastAPI application: routers, error table, CORS, the engine opened at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from geo_service import __version__
from geo_service.api import (
    access,
    analysis,
    country_risk,
    enforcement,
    errors,
    features,
    health,
    jobs,
    layers,
    monitoring,
    monitoring_figures,
    openapi,
    tiles,
    web,
    zoning,
)
from geo_service.api.guard import BodyGuard, HeadAsGet
from geo_service.api.limits import RateLimits
from geo_service.api.params import check_query
from geo_service.api.responses import JSONResponse
from geo_service.db.engine import database_url, make_engine
from geo_service.db.local import LocalCluster
from geo_service.settings import Settings, get_settings


def create_app(
    url: str | None = None, settings: Settings | None = None, cluster: LocalCluster | None = None
) -> FastAPI:
    """The app on `url`, or on the configured database (the embedded cluster by default).

    `cluster` is the embedded cluster behind `url`: the app follows it to whichever port it
    restarts on, without a restart of its own.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(
            url or database_url(settings.db), pool_size=settings.db.pool_size, cluster=cluster
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
        dependencies=[Depends(check_query)],
        openapi_url=None,  # api/openapi.py serves it, as OpenAPI 3.0 with a path per collection
    )
    app.state.settings = settings
    app.state.rate_limits = RateLimits(settings.rates)
    errors.install(app)
    app.add_middleware(
        BodyGuard,
        max_json_bytes=int(settings.api.max_json_mb * 2**20),
        max_depth=settings.api.max_json_depth,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    # "*" means any web page's origin, but not "null" (sandboxed frames, local files), which
    # anyone can claim. Keys limited to origins are checked apart from CORS, on every request.
    any_origin = "*" in settings.api.cors_origins
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[] if any_origin else settings.api.cors_origins,
        allow_origin_regex=r"https?://[^/\s]+" if any_origin else None,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["ETag", "Location", "Content-Crs", "Retry-After", "WWW-Authenticate"],
        max_age=600,
    )
    app.add_middleware(HeadAsGet)  # outermost: everything inside answers a GET
    for module in (
        health, access, jobs, country_risk, features, layers, analysis, zoning, enforcement,
        monitoring_figures, monitoring, tiles, web, openapi,
    ):  # fmt: skip
        app.include_router(module.router)
    return app
