"""Country risk over HTTP: ratings imported from CSV and listed, the choropleth's countries, a
feature's country context, regions of several countries and their summary, the Kimberley
Process's diamond features (store/country_risk.py)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam

from geo_service.api.deps import Caller, DbSession, Editor
from geo_service.api.features import FeatureId
from geo_service.api.responses import JSONResponse
from geo_service.domain.country_risk import parse_csv_bytes, parse_mineral
from geo_service.io.upload import receive
from geo_service.store import country_risk as risk
from geo_service.store import layers as store

router = APIRouter(tags=["country risk"])

Category = Literal["environmental", "human_rights", "socio_economic"]
Stage = Literal["extraction", "processing", "refining"]
RegionCode = Annotated[
    str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="The region's code (MRU).")
]
Mineral = Annotated[
    str | None,
    Query(
        max_length=100,
        description="A mineral (gold, diamonds...); rows for every mineral apply too.",
    ),
]
StageQuery = Annotated[Stage | None, Query(description="A supply-chain stage.")]
Region = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_-]{1,16}$", description="Only the member countries of a region (MRU)."
    ),
]
GEOJSON = "application/geo+json"


def _members(session: DbSession, region: str | None, who: Any) -> list[str] | None:
    return None if region is None else risk.get_region(session, region, who)["members"]


@router.post(
    "/country-risk/import",
    summary="Import country risk ratings from a CSV",
    description=(
        "A multipart form with the CSV as its `file` part; columns iso3, country, mineral, "
        "stage, category, level, source, year (any case, English or French names). Every row "
        "is checked first: a bad one is a 400 naming its row and column, and nothing is written."
    ),
)
async def import_ratings(request: Request, session: DbSession, who: Editor) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="risk-"))
    try:
        upload = await receive(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            folder,
            request.app.state.settings.api.max_upload_mb * 2**20,
        )
        rows = parse_csv_bytes(upload.path.read_bytes())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return risk.import_ratings(session, rows)


@router.get("/country-risk", summary="Country risk ratings")
def list_ratings(
    session: DbSession,
    who: Caller,
    iso3: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z]{3}(,[A-Za-z]{3})*$", description="Country codes, comma-separated."
        ),
    ] = None,
    mineral: Mineral = None,
    stage: StageQuery = None,
    category: Annotated[Category | None, Query(description="A risk category.")] = None,
    region: Region = None,
) -> dict[str, Any]:
    codes = iso3.upper().split(",") if iso3 else _members(session, region, who)
    ratings = risk.list_ratings(
        session, iso3=codes, mineral=parse_mineral(mineral or ""), stage=stage, category=category
    )
    return {"ratings": ratings, "count": len(ratings)}


@router.get(
    "/country-risk/choropleth",
    summary="Countries coloured by risk level",
    description=(
        "A GeoJSON FeatureCollection of countries with the `level` of a category for a mineral "
        "and stage (null where unrated); colours are in /kinds under country_risk."
    ),
)
def choropleth(
    session: DbSession,
    who: Caller,
    category: Annotated[Category, Query(description="A risk category.")],
    mineral: Mineral = None,
    stage: StageQuery = None,
    region: Region = None,
) -> JSONResponse:
    answer = risk.choropleth(
        session,
        who,
        category=category,
        mineral=parse_mineral(mineral or ""),
        stage=stage,
        members=_members(session, region, who),
    )
    return JSONResponse(answer, media_type=GEOJSON)


@router.get(
    "/layers/{slug}/features/{feature_id}/context",
    summary="A feature's country and its risk ratings",
)
def feature_context(
    slug: str, feature_id: FeatureId, session: DbSession, who: Caller
) -> dict[str, Any]:
    layer = store.get_layer(session, slug, who)
    store.get_feature(session, layer, feature_id)
    return {
        "layer": layer.slug,
        "id": feature_id,
        **risk.feature_context(session, layer.id, feature_id, who),
    }


@router.get("/regions", summary="Regions of several countries")
def list_regions(session: DbSession) -> dict[str, Any]:
    return {"regions": risk.list_regions(session)}


@router.get("/regions/{code}", summary="A region with its geometry (its member countries' union)")
def get_region(code: RegionCode, session: DbSession, who: Caller) -> dict[str, Any]:
    return risk.get_region(session, code, who)


@router.get(
    "/regions/{code}/summary",
    summary="A region reported on as one",
    description=(
        "Features of each kind in its member countries, those flagged for the Kimberley "
        "Process, and each member's ratings."
    ),
)
def region_summary(code: RegionCode, session: DbSession, who: Caller) -> dict[str, Any]:
    return risk.region_summary(session, code, who)


@router.get(
    "/analysis/kimberley",
    summary="Features under the Kimberley Process (diamonds)",
    description=(
        "Features of every readable domain layer whose minerals include diamonds, flagged "
        "`kimberley_process`, optionally within a region."
    ),
)
def kimberley(session: DbSession, who: Caller, region: Region = None) -> JSONResponse:
    return JSONResponse(risk.kimberley_features(session, who, region), media_type=GEOJSON)
