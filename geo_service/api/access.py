"""Keys and the audit log over HTTP: who am I, manage keys (admin), read the audit log (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from geo_service.api.deps import Admin, Caller, DbSession
from geo_service.api.responses import JSONResponse
from geo_service.db import access, audit
from geo_service.domain.access import Role

router = APIRouter(tags=["access"])

Names = Annotated[list[Annotated[str, Field(max_length=63)]], Field(max_length=200)]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=63, description="Who holds the key (unique).")
    role: Role = Field(description="viewer, editor or admin.")
    groups: Names | None = Field(default=None, description="Groups the key belongs to.")
    layers: Names | None = Field(default=None, description="Only these layers (a partner).")
    origins: Annotated[list[str], Field(max_length=50)] | None = Field(
        default=None, description="Only from these web origins, e.g. https://partner.org."
    )
    tiles_only: bool = Field(default=False, description="Only tiles, TileJSON, the embed page.")


@router.get("/auth/me", summary="The caller: key name and role, or anonymous")
def whoami(who: Caller) -> dict[str, Any]:
    return {
        "authenticated": who.authenticated,
        "name": who.name,
        "role": str(who.role) if who.role else None,
        "groups": list(who.groups),
        "layers": sorted(who.layers) if who.layers is not None else None,
        "tiles_only": who.tiles_only,
        "can": {
            "read": True,
            "edit": who.allows(Role.editor),
            "manage": who.allows(Role.admin),
        },
    }


@router.get("/keys", summary="Every key, revoked ones too, without secrets (admin)")
def list_keys(session: DbSession, who: Admin) -> list[dict[str, Any]]:
    return [access.describe(key) for key in access.list_keys(session)]


@router.post(
    "/keys",
    status_code=201,
    summary="Create a key (admin); its secret is in this answer and nowhere else",
)
def create_key(body: KeyCreate, session: DbSession, who: Admin) -> JSONResponse:
    secret, key = access.create_key(
        session, body.name, body.role, groups=body.groups, layers=body.layers,
        origins=body.origins, tiles_only=body.tiles_only, created_by=who.actor,
    )  # fmt: skip
    audit.record(session, who, "key-create", after=access.describe(key))
    return JSONResponse({**access.describe(key), "key": secret}, status_code=201)


@router.delete("/keys/{name}", status_code=204, summary="Revoke a key (admin)")
def revoke_key(name: str, session: DbSession, who: Admin) -> Response:
    key = access.revoke_key(session, name)
    audit.record(session, who, "key-revoke", after=access.describe(key))
    return Response(status_code=204)


@router.get("/audit", summary="The audit log, newest first (admin)")
def audit_log(
    session: DbSession,
    who: Admin,
    layer: Annotated[str | None, Query(max_length=63, description="Layer slug.")] = None,
    feature: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Feature id.")] = None,
    actor: Annotated[str | None, Query(max_length=63, description="Key name.")] = None,
    action: Annotated[
        str | None,
        Query(max_length=32, description="create, update, status, delete, restore, import..."),
    ] = None,
    since: Annotated[datetime | None, Query(description="From this time (RFC 3339).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (RFC 3339).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, Any]:
    rows = audit.entries(
        session, layer=layer, feature_id=feature, actor=actor, action=action, since=since,
        until=until, limit=limit, offset=offset,
    )  # fmt: skip
    return {"entries": rows}
