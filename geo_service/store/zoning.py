"""The lifecycle records of ASM zones: transitions, title holders' consents, the border flag.

store/layers.py moves a zone through its lifecycle (domain/kinds.py ZONE_TRANSITIONS) and calls
this module at each move: the zone is screened (analysis/screen.py) and the report kept with the
transition as it was produced, with who, when, the comment and, when gazetted, the decree.

Gazetting asks more than passing the rules:
- the legal reference of the decree (`decree_ref` in the zone's properties);
- for every live title (a concession not expired, revoked or relinquished) the zone overlaps
  by more than a sliver, its holder's recorded consent (`record_consent`);
and a zone within `zoning.border_distance_m` (settings) of an international border is flagged,
not refused. Borders are the edges countries share (the boundary of one country where it lies
on another, in reference layers of theme admin_boundary), so a coast is no border.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo_service.analysis.common import DEFAULT_LABELS
from geo_service.db.access import visible
from geo_service.db.models import Feature, Layer, ZoneConsent, ZoneTransition
from geo_service.domain.access import Principal, Role
from geo_service.domain.geometry import to_geojson
from geo_service.domain.kinds import Kind
from geo_service.errors import Conflict, InvalidInput, UnknownFeature
from geo_service.problems import joined, msg
from geo_service.settings import get_settings

# Titles that no longer bind the land: a zone over them needs no consent.
DEAD_TITLES = ("expired", "revoked", "relinquished")
_SLIVER_M2 = 1.0  # overlaps smaller than this are shared edges and rounding
_NAME = (
    "COALESCE(NULLIF({a}.name, ''), "
    + ", ".join(f"NULLIF({{a}}.properties ->> '{k}', '')" for k in DEFAULT_LABELS)
    + ", {a}.id::text)"
)

_TITLES = """
SELECT f.id, {name} AS name, f.properties ->> 'holder' AS holder, l.slug
  FROM features f JOIN layers l ON l.id = f.layer_id
 CROSS JOIN (SELECT ST_GeomFromWKB(:zone, 4326) AS g) z
 WHERE l.kind = 'concession' AND {visible}
   AND f.geom && z.g AND ST_Intersects(f.geom, z.g)
   AND coalesce(f.properties ->> 'status', '') NOT IN ('expired', 'revoked', 'relinquished')
   AND f.id IS DISTINCT FROM CAST(:zone_id AS bigint)
   AND ST_Area(ST_CollectionExtract(ST_Intersection(f.geom, z.g), 3)::geography) > :sliver
 ORDER BY f.id
"""
_BORDERS = """
WITH z AS (SELECT ST_GeomFromWKB(:zone, 4326) AS g),
c AS (
  SELECT f.id, f.layer_id, {name} AS name, f.geom
    FROM features f JOIN layers l ON l.id = f.layer_id, z
   WHERE l.kind = 'reference' AND l.theme = 'admin_boundary' AND {visible}
     AND ST_Dimension(f.geom) = 2
     AND f.geom && geo_expand_m(z.g, :m)
     AND ST_DWithin(f.geom::geography, z.g::geography, :m)
), shared AS (
  SELECT a.name AS a, b.name AS b,
         ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom), b.geom), 2) AS line
    FROM c a JOIN c b ON a.layer_id = b.layer_id AND a.id < b.id AND ST_Intersects(a.geom, b.geom)
)
SELECT s.a, s.b, ST_Distance(s.line::geography, z.g::geography) AS d
  FROM shared s, z
 WHERE NOT ST_IsEmpty(s.line) AND ST_DWithin(s.line::geography, z.g::geography, :m)
 ORDER BY d, s.a, s.b
"""


def _wkb(geometry: Any) -> bytes:
    return bytes(shapely.to_wkb(geometry))


def _sql(template: str, who: Principal) -> tuple[str, dict[str, Any]]:
    readable, access = visible(who, "l")
    return template.replace("{visible}", readable).replace("{name}", _NAME.format(a="f")), access


def screening(
    session: Session, feature_id: int | None, geometry: Any, who: Principal
) -> dict[str, Any]:
    """The zone screened in `geometry` against the layers `who` may read (its own feature left
    out). Sensitive layers take part with their exact shapes: a move is never let through
    because its mover is cleared only for generalised locations (it learns that a conflict
    exists, not the attributes it may not see)."""
    from geo_service.analysis.screen import screen  # here: imports of files never screen

    return screen(
        session, to_geojson(geometry), who=who, exclude_id=feature_id, with_geometry=False,
        exact_geometries=True,
    )  # fmt: skip


def border_flag(session: Session, geometry: Any, who: Principal) -> dict[str, Any] | None:
    """{"distance_m", "within_m", "borders": [{"countries", "distance_m"}]} when the zone lies
    within the set distance of an international border, else None."""
    within = get_settings().zoning.border_distance_m
    sql, access = _sql(_BORDERS, who)
    rows = session.execute(text(sql), {**access, "zone": _wkb(geometry), "m": within}).all()
    if not rows:
        return None
    borders = [{"countries": [a, b], "distance_m": round(float(d), 1)} for a, b, d in rows]
    return {"distance_m": borders[0]["distance_m"], "within_m": within, "borders": borders}


def overlapped_titles(
    session: Session, feature_id: int | None, geometry: Any, who: Principal
) -> list[dict[str, Any]]:
    """The live titles the zone overlaps by more than a sliver: [{id, name, holder, layer}]."""
    sql, access = _sql(_TITLES, who)
    rows = session.execute(
        text(sql),
        {**access, "zone": _wkb(geometry), "zone_id": feature_id, "sliver": _SLIVER_M2},
    )
    return [{"id": i, "name": n, "holder": h, "layer": slug} for i, n, h, slug in rows]


def zone_named(feature_id: int | None) -> str:
    """How a refusal names the zone: by its id, or as the new one."""
    return msg("zone.new") if feature_id is None else msg("zone.numbered", id=feature_id)


def check_decree(feature_id: int | None, properties: dict[str, Any], where: dict[str, Any]) -> None:
    """Conflict when a zone is gazetted without the legal reference of its decree."""
    if not str(properties.get("decree_ref") or "").strip():
        raise Conflict(
            msg("zone.needs_decree", id=feature_id if feature_id is not None else "(new)"),
            where={**where, "field": "properties.decree_ref"},
        )


def check_consents(
    session: Session,
    layer: Layer,
    feature_id: int | None,
    geometry: Any,
    who: Principal,
    where: dict[str, Any],
) -> list[dict[str, Any]]:
    """The consents gazetting relies on; Conflict when an overlapped title's holder has not
    consented (naming the titles)."""
    titles = overlapped_titles(session, feature_id, geometry, who)
    given = {c.title_id: c for c in _consents(session, layer, feature_id)}
    missing = [t for t in titles if t["id"] not in given]
    if missing:
        raise Conflict(
            msg(
                "zone.needs_consent",
                zone=zone_named(feature_id),
                count=len(missing),
                titles=joined(f"{t['name']} ({t['holder'] or '?'})" for t in missing),
                layer=layer.slug,
                id=feature_id if feature_id is not None else "{id}",
            ),
            where={**where, "field": "consents"},
            extra={"titles": missing},
        )
    return [_consent(given[t["id"]]) for t in titles]


def record_transition(
    session: Session,
    layer: Layer,
    feature: Feature,
    before: str | None,
    who: Principal,
    *,
    comment: str | None,
    report: dict[str, Any],
    override: dict[str, Any] | None = None,
    consents: list[dict[str, Any]] | None = None,
    border: dict[str, Any] | None = None,
) -> ZoneTransition:
    """Keep the move of `feature` from `before` to its current status (its new version)."""
    props = feature.properties or {}
    after = props.get("status")
    move = ZoneTransition(
        layer_id=layer.id,
        feature_id=feature.id,
        from_status=before,
        to_status=after,
        version=feature.version,
        actor=who.actor,
        comment=comment,
        decree_ref=props.get("decree_ref") if after == "gazetted" else None,
        override=override,
        border=border,
        consents=consents,
        screening=report,
    )
    session.add(move)
    session.flush()
    if border is not None:  # the feature's history shows the flag with the version it marks
        session.execute(
            text(
                "UPDATE audit_log SET details = coalesce(details, '{}'::jsonb)"
                " || jsonb_build_object('border', CAST(:border AS jsonb))"
                " WHERE layer_id = :layer AND feature_id = :id AND version_after = :version"
            ),
            {"border": orjson.dumps(border).decode(), "layer": layer.id, "id": feature.id,
             "version": feature.version},
        )  # fmt: skip
    return move


def zone_layer(layer: Layer, feature_id: int) -> None:
    if layer.kind != Kind.asm_zone:
        raise InvalidInput(
            msg("zone.not_zone", id=feature_id, layer=layer.slug),
            where={"layer": layer.slug, "id": feature_id},
        )


def _summary(move: ZoneTransition) -> dict[str, Any]:
    return {
        "id": move.id,
        "from": move.from_status,
        "to": move.to_status,
        "version": move.version,
        "at": move.at.isoformat(),
        "by": move.actor,
        "comment": move.comment,
        "decree_ref": move.decree_ref,
        "override": move.override,
        "border": move.border,
        "consents": move.consents,
        "verdict": (move.screening or {}).get("verdict"),
    }


def transitions(session: Session, layer: Layer, feature_id: int) -> list[dict[str, Any]]:
    """Every recorded move of the zone, oldest first (without the screening reports)."""
    zone_layer(layer, feature_id)
    moves = session.scalars(
        select(ZoneTransition)
        .where(ZoneTransition.layer_id == layer.id, ZoneTransition.feature_id == feature_id)
        .order_by(ZoneTransition.id)
    ).all()
    return [_summary(m) for m in moves]


def transition(
    session: Session, layer: Layer, feature_id: int, transition_id: int
) -> dict[str, Any]:
    """One move of the zone with its screening report as it was stored."""
    zone_layer(layer, feature_id)
    move = session.scalar(
        select(ZoneTransition).where(
            ZoneTransition.layer_id == layer.id,
            ZoneTransition.feature_id == feature_id,
            ZoneTransition.id == transition_id,
        )
    )
    if move is None:
        raise UnknownFeature(
            msg("zone.no_transition", id=feature_id, transition=transition_id),
            where={"layer": layer.slug, "id": feature_id, "transition": transition_id},
        )
    return {**_summary(move), "screening": move.screening}


def _consents(session: Session, layer: Layer, feature_id: int | None) -> list[ZoneConsent]:
    if feature_id is None:
        return []
    return list(
        session.scalars(
            select(ZoneConsent)
            .where(ZoneConsent.layer_id == layer.id, ZoneConsent.feature_id == feature_id)
            .order_by(ZoneConsent.id)
        )
    )


def _consent(c: ZoneConsent) -> dict[str, Any]:
    return {
        "id": c.id,
        "title_id": c.title_id,
        "holder": c.holder,
        "date": c.consent_date.isoformat(),
        "document_ref": c.document_ref,
        "recorded_by": c.recorded_by,
        "recorded_at": c.recorded_at.isoformat() if c.recorded_at else None,
    }


def consents(session: Session, layer: Layer, feature_id: int) -> list[dict[str, Any]]:
    """The consents recorded for the zone, oldest first."""
    zone_layer(layer, feature_id)
    return [_consent(c) for c in _consents(session, layer, feature_id)]


def record_consent(
    session: Session,
    layer: Layer,
    feature_id: int,
    *,
    title_id: int,
    holder: str,
    consent_date: date,
    document_ref: str,
    who: Principal,
) -> dict[str, Any]:
    """Record that the holder of title `title_id` (a concession `who` may read) consents to
    the zone over it; the zone must exist."""
    who.require(Role.editor, msg("access.change_feature"))
    zone_layer(layer, feature_id)
    from geo_service.store.layers import get_feature

    get_feature(session, layer, feature_id)
    readable, access = visible(who, "l")
    is_title = session.scalar(
        text(
            f"SELECT TRUE FROM features f JOIN layers l ON l.id = f.layer_id"
            f" WHERE f.id = :id AND l.kind = 'concession' AND {readable}"
        ),
        {**access, "id": title_id},
    )
    if not is_title:
        raise InvalidInput(
            msg("consent.not_title", id=title_id), where={"field": "title_id", "id": title_id}
        )
    consent = ZoneConsent(
        layer_id=layer.id,
        feature_id=feature_id,
        title_id=title_id,
        holder=holder,
        consent_date=consent_date,
        document_ref=document_ref,
        recorded_by=who.actor,
    )
    session.add(consent)
    session.flush()
    session.refresh(consent)
    return _consent(consent)
