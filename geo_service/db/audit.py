"""The audit log: who changed what, when, from what to what.

Feature writes are logged by the trigger of migration 0004, which reads the actor from the
transaction (`act_as` sets it from the authenticated key, so no request header can claim to be
someone else). Layer, key and import operations are logged here by `record`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.access import Principal


def act_as(
    session: Session,
    who: Principal,
    *,
    comment: str | None = None,
    action: str | None = None,
    bulk: bool = False,
) -> None:
    """Name `who` (and the comment and action of the next writes) for this transaction."""
    session.execute(
        text(
            "SELECT set_config('geo_service.actor', :actor, true),"
            " set_config('geo_service.role', :role, true),"
            " set_config('geo_service.comment', :comment, true),"
            " set_config('geo_service.action', :action, true),"
            " set_config('geo_service.bulk', :bulk, true)"
        ),
        {
            "actor": who.actor,
            "role": str(who.role) if who.role else "",
            "comment": comment or "",
            "action": action or "",
            "bulk": "on" if bulk else "",
        },
    )


def record(
    session: Session,
    who: Principal,
    action: str,
    *,
    layer_id: int | None = None,
    layer_slug: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    comment: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One audit row for an operation that is not a single feature write."""
    session.execute(
        text(
            """
            INSERT INTO audit_log (actor, role, action, layer_id, layer_slug, before, after,
                                   comment, details)
            VALUES (:actor, :role, :action, :layer_id, :layer_slug, CAST(:before AS jsonb),
                    CAST(:after AS jsonb), :comment, CAST(:details AS jsonb))
            """
        ),
        {
            "actor": who.actor,
            "role": str(who.role) if who.role else None,
            "action": action,
            "layer_id": layer_id,
            "layer_slug": layer_slug,
            "before": _json(before),
            "after": _json(after),
            "comment": comment,
            "details": _json(details),
        },
    )


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


def entries(
    session: Session,
    *,
    layer: str | None = None,
    feature_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, filtered by layer slug, feature, actor, action and time."""
    rows = session.execute(
        text(
            """
            SELECT id, at, actor, role, action, layer_slug, feature_id, version_before,
                   version_after, before, after, comment, details
              FROM audit_log
             WHERE (CAST(:layer AS text) IS NULL OR layer_slug = :layer)
               AND (CAST(:feature AS bigint) IS NULL OR feature_id = :feature)
               AND (CAST(:actor AS text) IS NULL OR actor = :actor)
               AND (CAST(:action AS text) IS NULL OR action = :action)
               AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)
               AND (CAST(:until AS timestamptz) IS NULL OR at < :until)
             ORDER BY id DESC LIMIT :limit OFFSET :offset
            """
        ),
        {
            "layer": layer,
            "feature": feature_id,
            "actor": actor,
            "action": action,
            "since": since,
            "until": until,
            "limit": limit,
            "offset": offset,
        },
    ).all()
    return [
        {
            "id": r[0],
            "at": r[1].isoformat(),
            "actor": r[2],
            "role": r[3],
            "action": r[4],
            "layer": r[5],
            "feature_id": r[6],
            "version_before": r[7],
            "version_after": r[8],
            "before": r[9],
            "after": r[10],
            "comment": r[11],
            "details": r[12],
        }
        for r in rows
    ]
