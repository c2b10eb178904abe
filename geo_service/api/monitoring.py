"""The monitoring register over HTTP (issue 18): thin routes over store/monitoring.py. Writes
need the editor role, verification a reviewer (admin or group reviewer), reads a viewer key."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from geo_service.api.deps import DbSession, Editor, requires
from geo_service.api.responses import JSONResponse
from geo_service.domain import monitoring as vocab
from geo_service.domain.access import Principal, Role
from geo_service.problems import current_language, in_language, msg
from geo_service.store import monitoring as register

router = APIRouter(prefix="/monitoring", tags=["monitoring"])

Viewer = Annotated[Principal, Depends(requires(Role.viewer, msg("access.this")))]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]
Key = Annotated[str, Field(min_length=1, max_length=200)]
Id = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
Slug = Annotated[str, Field(min_length=1, max_length=63)]
FeatureRef = Annotated[int, Field(ge=1, le=2**63 - 1)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
if TYPE_CHECKING:  # the codes of domain/monitoring.py, as Literals pydantic checks
    Category = str
    Stakeholder = str
else:
    Category = Literal[tuple(c.code for c in vocab.CATEGORIES)]
    Stakeholder = Literal[tuple(vocab.STAKEHOLDERS)]


def _said(result: Any, status: int = 200) -> Response:
    return JSONResponse(in_language(result, current_language()), status_code=status)


def _label(fr: str, en: str) -> str:
    return fr if current_language() == "fr" else en


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class VisitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: Slug
    feature_id: FeatureRef
    visited_on: dt.date
    team: Short | None = None
    observations: Text | None = None
    workers: Count | None = None
    women: Count | None = None
    children: Count | None = None
    methods: list[vocab.Method] = Field(default_factory=list, max_length=2)
    armed_actors: bool | None = None
    state_actors: bool | None = None
    position: Position | None = None
    entry_key: Key | None = None


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: dt.date
    qualification: vocab.Qualification | None = None
    operating: vocab.OperatingStatus | None = None
    scheme: Short | None = None
    comment: Text | None = None


class IncidentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: Slug
    feature_id: FeatureRef
    occurred_on: dt.date
    category: Category
    severity: vocab.Severity
    description: Text | None = None
    reported_by: Short | None = None
    position: Position | None = None
    entry_key: Key | None = None


class VerdictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["verified", "rejected"]
    comment: Text | None = None


class RiskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    severity: int = Field(ge=1, le=5)
    likelihood: int = Field(ge=1, le=5)


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: Slug
    feature_id: FeatureRef
    incident_id: FeatureRef | None = None
    stakeholder: Stakeholder
    description: Text
    recommended_on: dt.date
    due_on: dt.date | None = None


class ProgressBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["in_progress", "done"]
    effective_on: dt.date
    comment: Text | None = None


IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
LayerQ = Annotated[str, Query(min_length=1, max_length=63)]
FidQ = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
DayQ = Annotated[dt.date | None, Query()]


@router.get("/vocabulary", summary="Categories, domains, stakeholders and statuses, labelled")
def vocabulary(who: Viewer) -> Any:
    return {
        "domains": [{"code": d.code, "label": _label(d.fr, d.en)} for d in vocab.DOMAINS],
        "categories": [
            {
                "code": c.code,
                "domain": c.domain,
                "label": _label(c.fr, c.en),
                "annex_ii": c.annex_ii,
            }
            for c in vocab.CATEGORIES
        ],  # fmt: skip
        "annex_ii": [{"code": k, "label": _label(*v)} for k, v in vocab.ANNEX_II.items()],
        "stakeholders": [{"code": k, "label": _label(*v)} for k, v in vocab.STAKEHOLDERS.items()],
        "qualifications": list(vocab.QUALIFICATIONS),
        "operating_statuses": [
            "active",
            "inactive",
            "suspended",
            "closed_by_authority",
            "reopened",
        ],  # fmt: skip
        "severities": ["low", "medium", "high", "critical"],
        "methods": ["mercury", "gravity"],
    }


@router.post("/visits", status_code=201, summary="Record a site visit (editor; idempotent)")
def add_visit(body: VisitBody, session: DbSession, who: Editor, idem: IdemKey = None) -> Response:
    layer = register.site(session, body.layer, body.feature_id, who)
    fields = body.model_dump(exclude={"layer", "feature_id"})
    fields["entry_key"] = body.entry_key or idem
    visit, created = register.record_visit(session, layer, body.feature_id, who, **fields)
    return _said(visit, 201 if created else 200)


@router.get("/visits", summary="Visits of a layer's sites")
def list_visits(
    layer: LayerQ, session: DbSession, who: Viewer, feature_id: FidQ = None,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
) -> Any:  # fmt: skip
    found = register.site(session, layer, feature_id, who) if feature_id else None
    the_layer = found or register.store.get_layer(session, layer, who)
    return {"visits": register.visits(session, the_layer, feature_id, start, end, who)}


@router.post("/visits/{visit_id}/photos", status_code=201, summary="Attach a photo (editor)")
def add_photo(
    visit_id: Id, request: Request, session: DbSession, who: Editor,
    photo: Annotated[UploadFile, File(description="JPEG, PNG or WebP.")],
) -> Response:  # fmt: skip
    settings = request.app.state.settings
    limit = settings.monitoring.photo_max_bytes
    data = photo.file.read(limit + 1)
    made = register.add_photo(
        session, visit_id, who, data, home=settings.db.home_path, max_bytes=limit,
        thumb_px=settings.monitoring.thumbnail_px,
    )  # fmt: skip
    made["url"] = f"/monitoring/photos/{made['id']}"
    made["thumbnail_url"] = f"/monitoring/photos/{made['id']}/thumbnail"
    return _said(made, 201)


@router.get("/photos/{photo_id}", summary="A visit photo")
def get_photo(photo_id: Id, session: DbSession, who: Viewer) -> Response:
    found = register.photo(session, photo_id, who)
    with open(found["stored_path"], "rb") as f:
        return Response(f.read(), media_type=found["content_type"])


@router.get("/photos/{photo_id}/thumbnail", summary="A visit photo's thumbnail (JPEG)")
def get_thumbnail(photo_id: Id, session: DbSession, who: Viewer) -> Response:
    return Response(bytes(register.photo(session, photo_id, who)["thumbnail"]),
                    media_type="image/jpeg")  # fmt: skip


@router.post("/sites/{layer}/{feature_id}/status", status_code=201, summary="Set a site's status")
def add_status(
    layer: str, feature_id: Id, body: StatusBody, session: DbSession, who: Editor
) -> Response:
    the_layer = register.site(session, layer, feature_id, who)
    return _said(register.record_status(session, the_layer, feature_id, who, **body.model_dump()),
                 201)  # fmt: skip


@router.get("/sites/{layer}/{feature_id}/status", summary="A site's status as of a day")
def get_status(
    layer: str, feature_id: Id, session: DbSession, who: Viewer, as_of: DayQ = None
) -> Any:
    the_layer = register.site(session, layer, feature_id, who)
    return register.status(session, the_layer, feature_id, as_of or dt.date.today())


@router.get("/sites", summary="A layer's sites with their status as of a day (GeoJSON)")
def get_sites(layer: LayerQ, session: DbSession, who: Viewer, as_of: DayQ = None) -> Response:
    the_layer = register.store.get_layer(session, layer, who)
    found = register.sites(session, the_layer, as_of or dt.date.today(), who)
    return JSONResponse(found, media_type="application/geo+json")


@router.post("/incidents", status_code=201, summary="Report an incident (editor; idempotent)")
def add_incident(
    body: IncidentBody, session: DbSession, who: Editor, idem: IdemKey = None
) -> Response:
    layer = register.site(session, body.layer, body.feature_id, who)
    fields = body.model_dump(exclude={"layer", "feature_id"})
    fields["entry_key"] = body.entry_key or idem
    made, created = register.record_incident(session, layer, body.feature_id, who, **fields)
    return _said(made, 201 if created else 200)


@router.get("/incidents", summary="Incidents, filtered; f=geojson for a map")
def list_incidents(
    layer: LayerQ, session: DbSession, who: Viewer, feature_id: FidQ = None,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    category: Annotated[Category | None, Query()] = None,
    domain: Annotated[Literal[tuple(vocab.DOMAIN)] | None, Query()] = None,  # type: ignore[valid-type]
    verification: Annotated[vocab.Verification | None, Query()] = None,
    annex_ii: Annotated[Literal[tuple(vocab.ANNEX_II)] | None, Query()] = None,  # type: ignore[valid-type]
    as_of: Annotated[dt.date | None, Query(
        description="Those that had occurred by this day, verified as they were then.")] = None,
    f: Literal["json", "geojson"] = "json",
) -> Response:  # fmt: skip
    the_layer = register.store.get_layer(session, layer, who)
    found = register.incidents(
        session, the_layer, who, feature_id=feature_id, start=start, end=end, category=category,
        domain=domain, verification=verification, annex_ii=annex_ii, as_of=as_of,
    )  # fmt: skip
    if f == "geojson":
        return JSONResponse(
            {"type": "FeatureCollection", "features": [
                {"type": "Feature", "id": i["id"], "geometry": i.pop("point"), "properties": i}
                for i in found]},
            media_type="application/geo+json",
        )  # fmt: skip
    return _said({"incidents": found})


@router.get("/incidents/{incident_id}", summary="One incident")
def get_incident(incident_id: Id, session: DbSession, who: Viewer) -> Any:
    return register.incident(session, incident_id, who)


@router.post("/incidents/{incident_id}/verification", summary="Verify or reject (reviewer)")
def verify_incident(incident_id: Id, body: VerdictBody, session: DbSession, who: Viewer) -> Any:
    return register.verify(session, incident_id, who, body.verdict, body.comment)


@router.put("/incidents/{incident_id}/risk", summary="Rate an incident's risk (editor)")
def rate_incident(incident_id: Id, body: RiskBody, session: DbSession, who: Editor) -> Any:
    return register.rate(session, incident_id, who, body.severity, body.likelihood)


@router.post("/actions", status_code=201, summary="Recommend a corrective action (editor)")
def add_action(body: ActionBody, session: DbSession, who: Editor) -> Response:
    layer = register.site(session, body.layer, body.feature_id, who)
    fields = body.model_dump(exclude={"layer", "feature_id"})
    return _said(register.record_action(session, layer, body.feature_id, who, **fields), 201)


@router.post("/actions/{action_id}/progress", status_code=201, summary="Move an action forward")
def add_progress(action_id: Id, body: ProgressBody, session: DbSession, who: Editor) -> Any:
    made = register.progress(session, action_id, who, body.status, body.effective_on, body.comment)
    return _said(made, 201)


@router.get("/actions", summary="Corrective actions with their status as of a day")
def list_actions(
    layer: LayerQ, session: DbSession, who: Viewer, feature_id: FidQ = None, as_of: DayQ = None
) -> Any:
    the_layer = register.store.get_layer(session, layer, who)
    return {"actions": register.actions(session, the_layer, feature_id, as_of or dt.date.today())}
