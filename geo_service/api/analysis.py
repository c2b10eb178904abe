"""Analyses over HTTP: overlap, proximity, zone screening and zonal statistics.

Each endpoint parses its body, calls one analysis function and renders the result as JSON, CSV,
GeoJSON or a printable report, HTML or PDF, with its map (`?format=`, geo_service/reports);
`?async=true` runs it as a job instead (202 with the job's address; the job's result is the JSON
answer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from geo_service import jobs
from geo_service.analysis import (
    available_land,
    export,
    messages,
    overlap,
    proximity,
    screen,
    zonal,
)
from geo_service.api.deps import Caller, DbEngine, DbSession
from geo_service.api.limits import Analyses, Screenings
from geo_service.api.responses import GeoJSONResponse, JSONResponse
from geo_service.domain.access import Principal
from geo_service.reports.content import Document, analysis_document, zone_document
from geo_service.reports.html import to_html

router = APIRouter(tags=["analysis"])

OutputFormat = Literal["json", "csv", "geojson", "html", "pdf"]
FormatParam = Annotated[
    OutputFormat,
    Query(
        description="json (default), csv, geojson (rows with geometry), or the printable report "
        "with its map as html (one self-contained page) or pdf (A4)."
    ),
]
AsyncParam = Annotated[
    bool,
    Query(alias="async", description="Run as a job: 202 with /jobs/{id} to follow its progress."),
]
LangParam = Annotated[
    messages.Lang,
    Query(description="Language of the rules' reasons and of the report: en (default) or fr."),
]
Work = Callable[[Session, jobs.Report | None], dict[str, Any]]
ReportOf = Callable[[Session, dict[str, Any]], Document]
_GEOMETRY_FORMATS = ("geojson", "html", "pdf")

PropertyFilter = Annotated[
    str | dict[str, Any] | None,
    Field(
        description="Which features take part: a CQL2 filter as text (\"status = 'active' AND "
        'minerals = \'gold\'") or as CQL2 JSON ({"op": ..., "args": [...]}), the same '
        "filter as on items and tiles; or {property: value} equalities (a list value means any "
        "of them).",
        examples=["status IN ('active', 'renewal')", {"status": ["active", "renewal"]}],
    ),
]
AttributeName = Annotated[str, Field(min_length=1, max_length=255)]
LabelField = Annotated[
    AttributeName | None,
    Field(
        description="The attribute whose value names a feature in the rows (`name`), e.g. "
        "`Code`; default: its display name, else the first of name, nom, NAME, NOM, Name, "
        "Nom, code, Code, CODE. An attribute the layer does not have is a 400."
    ),
]
CarriedFields = Annotated[
    Annotated[list[AttributeName], Field(max_length=1000)] | Literal["*"] | None,
    Field(
        description="Attributes carried into each row (`properties`), CSV (`source.<name>` "
        'columns) and GeoJSON: a list of names, or "*" for all. Default: none.'
    ),
]


class OverlapRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="Slug of the source layer.")
    target: str = Field(description="Slug of the target layer.")
    source_filter: PropertyFilter = None
    target_filter: PropertyFilter = None
    min_overlap_ha: float = Field(default=0.01, ge=0, description="Smallest overlap, hectares.")
    source_label: LabelField = None
    target_label: LabelField = None
    source_fields: CarriedFields = None
    target_fields: CarriedFields = None


class ProximityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    target: str
    within_m: float | None = Field(default=None, ge=0, description="Largest distance, metres.")
    k: int | None = Field(default=1, ge=1, description="Nearest targets per source feature.")
    source_filter: PropertyFilter = None
    target_filter: PropertyFilter = None
    source_label: LabelField = None
    target_label: LabelField = None
    source_fields: CarriedFields = None
    target_fields: CarriedFields = None


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    geometry: dict[str, Any] | None = Field(
        default=None, description="The zone to screen: a GeoJSON (Multi)Polygon, EPSG:4326."
    )
    zone_id: int | None = Field(default=None, description="Id of a saved ASM zone to screen.")
    rules: dict[str, Any] | None = Field(
        default=None, description="Overrides of the default screening rules."
    )
    exclude_id: int | None = Field(default=None, description="A feature to leave out.")


class ZonalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raster: str = Field(description="Slug of a raster layer.")
    zones: str | dict[str, Any] = Field(description="A vector layer slug or a GeoJSON geometry.")
    zone_filter: PropertyFilter = None
    band: int = Field(default=1, ge=1)
    categorical: bool | None = Field(
        default=None, description="Share of each class; decided from the raster when unset."
    )


def _render(result: dict[str, Any], fmt: OutputFormat, title: str) -> Response:
    if fmt == "csv":
        disposition = f'attachment; filename="{title.lower()}.csv"'
        return Response(
            export.to_csv(result, bom=True),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    if fmt == "geojson":
        return GeoJSONResponse(export.to_geojson(result))
    return JSONResponse(result)


def _report(doc: Document, fmt: OutputFormat) -> Response:
    """The printable report, shown in the browser and saved under a name with the zone's code
    (or the layers')."""
    headers = {"Content-Disposition": f'inline; filename="{doc.filename}.{fmt}"'}
    if fmt == "pdf":
        from geo_service.reports.pdf import to_pdf  # fpdf2 loads with the first PDF

        return Response(to_pdf(doc), media_type="application/pdf", headers=headers)
    return HTMLResponse(to_html(doc), headers=headers)


def _answer(
    work: Work,
    title: str,
    fmt: OutputFormat,
    session: Session,
    engine: Engine,
    run_async: bool,
    who: Principal,
    report: ReportOf,
) -> Response:
    if not run_async:
        result = work(session, None)
        if fmt in ("html", "pdf"):
            return _report(report(session, result), fmt)
        return _render(result, fmt, title)

    return _submit(work, f"analysis-{title.lower()}", engine, who)


def _submit(work: Work, kind: str, engine: Engine, who: Principal) -> Response:
    """`work` as a job in a session of its own: 202 with the job's address."""

    def job(progress: jobs.Report) -> dict[str, Any]:
        with Session(engine) as own:
            return work(own, progress)

    job_id = jobs.submit(engine, kind, job, owner=who)
    return JSONResponse({"job": job_id, "href": f"/jobs/{job_id}"}, status_code=202)


@router.post(
    "/analysis/overlap",
    dependencies=[Analyses],
    summary="Overlapping pairs of two layers, in hectares",
)
def overlap_endpoint(
    body: OverlapRequest,
    session: DbSession,
    engine: DbEngine,
    who: Caller,
    format: FormatParam = "json",
    run_async: AsyncParam = False,
    lang: LangParam = "en",
) -> Response:
    def work(s: Session, progress: jobs.Report | None) -> dict[str, Any]:
        return overlap.overlap(
            s,
            **body.model_dump(),
            with_geometry=format in _GEOMETRY_FORMATS,
            report=progress,
            who=who,
        )

    def report(s: Session, result: dict[str, Any]) -> Document:
        return analysis_document(s, "overlap", result, body.model_dump(), who=who, lang=lang)

    return _answer(work, "Overlap", format, session, engine, run_async, who, report)


@router.post(
    "/analysis/proximity", dependencies=[Analyses], summary="Nearest target features, in metres"
)
def proximity_endpoint(
    body: ProximityRequest,
    session: DbSession,
    engine: DbEngine,
    who: Caller,
    format: FormatParam = "json",
    run_async: AsyncParam = False,
    lang: LangParam = "en",
) -> Response:
    def work(s: Session, _progress: jobs.Report | None) -> dict[str, Any]:
        return proximity.nearest(
            s, **body.model_dump(), with_geometry=format in _GEOMETRY_FORMATS, who=who
        )

    def report(s: Session, result: dict[str, Any]) -> Document:
        return analysis_document(s, "proximity", result, body.model_dump(), who=who, lang=lang)

    return _answer(work, "Proximity", format, session, engine, run_async, who, report)


@router.post(
    "/analysis/screen",
    dependencies=[Screenings],
    summary="Screen a zone against titles, parks, rivers, villages",
)
def screen_endpoint(
    body: ScreenRequest,
    session: DbSession,
    engine: DbEngine,
    who: Caller,
    format: FormatParam = "json",
    run_async: AsyncParam = False,
    lang: LangParam = "en",
) -> Response:
    def work(s: Session, _progress: jobs.Report | None) -> dict[str, Any]:
        return screen.screen(
            s,
            zone=body.geometry,
            zone_id=body.zone_id,
            rules=body.rules,
            exclude_id=body.exclude_id,
            with_geometry=format != "csv",
            lang=lang,
            who=who,
        )

    def report(s: Session, result: dict[str, Any]) -> Document:
        return zone_document(
            s, result, who=who, lang=lang, zone_id=body.zone_id, exclude_id=body.exclude_id
        )

    return _answer(work, "Screening", format, session, engine, run_async, who, report)


@router.post("/analysis/zonal", dependencies=[Analyses], summary="Raster statistics per zone")
def zonal_endpoint(
    body: ZonalRequest,
    session: DbSession,
    engine: DbEngine,
    who: Caller,
    format: FormatParam = "json",
    run_async: AsyncParam = False,
    lang: LangParam = "en",
) -> Response:
    def work(s: Session, _progress: jobs.Report | None) -> dict[str, Any]:
        return zonal.zonal(
            s, **body.model_dump(), with_geometry=format in _GEOMETRY_FORMATS, who=who
        )

    def report(s: Session, result: dict[str, Any]) -> Document:
        return analysis_document(s, "zonal", result, body.model_dump(), who=who, lang=lang)

    return _answer(work, "Zonal", format, session, engine, run_async, who, report)


# -- available land for ASM (analysis/available_land.py) ---------------------------------------


class LandExclusion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: str = Field(description="Slug of a layer whose features the land may not take.")
    buffer_m: float = Field(default=0, ge=0, description="Kept this far from them, metres.")
    filter: PropertyFilter = None


class LandNear(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: str = Field(description="Slug of the layer the land must be near (deposits, sites).")
    within_m: float = Field(ge=0, description="At most this far from one of its features, m.")
    filter: PropertyFilter = None


class AvailableLandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: dict[str, Any] = Field(
        description='Where to look: a GeoJSON (Multi)Polygon, or {"layer": slug, "id": id}.'
    )
    minerals: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None,
        max_length=50,
        description="Only near features whose `minerals` hold one of these (needs `near`).",
    )
    exclude: list[LandExclusion] = Field(default_factory=list, max_length=50)
    near: LandNear | None = None
    min_area_ha: float = Field(default=0, ge=0, description="Smallest piece kept, hectares.")


LandFormat = Literal["json", "geojson", "csv", "gpkg"]


@router.post(
    "/analysis/available-land",
    dependencies=[Analyses],
    summary="Land for ASM: a region minus exclusions, near deposits, in pieces (hectares)",
)
def available_land_endpoint(
    body: AvailableLandRequest,
    session: DbSession,
    engine: DbEngine,
    who: Caller,
    format: Annotated[
        LandFormat,
        Query(description="json or geojson (the FeatureCollection), csv, or gpkg (GeoPackage)."),
    ] = "json",
    run_async: AsyncParam = False,
) -> Response:
    """Large regions (settings `zoning.job_area_ha`, `zoning.job_vertices`) always run as a
    job, as `?async=true` does: 202 with the job's address; its result is the collection."""
    options = body.model_dump(exclude={"region"})

    def work(s: Session, progress: jobs.Report | None) -> dict[str, Any]:
        return available_land.available_land(s, body.region, who=who, report=progress, **options)

    if run_async or available_land.is_large(session, body.region, who):
        return _submit(work, "analysis-available-land", engine, who)
    result = work(session, None)
    if format == "csv":
        return Response(
            available_land.as_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="available-land.csv"'},
        )
    if format == "gpkg":
        return Response(
            available_land.as_gpkg(result),
            media_type="application/geopackage+sqlite3",
            headers={"Content-Disposition": 'attachment; filename="available-land.gpkg"'},
        )
    return GeoJSONResponse(result)
