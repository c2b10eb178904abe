"""The lifecycle of ASM zones over HTTP: moves with their records, consents, draft zones made
from available land (store/zoning.py, store/layers.py).

A move (`POST .../transitions`) is the same change as a PATCH of the zone's status (both go
through store/layers.update_feature, so history, validation and screening are the same); it
answers with the transition recorded: who, when, the comment, the decree, the border flag and
the screening verdict (the report itself at `GET .../transitions/{id}`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from geo_service.api.deps import Caller, DbSession, Editor
from geo_service.api.features import MAX_REASON, FeatureId, _feature_response
from geo_service.api.responses import JSONResponse
from geo_service.domain.kinds import Kind, ZoneStatus
from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.store import layers as store
from geo_service.store import zoning

router = APIRouter(tags=["zoning"])

Text = Annotated[str, Field(min_length=1, max_length=2000)]
TransitionId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="The transition's id.")]


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=MAX_REASON)]


class MoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: ZoneStatus = Field(description="The status the zone moves to.")
    comment: Text = Field(description="Why (kept with the transition and in the audit log).")
    decree_ref: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="The decree's legal reference; gazetting needs one."
    )
    override: Override | None = Field(
        default=None, description="Why the zone is gazetted despite a failing screening rule."
    )


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title_id: int = Field(ge=1, description="Id of the title (a concession feature).")
    holder: Text = Field(description="The title holder who consents.")
    date: dt.date = Field(description="The date of the consent.")
    document_ref: Text = Field(description="The reference of the signed document.")


class DraftZoneBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: str = Field(description="Slug of the ASM zone layer the draft goes into.")
    geometry: dict[str, Any] = Field(description="The piece: a GeoJSON (Multi)Polygon.")
    name: Annotated[str, Field(max_length=500)] | None = None
    code: Annotated[str, Field(max_length=100)] | None = None
    minerals: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    manager: Annotated[str, Field(max_length=500)] | None = None
    capacity: int | None = Field(default=None, ge=0, description="How many miners it can take.")
    comment: Annotated[str, Field(max_length=2000)] | None = None


def _zone_layer(session: DbSession, slug: str, who: Any) -> Any:
    layer = store.get_layer(session, slug, who)
    if layer.kind != Kind.asm_zone:
        raise InvalidInput(
            msg("land.not_zone_layer", layer=layer.slug, kind=layer.kind),
            where={"layer": layer.slug},
        )
    return layer


@router.post(
    "/analysis/available-land/zone",
    status_code=201,
    summary="Make a piece of available land a draft ASM zone (editor)",
)
def draft_zone(request: Request, body: DraftZoneBody, session: DbSession, who: Editor) -> Response:
    layer = _zone_layer(session, body.layer, who)
    properties = body.model_dump(exclude={"layer", "geometry", "comment"}, exclude_none=True)
    created = store.create_feature(
        session, layer, body.geometry, {**properties, "status": "draft"}, who=who,
        comment=body.comment or "draft from available land",
    )  # fmt: skip
    return _feature_response(request, session, layer, created.id, who, status=201)


@router.get(
    "/layers/{slug}/features/{feature_id}/transitions",
    summary="A zone's lifecycle: every move with who, when, why, decree and border flag",
)
def list_transitions(
    slug: str, feature_id: FeatureId, session: DbSession, who: Caller
) -> dict[str, Any]:
    layer = store.get_layer(session, slug, who)
    return {
        "transitions": zoning.transitions(session, layer, feature_id),
        "consents": zoning.consents(session, layer, feature_id),
    }


@router.get(
    "/layers/{slug}/features/{feature_id}/transitions/{transition_id}",
    summary="One move of a zone with its screening report as it was stored",
)
def read_transition(
    slug: str, feature_id: FeatureId, transition_id: TransitionId, session: DbSession, who: Caller
) -> dict[str, Any]:
    layer = store.get_layer(session, slug, who)
    return zoning.transition(session, layer, feature_id, transition_id)


@router.post(
    "/layers/{slug}/features/{feature_id}/transitions",
    status_code=201,
    summary="Move a zone to its next status (editor): the transition recorded",
)
def move_zone(
    slug: str, feature_id: FeatureId, body: MoveBody, session: DbSession, who: Editor
) -> Response:
    layer = store.get_layer(session, slug, who)
    zoning.zone_layer(layer, feature_id)
    properties: dict[str, Any] = {"status": body.to}
    if body.decree_ref is not None:
        properties["decree_ref"] = body.decree_ref
    store.update_feature(
        session, layer, feature_id, properties=properties, who=who, comment=body.comment,
        override=body.override.reason.strip() if body.override else None,
    )  # fmt: skip
    moves = zoning.transitions(session, layer, feature_id)
    return JSONResponse(moves[-1], status_code=201)


@router.get(
    "/layers/{slug}/features/{feature_id}/consents",
    summary="The title holders' consents recorded for a zone",
)
def list_consents(
    slug: str, feature_id: FeatureId, session: DbSession, who: Caller
) -> dict[str, Any]:
    layer = store.get_layer(session, slug, who)
    return {"consents": zoning.consents(session, layer, feature_id)}


@router.post(
    "/layers/{slug}/features/{feature_id}/consents",
    status_code=201,
    summary="Record a title holder's consent to a zone over its title (editor)",
)
def add_consent(
    slug: str, feature_id: FeatureId, body: ConsentBody, session: DbSession, who: Editor
) -> Response:
    layer = store.get_layer(session, slug, who)
    consent = zoning.record_consent(
        session, layer, feature_id, title_id=body.title_id, holder=body.holder,
        consent_date=body.date, document_ref=body.document_ref, who=who,
    )  # fmt: skip
    return JSONResponse(consent, status_code=201)
