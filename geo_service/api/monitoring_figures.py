"""Monitoring figures, CSV exports and the OECD Step 5 annual report over HTTP: thin routes over
analysis/monitoring.py and reports/step5.py. Reads need a viewer key; below internal clearance
small cells are withheld and sensitive columns left out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from starlette.responses import HTMLResponse, Response

from geo_service.analysis import monitoring as figures
from geo_service.api.deps import DbSession, requires
from geo_service.domain.access import Principal, Role
from geo_service.domain.monitoring import programme_year, programme_year_bounds
from geo_service.domain.sensitivity import Level, sees
from geo_service.problems import msg
from geo_service.reports import step5

router = APIRouter(prefix="/monitoring", tags=["monitoring"])

Reader = Annotated[Principal, Depends(requires(Role.viewer, msg("monitoring.records")))]


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period asked, by default the programme year (April to March) of today."""
    first, last = programme_year_bounds(programme_year(dt.date.today()))
    return start or first, end or last


Subject = Literal["incidents", "actions", "visits", "sites", "zones", "titles", "tailings"]


@router.get("/figures", summary="Monitoring counts by domain, category, site, province, year...")
def get_figures(
    request: Request,
    session: DbSession,
    who: Reader,
    subject: Annotated[Subject, Query()] = "incidents",
    by: Annotated[list[str] | None, Query(description="Repeat for a cross-tab.")] = None,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Programme year (April to March).")
    ] = None,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    as_of: Annotated[
        dt.date | None,
        Query(
            description="States as they stood at the end of this day (YYYY-MM-DD); default "
            "today while the period runs, else its last day."
        ),
    ] = None,
    annex_ii_only: Annotated[bool, Query(description="Only OECD Annex II risks.")] = False,
    layer: Annotated[str | None, Query(max_length=63)] = None,
    f: Annotated[Literal["json", "csv"], Query(description="json, or csv: the rows.")] = "json",
) -> Any:
    first, last = programme_year_bounds(year) if year is not None else _period(start, end)
    result = figures.figures(
        session,
        subject,
        [b for b in (by or []) if b != "none"],
        start=first,
        end=last,
        as_of=as_of,
        annex_ii_only=annex_ii_only,
        layer=layer,
        who=who,
        cleared=sees(who, Level.internal),
        min_cell=request.app.state.settings.monitoring.min_cell_count,
    )
    if f == "csv":
        name = f"figures-{subject}-{first.isoformat()}-{last.isoformat()}.csv"
        return Response(
            figures.figures_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return result


@router.get("/export/{table}.csv", summary="A monitoring table as CSV")
def export_table(
    table: Annotated[str, PathParam(max_length=40)],
    session: DbSession,
    who: Reader,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
) -> Response:
    body = figures.export_csv(
        session,
        table,
        start=start or dt.date.min,
        end=end or dt.date.max,
        who=who,
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="monitoring-{table}.csv"'},
    )


@router.get("/report", summary="The OECD due-diligence Step 5 annual report")
def get_report(
    request: Request,
    session: DbSession,
    who: Reader,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Programme year.")] = None,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    format: Annotated[Literal["html", "pdf"], Query()] = "html",
    lang: Annotated[Literal["fr", "en"], Query()] = "fr",
) -> Response:
    first, last = programme_year_bounds(year) if year is not None else _period(start, end)
    report = step5.build(
        session, start=first, end=last, lang=lang, who=who, cleared=sees(who, Level.internal),
        min_cell=request.app.state.settings.monitoring.min_cell_count,
    )  # fmt: skip
    name = f"step5-{first.isoformat()}-{last.isoformat()}"
    if format == "pdf":
        return Response(
            step5.to_pdf(report),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return HTMLResponse(step5.to_html(report))
