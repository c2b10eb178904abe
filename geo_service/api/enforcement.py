"""Permits, enforcement, tailings exposure and abandoned-mine priority over HTTP: thin routes
over store/enforcement.py (records, rules in domain/enforcement.py) and analysis/permits.py,
analysis/exposure.py, analysis/abandoned.py. Writes need the editor role."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from geo_service.analysis import abandoned, exposure, permits
from geo_service.api.deps import Caller, DbSession, Editor
from geo_service.api.features import FeatureId
from geo_service.api.responses import JSONResponse
from geo_service.domain import priority
from geo_service.domain.enforcement import ClosureStep, Medium, PermitEvent, SanctionType, Severity
from geo_service.domain.kinds import HolderType
from geo_service.problems import current_language, in_language
from geo_service.store import enforcement
from geo_service.store import layers as store

router = APIRouter(tags=["enforcement"])

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]
SanctionId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="The sanction's id.")]
LayerParam = Annotated[str, Query(min_length=1, max_length=63, description="The layer's slug.")]
WithinParam = Annotated[
    float, Query(gt=0, le=exposure.MAX_WITHIN_M, description="Distance in geodesic metres.")
]
OneParam = Annotated[
    int | None, Query(alias="id", ge=1, le=2**63 - 1, description="Only this feature.")
]


def _said(result: Any, status: int = 200) -> Response:
    return JSONResponse(in_language(result, current_language()), status_code=status)


class PermitEventBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: PermitEvent
    date: dt.date = Field(description="When the event took effect.")
    comment: Text | None = None
    new_holder: Short | None = Field(default=None, description="For a transfer: who holds it.")
    new_holder_type: HolderType | None = None
    new_expires: dt.date | None = Field(default=None, description="For a renewal: new expiry.")


class FindingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text
    severity: Severity


class SampleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    medium: Medium
    parameter: Short = Field(description="What was measured, e.g. mercury, pH, cyanide.")
    value: float = Field(allow_inf_nan=False)
    unit: Annotated[str, Field(min_length=1, max_length=50)]
    limit: float | None = Field(default=None, allow_inf_nan=False, description="Legal limit.")


class InspectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date
    team: list[Short] = Field(min_length=1, max_length=50, description="Who inspected.")
    notes: Text | None = None
    findings: list[FindingBody] = Field(default_factory=list, max_length=200)
    samples: list[SampleBody] = Field(default_factory=list, max_length=500)


class SanctionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    finding_id: int = Field(ge=1, description="The finding the sanction answers.")
    kind: SanctionType
    date: dt.date
    amount: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="A fine's.")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = Field(
        default=None, description="ISO 4217 code of a fine (XOF, CDF, USD...)."
    )
    comment: Text | None = None


class StepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: ClosureStep
    date: dt.date
    comment: Text | None = None


class CensusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date
    workers: int = Field(ge=0)
    residents: int = Field(ge=0)
    comment: Text | None = None


@router.get("/analysis/permit-flags", summary="ASM permits with their flags and reasons")
def permit_flags(
    layer: LayerParam,
    session: DbSession,
    who: Caller,
    as_of: Annotated[
        dt.date | None, Query(description="Expiry checked on (default today).")
    ] = None,
    zone_layer: Annotated[str | None, Query(max_length=63, description="Zone layer.")] = None,
    zone: Annotated[int | None, Query(ge=1, description="Only permits meeting this zone.")] = None,
    flagged_only: Annotated[bool, Query(description="Only flagged permits.")] = False,
) -> Response:
    return _said(
        permits.permit_flags(session, layer, who, as_of=as_of, zone_layer=zone_layer, zone=zone,
                             flagged_only=flagged_only)
    )  # fmt: skip


@router.get("/analysis/tailings-exposure", summary="What lies near each tailings facility")
def tailings_exposure(
    layer: LayerParam, within_m: WithinParam, session: DbSession, who: Caller, one: OneParam = None
) -> Response:
    return _said(exposure.exposure(session, layer, who, within_m=within_m, feature=one))


@router.get("/analysis/abandoned-mine-priority", summary="Abandoned mines ranked by priority")
def abandoned_mine_priority(
    layer: LayerParam,
    session: DbSession,
    who: Caller,
    within_m: WithinParam = priority.DEFAULT_WITHIN_M,
    one: OneParam = None,
) -> Response:
    return _said(abandoned.abandoned_priority(session, layer, who, within_m=within_m, feature=one))


_FEATURE = "/layers/{slug}/features/{feature_id}"


@router.get(f"{_FEATURE}/permit-events", summary="A permit's renewals, transfers, cancellations")
def list_permit_events(slug: str, feature_id: FeatureId, session: DbSession, who: Caller) -> Any:
    layer = store.get_layer(session, slug, who)
    return {"events": enforcement.permit_events(session, layer, feature_id)}


@router.post(f"{_FEATURE}/permit-events", status_code=201, summary="Renew, transfer or cancel")
def add_permit_event(
    slug: str, feature_id: FeatureId, body: PermitEventBody, session: DbSession, who: Editor
) -> Response:
    layer = store.get_layer(session, slug, who)
    event = enforcement.record_permit_event(
        session, layer, feature_id, body.event, who=who, event_date=body.date,
        comment=body.comment, new_holder=body.new_holder, new_holder_type=body.new_holder_type,
        new_expires=body.new_expires,
    )  # fmt: skip
    return _said(event, 201)


@router.get(f"{_FEATURE}/inspections", summary="A site's or permit's inspections")
def list_inspections(slug: str, feature_id: FeatureId, session: DbSession, who: Caller) -> Any:
    layer = store.get_layer(session, slug, who)
    return {"inspections": enforcement.inspections(session, layer, feature_id)}


@router.post(f"{_FEATURE}/inspections", status_code=201, summary="Record an inspection (editor)")
def add_inspection(
    slug: str, feature_id: FeatureId, body: InspectionBody, session: DbSession, who: Editor
) -> Response:
    layer = store.get_layer(session, slug, who)
    made = enforcement.record_inspection(
        session, layer, feature_id, who=who, inspected_on=body.date, team=body.team,
        notes=body.notes, findings=[f.model_dump() for f in body.findings],
        samples=[s.model_dump() for s in body.samples],
    )  # fmt: skip
    return _said(made, 201)


@router.get(f"{_FEATURE}/sanctions", summary="The sanctions on a feature's findings")
def list_sanctions(slug: str, feature_id: FeatureId, session: DbSession, who: Caller) -> Any:
    layer = store.get_layer(session, slug, who)
    return {"sanctions": enforcement.sanctions(session, layer, feature_id)}


@router.post(f"{_FEATURE}/sanctions", status_code=201, summary="Sanction a finding (editor)")
def add_sanction(
    slug: str, feature_id: FeatureId, body: SanctionBody, session: DbSession, who: Editor
) -> Response:
    layer = store.get_layer(session, slug, who)
    made = enforcement.record_sanction(
        session, layer, feature_id, who=who, finding_id=body.finding_id, kind=body.kind,
        decided_on=body.date, amount=body.amount, currency=body.currency, comment=body.comment,
    )  # fmt: skip
    return _said(made, 201)


@router.get(f"{_FEATURE}/sanctions/{{sanction_id}}", summary="A sanction with its closure steps")
def read_sanction(
    slug: str, feature_id: FeatureId, sanction_id: SanctionId, session: DbSession, who: Caller
) -> Any:
    layer = store.get_layer(session, slug, who)
    return enforcement.sanction(session, layer, feature_id, sanction_id)


@router.post(
    f"{_FEATURE}/sanctions/{{sanction_id}}/closure-steps",
    status_code=201,
    summary="Record the next step of a forced closure, in order (editor)",
)
def add_closure_step(
    slug: str,
    feature_id: FeatureId,
    sanction_id: SanctionId,
    body: StepBody,
    session: DbSession,
    who: Editor,
) -> Response:
    layer = store.get_layer(session, slug, who)
    made = enforcement.record_closure_step(
        session, layer, feature_id, sanction_id, who=who, step=body.step, done_on=body.date,
        comment=body.comment,
    )  # fmt: skip
    return _said(made, 201)


@router.post(
    f"{_FEATURE}/sanctions/{{sanction_id}}/censuses",
    status_code=201,
    summary="Record a census of a closed site's workers and residents (editor)",
)
def add_census(
    slug: str,
    feature_id: FeatureId,
    sanction_id: SanctionId,
    body: CensusBody,
    session: DbSession,
    who: Editor,
) -> Response:
    layer = store.get_layer(session, slug, who)
    made = enforcement.record_census(
        session, layer, feature_id, sanction_id, who=who, census_date=body.date,
        workers=body.workers, residents=body.residents, comment=body.comment,
    )  # fmt: skip
    return _said(made, 201)
