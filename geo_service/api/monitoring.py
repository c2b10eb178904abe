"""Site monitoring over HTTP: thin routes over store/monitoring.py (the register) and
analysis/monitoring.py (figures, CSV). Monitors (editor keys) record visits, statuses,
incidents and actions; reviewers (admin, or a key of group `reviewer`) verify incidents. Every
read needs a key (viewer or better): these records are not for anonymous callers.

A field entry sent twice with the same `entry_key` (or `Idempotency-Key` header) answers 200
with the record the first send made, instead of 201 with a new one."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from geo_service.analysis import monitoring as figures
from geo_service.api.deps import DbSession, Editor, get_principal, requires
from geo_service.api.features import FeatureId
from geo_service.api.responses import JSONResponse
from geo_service.domain import monitoring as vocabulary
from geo_service.domain.access import Principal, Role
from geo_service.errors import Forbidden
from geo_service.io.upload import receive
from geo_service.problems import current_language, in_language, msg
from geo_service.store import layers as store
from geo_service.store import monitoring as register

router = APIRouter(prefix="/monitoring", tags=["monitoring"])

Reader = Annotated[Principal, Depends(requires(Role.viewer, msg("monitoring.records")))]


def reviewer(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The caller, if it may verify incidents: an admin, or a key of group `reviewer`."""
    if not principal.authenticated:
        principal.require(Role.admin, msg("monitoring.verifying"))  # 401, asking for a key
    if not register.is_reviewer(principal):
        raise Forbidden(msg("monitoring.reviewer"))
    return principal


Reviewer = Annotated[Principal, Depends(reviewer)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
RecordId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="The record's id.")]
LayerParam = Annotated[str, Query(min_length=1, max_length=63, description="The sites' layer.")]
FeatureParam = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Only this site.")]
Day = Annotated[dt.date | None, Query(description="A day, YYYY-MM-DD.")]
From = Annotated[dt.date | None, Query(alias="from", description="First day of the period.")]
To = Annotated[dt.date | None, Query(alias="to", description="Last day of the period.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="The entry's key (as `entry_key`): a resend is a 200.",
    ),
]
Category = Literal[tuple(c.code for c in vocabulary.CATEGORIES)]  # type: ignore[valid-type]
Stakeholder = Literal[tuple(vocabulary.STAKEHOLDERS)]  # type: ignore[valid-type]
DomainCode = Literal[tuple(d.code for d in vocabulary.DOMAINS)]  # type: ignore[valid-type]


def _said(result: Any, status: int = 200) -> Response:
    return JSONResponse(in_language(result, current_language()), status_code=status)


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class SiteRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: Annotated[str, Field(min_length=1, max_length=63, description="The site's layer.")]
    feature_id: int = Field(ge=1, le=2**63 - 1, description="The site's id in its layer.")


class Entry(SiteRef):
    position: Position | None = Field(default=None, description="Where it was recorded (WGS84).")
    entry_key: Short | None = Field(
        default=None, description="The field form's key for this entry: a resend writes nothing."
    )


class VisitBody(Entry):
    visited_on: dt.date
    team: Short | None = None
    observations: Text | None = None
    workers: Count | None = None
    women: Count | None = None
    children: Count | None = None
    methods: list[vocabulary.Method] = Field(default_factory=list, max_length=2)
    armed_actors: bool | None = Field(default=None, description="Armed actors seen at the site.")
    state_actors: bool | None = Field(default=None, description="State agents seen at the site.")


class IncidentBody(Entry):
    occurred_on: dt.date
    category: Category  # type: ignore[valid-type]
    severity: vocabulary.Severity
    description: Text | None = None
    reported_by: Short | None = None


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: dt.date
    qualification: vocabulary.Qualification | None = None
    operating: vocabulary.OperatingStatus | None = None
    scheme: Short | None = Field(default=None, description="Certification or assurance scheme.")
    comment: Text | None = None


class VerdictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["verified", "rejected"]
    comment: Text | None = None


class RiskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    severity: int = Field(ge=1, le=5)
    likelihood: int = Field(ge=1, le=5)


class ActionBody(SiteRef):
    incident_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    stakeholder: Stakeholder  # type: ignore[valid-type]
    description: Text
    recommended_on: dt.date
    due_on: dt.date | None = None


class ProgressBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["in_progress", "done"]
    effective_on: dt.date
    comment: Text | None = None


@router.get("/vocabulary", summary="Categories, domains, Annex II risks, stakeholders, statuses")
def vocabulary_list() -> Response:
    lang = current_language()

    def label(fr: str, en: str) -> str:
        return fr if lang == "fr" else en

    return _said({
        "domains": [{"code": d.code, "label": label(d.fr, d.en)} for d in vocabulary.DOMAINS],
        "categories": [
            {"code": c.code, "domain": c.domain, "label": label(c.fr, c.en), "annex_ii": c.annex_ii}
            for c in vocabulary.CATEGORIES
        ],
        "annex_ii": [{"code": k, "label": label(*v)} for k, v in vocabulary.ANNEX_II.items()],
        "stakeholders": [{"code": k, "label": label(*v)} for k, v in vocabulary.STAKEHOLDERS.items()],
        "qualifications": list(vocabulary.QUALIFICATIONS),
        "operating_statuses": ["active", "inactive", "suspended", "closed_by_authority", "reopened"],
        "severities": ["low", "medium", "high", "critical"],
        "methods": ["mercury", "gravity"],
    })  # fmt: skip


def _fields(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude={"layer", "feature_id", "entry_key"})


@router.post("/visits", status_code=201, summary="Record a visit (monitor: editor key)")
def add_visit(
    body: VisitBody, session: DbSession, who: Editor, key: IdempotencyKey = None
) -> Response:
    layer = store.get_layer(session, body.layer, who)
    made, new = register.record_visit(
        session, layer, body.feature_id, who, _fields(body), entry_key=body.entry_key or key
    )
    return _said(made, 201 if new else 200)


@router.get("/visits", summary="A layer's visits, by site and period")
def list_visits(
    layer: LayerParam, session: DbSession, who: Reader, feature_id: FeatureParam = None,
    start: From = None, end: To = None,
) -> Any:  # fmt: skip
    found = store.get_layer(session, layer, who)
    return {"visits": register.visits(session, found, feature_id, start, end)}


@router.post("/visits/{visit_id}/photos", status_code=201, summary="Add a photo to a visit")
async def add_photo(visit_id: RecordId, request: Request, session: DbSession, who: Editor) -> Any:
    store.get_layer(session, register.visit_layer(session, visit_id), who)
    settings = request.app.state.settings
    folder = Path(tempfile.mkdtemp(prefix="photo-"))
    try:
        upload = await receive(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            folder,
            settings.monitoring.photo_max_bytes + 64 * 1024,  # the form around the photo
        )
        made = register.add_photo(
            session,
            visit_id,
            who,
            upload.path.read_bytes(),
            home=settings.db.home_path,
            limit=settings.monitoring.photo_max_bytes,
            thumbnail_px=settings.monitoring.thumbnail_px,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    made["url"] = f"/monitoring/photos/{made['id']}"
    made["thumbnail_url"] = f"/monitoring/photos/{made['id']}/thumbnail"
    return JSONResponse(made, status_code=201)


def _photo(session: DbSession, photo_id: int, who: Principal) -> dict[str, Any]:
    row = register.photo(session, photo_id)
    store.get_layer(session, row["layer"], who)
    return row


@router.get("/photos/{photo_id}", summary="A visit's photo as it was sent")
def get_photo(photo_id: RecordId, session: DbSession, who: Reader) -> Response:
    row = _photo(session, photo_id, who)
    return Response(register.photo_bytes(row), media_type=row["content_type"],
                    headers={"Cache-Control": "private, max-age=86400"})  # fmt: skip


@router.get("/photos/{photo_id}/thumbnail", summary="A visit photo's thumbnail (JPEG)")
def get_thumbnail(photo_id: RecordId, session: DbSession, who: Reader) -> Response:
    row = _photo(session, photo_id, who)
    return Response(bytes(row["thumbnail"]), media_type="image/jpeg",
                    headers={"Cache-Control": "private, max-age=86400"})  # fmt: skip


_SITE = "/sites/{slug}/{feature_id}/status"


@router.post(_SITE, status_code=201, summary="Record a site's qualification or operating status")
def add_status(
    slug: str, feature_id: FeatureId, body: StatusBody, session: DbSession, who: Editor
) -> Response:
    layer = store.get_layer(session, slug, who)
    return _said(register.record_status(session, layer, feature_id, who, **body.model_dump()), 201)


@router.get(_SITE, summary="A site's status on a day (as_of) and its history")
def get_status(
    slug: str, feature_id: FeatureId, session: DbSession, who: Reader, as_of: Day = None
) -> Response:
    layer = store.get_layer(session, slug, who)
    return _said(register.site_status(session, layer, feature_id, as_of))


@router.get("/sites", summary="A layer's sites with their qualification on a day (GeoJSON)")
def list_sites(layer: LayerParam, session: DbSession, who: Reader, as_of: Day = None) -> Any:
    return register.sites(session, store.get_layer(session, layer, who), as_of)


@router.post("/incidents", status_code=201, summary="Record an incident (monitor: editor key)")
def add_incident(
    body: IncidentBody, session: DbSession, who: Editor, key: IdempotencyKey = None
) -> Response:
    layer = store.get_layer(session, body.layer, who)
    made, new = register.record_incident(
        session, layer, body.feature_id, who, _fields(body), entry_key=body.entry_key or key
    )
    return _said(made, 201 if new else 200)


def _geojson(incidents: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": i["id"],
             "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]},
             "properties": {k: v for k, v in i.items() if k not in ("lon", "lat")}}
            for i in incidents
        ],
    }  # fmt: skip


@router.get("/incidents", summary="A layer's incidents (verified or not), as JSON or GeoJSON")
def list_incidents(
    layer: LayerParam, session: DbSession, who: Reader, feature_id: FeatureParam = None,
    start: From = None, end: To = None,
    category: Annotated[list[Category] | None, Query(description="Only these.")] = None,  # type: ignore[valid-type]
    domain: Annotated[list[DomainCode] | None, Query(description="Only these.")] = None,  # type: ignore[valid-type]
    verification: Annotated[
        Literal["unverified", "verified", "rejected"] | None, Query(description="Only these.")
    ] = None,
    annex_ii: Annotated[bool, Query(description="Only OECD Annex II risks.")] = False,
    f: Annotated[Literal["json", "geojson"], Query(description="Answer format.")] = "json",
) -> Any:  # fmt: skip
    found = store.get_layer(session, layer, who)
    categories = list(category) if category else None
    if domain:
        inside = [c.code for c in vocabulary.CATEGORIES if c.domain in domain]
        categories = [c for c in categories if c in inside] if categories else inside
    rows = register.incidents(
        session, found, feature_id=feature_id, start=start, end=end, categories=categories,
        verification=verification, annex_ii=annex_ii,
    )  # fmt: skip
    return _geojson(rows) if f == "geojson" else {"incidents": rows}


def _incident_layer(session: DbSession, incident_id: int, who: Principal) -> None:
    store.get_layer(session, register.incident_layer(session, incident_id), who)


@router.get("/incidents/{incident_id}", summary="One incident")
def get_incident(incident_id: RecordId, session: DbSession, who: Reader) -> Any:
    _incident_layer(session, incident_id, who)
    return register.incident(session, incident_id)


@router.post("/incidents/{incident_id}/verification", summary="Verify or reject (reviewer)")
def verify_incident(
    incident_id: RecordId, body: VerdictBody, session: DbSession, who: Reviewer
) -> Any:
    _incident_layer(session, incident_id, who)
    return register.verify(session, incident_id, who, body.verdict, body.comment)


@router.put("/incidents/{incident_id}/risk", summary="Rate the incident's risk (editor)")
def rate_risk(incident_id: RecordId, body: RiskBody, session: DbSession, who: Editor) -> Any:
    _incident_layer(session, incident_id, who)
    return register.rate_risk(session, incident_id, who, body.severity, body.likelihood)


@router.post("/actions", status_code=201, summary="Recommend a corrective action (editor)")
def add_action(body: ActionBody, session: DbSession, who: Editor) -> Response:
    layer = store.get_layer(session, body.layer, who)
    made = register.record_action(
        session, layer, body.feature_id, who, stakeholder=body.stakeholder,
        description=body.description, recommended_on=body.recommended_on, due_on=body.due_on,
        incident_id=body.incident_id,
    )  # fmt: skip
    return _said(made, 201)


@router.post("/actions/{action_id}/progress", summary="Move an action forward (editor)")
def add_progress(action_id: RecordId, body: ProgressBody, session: DbSession, who: Editor) -> Any:
    store.get_layer(session, register.action_layer(session, action_id), who)
    return register.record_progress(session, action_id, who, **body.model_dump())


@router.get("/actions", summary="A layer's corrective actions with their status on a day")
def list_actions(
    layer: LayerParam, session: DbSession, who: Reader, feature_id: FeatureParam = None,
    as_of: Day = None,
) -> Any:  # fmt: skip
    found = store.get_layer(session, layer, who)
    return {"actions": register.actions(session, found, feature_id=feature_id, as_of=as_of)}


@router.get("/figures", summary="Counts by domain, category, site or programme year")
def get_figures(
    layer: LayerParam, session: DbSession, who: Reader,
    subject: Annotated[Literal["incidents", "actions", "visits"], Query()] = "incidents",
    by: Annotated[figures.By, Query(description="What a row counts.")] = "none",
    start: From = None, end: To = None, as_of: Day = None,
    annex_ii_only: Annotated[bool, Query(description="Only OECD Annex II risks.")] = False,
) -> Any:  # fmt: skip
    found = store.get_layer(session, layer, who)
    return figures.figures(session, found, subject, by=by, start=start, end=end, as_of=as_of,
                           annex_ii_only=annex_ii_only)  # fmt: skip


@router.get("/export/{table}.csv", summary="A monitoring table as CSV")
def export_table(
    table: Annotated[str, PathParam(max_length=40)], layer: LayerParam, session: DbSession,
    who: Reader,
) -> Response:  # fmt: skip
    found = store.get_layer(session, layer, who)
    header, rows = figures.table_rows(session, found, table)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.slug}-{table}.csv"'},
    )  # fmt: skip
