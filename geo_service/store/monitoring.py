"""The monitoring register (migration 0012): visits and their photos, site status history,
incidents with their verification and risk, corrective actions and their progress. The
vocabulary is domain/monitoring.py's. Repeated sends of one field form (same entry_key) make one
row: inserts go through ON CONFLICT (entry_key) DO NOTHING, then read the row that won.

Reads follow the site layer's sensitivity (store/sensitivity.py): a caller cleared below it
gets every position (of a site, a visit, an incident) generalised as the layer's own features
are, and who reported an incident (an informant, often) is kept from callers below internal."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db import audit
from geo_service.db.models import Layer
from geo_service.domain import monitoring as vocab
from geo_service.domain.access import Principal, Role
from geo_service.domain.sensitivity import Level, sees
from geo_service.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedFormat,
)
from geo_service.problems import msg
from geo_service.store import layers as store
from geo_service.store.sensitivity import Mask, mask_for

REVIEWER_GROUP = "reviewer"
_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _row(row: Any) -> dict[str, Any]:
    out = {k: _iso(v) for k, v in row._mapping.items()}
    if "position" in out:
        out["position"] = orjson.loads(out["position"]) if out["position"] else None
    return out


def _point(position: dict[str, float] | None) -> str | None:
    return None if position is None else f"SRID=4326;POINT({position['lon']} {position['lat']})"


def site(session: Session, slug: str, feature_id: int, who: Principal) -> Layer:
    """The layer, if `who` may read it and `feature_id` is one of its features."""
    layer = store.get_layer(session, slug, who)
    store.get_feature(session, layer, feature_id)
    return layer


def _not_future(field: str, day: date | None) -> None:
    if day is not None and day > date.today():
        raise InvalidInput(
            msg("monitoring.future", field=field, day=day.isoformat(), today=date.today()),
            where={field: day.isoformat()},
        )


def _keyed_insert(
    session: Session, table: str, values: dict[str, Any], select_sql: str, alias: str
) -> tuple[dict[str, Any], bool]:
    columns = ", ".join(values)
    params = ", ".join("ST_GeomFromEWKT(:position)" if c == "position" else f":{c}" for c in values)
    made = session.execute(
        text(
            f"INSERT INTO {table} ({columns}) VALUES ({params})"
            " ON CONFLICT (entry_key) DO NOTHING RETURNING id"
        ),
        values,
    ).scalar()
    created = made is not None
    where = f"{alias}.id = :id" if created else f"{alias}.entry_key = :key"
    row = session.execute(
        text(f"{select_sql} WHERE {where}"), {"id": made, "key": values.get("entry_key")}
    ).one()
    return _row(row), created


_VISIT_COLUMNS = """v.id, l.slug AS layer, v.feature_id, v.visited_on, v.team, v.observations,
    v.workers, v.women, v.children, v.methods, v.armed_actors, v.state_actors,
    ST_AsGeoJSON({position}) AS position, v.entry_key, v.recorded_by, v.recorded_at,
    ARRAY(SELECT p.id FROM monitoring_photos p WHERE p.visit_id = v.id ORDER BY p.id) AS photos"""
_VISIT = f"SELECT {_VISIT_COLUMNS.format(position='v.position')}" + (
    " FROM monitoring_visits v JOIN layers l ON l.id = v.layer_id"
)


def _photo_links(visit: dict[str, Any]) -> dict[str, Any]:
    """The visit's photos as links to each photo and its thumbnail."""
    visit["photos"] = [
        {
            "id": p,
            "url": f"/monitoring/photos/{p}",
            "thumbnail_url": f"/monitoring/photos/{p}/thumbnail",
        }
        for p in visit.get("photos") or []
    ]
    return visit


def record_visit(
    session: Session, layer: Layer, feature_id: int, who: Principal, **fields: Any
) -> tuple[dict[str, Any], bool]:
    """The visit, and whether it was written now (False: its entry_key was already there)."""
    who.require(Role.editor, msg("access.change"))
    _not_future("visited_on", fields["visited_on"])
    workers = fields.get("workers")
    for name in ("women", "children"):
        count = fields.get(name)
        if count is not None and workers is not None and count > workers:
            raise InvalidInput(
                msg("monitoring.count_over", field=name, count=count, workers=workers),
                where={name: count, "workers": workers},
            )
    values = {
        "layer_id": layer.id,
        "feature_id": feature_id,
        **{k: v for k, v in fields.items() if k != "position"},
        "methods": list(fields.get("methods") or []),
        "position": _point(fields.get("position")),
        "recorded_by": who.actor,
    }
    visit, created = _keyed_insert(session, "monitoring_visits", values, _VISIT, "v")
    if created:
        audit.record(session, who, "monitoring.visit", layer_id=layer.id, layer_slug=layer.slug,
                     after={"visit": visit["id"], "feature_id": feature_id})  # fmt: skip
    return _photo_links(visit), created


def _between(column: str, start: date | None, end: date | None) -> tuple[str, dict[str, Any]]:
    if start and end and start > end:
        raise InvalidInput(msg("monitoring.range", start=start, end=end), where={"from": start})
    return (
        f" AND (CAST(:start AS date) IS NULL OR {column} >= :start)"
        f" AND (CAST(:end AS date) IS NULL OR {column} <= :end)",
        {"start": start, "end": end},
    )


def visits(
    session: Session, layer: Layer, feature_id: int | None, start: date | None, end: date | None,
    who: Principal,
) -> list[dict[str, Any]]:  # fmt: skip
    """The visits of the layer's sites (of one site), in date order, with their photos."""
    span, params = _between("v.visited_on", start, end)
    mask = mask_for(layer, who)
    columns = _VISIT_COLUMNS.format(position=_masked(mask, "v.position"))
    rows = session.execute(
        text(
            f"SELECT {columns} FROM monitoring_visits v JOIN layers l ON l.id = v.layer_id"
            " WHERE v.layer_id = :layer AND (CAST(:fid AS bigint) IS NULL"
            " OR v.feature_id = :fid)" + span + " ORDER BY v.visited_on, v.id"
        ),
        {"layer": layer.id, "fid": feature_id, **params, **mask.params()},
    )
    return [_photo_links(_row(r)) for r in rows]


def _masked(mask: Mask, geom: str) -> str:
    """SQL of a position as the caller may see it (NULL stays NULL)."""
    if mask.grid_m is None:
        return geom
    return f"(CASE WHEN {geom} IS NULL THEN NULL ELSE {mask.geometry(geom)} END)"


def _visit_layer(session: Session, visit_id: int, who: Principal) -> Layer:
    slug = session.execute(
        text(
            "SELECT l.slug FROM monitoring_visits v JOIN layers l ON l.id = v.layer_id"
            " WHERE v.id = :id"
        ),
        {"id": visit_id},
    ).scalar()
    if slug is None:
        raise NotFound(msg("monitoring.unknown", what="visit", id=visit_id))
    return store.get_layer(session, slug, who)


def add_photo(
    session: Session,
    visit_id: int,
    who: Principal,
    data: bytes,
    *,
    home: Path,
    max_bytes: int,
    thumb_px: int,
) -> dict[str, Any]:
    """A photo of the visit, kept under `home`/monitoring/photos, checked by its bytes."""
    from PIL import Image, UnidentifiedImageError

    who.require(Role.editor, msg("access.change"))
    layer = _visit_layer(session, visit_id, who)
    if len(data) > max_bytes:
        raise PayloadTooLarge(msg("monitoring.too_big", size=len(data), limit=max_bytes))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = _IMAGE_TYPES.get(image.format or "")
            if kind is None:
                raise UnsupportedFormat(msg("monitoring.not_image"))
            image.load()
            image.thumbnail((thumb_px, thumb_px))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise UnsupportedFormat(msg("monitoring.not_image")) from error
    digest = hashlib.sha256(data).hexdigest()
    folder = home / "monitoring" / "photos" / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.{kind.split('/')[1]}"
    if not path.exists():
        path.write_bytes(data)
    photo_id = session.execute(
        text(
            "INSERT INTO monitoring_photos (visit_id, content_type, size_bytes, sha256,"
            " stored_path, thumbnail) VALUES (:v, :t, :s, :h, :p, :th) RETURNING id"
        ),
        {"v": visit_id, "t": kind, "s": len(data), "h": digest, "p": str(path),
         "th": out.getvalue()},
    ).scalar_one()  # fmt: skip
    audit.record(session, who, "monitoring.photo", layer_id=layer.id, layer_slug=layer.slug,
                 after={"visit": visit_id, "photo": photo_id, "sha256": digest})  # fmt: skip
    return {"id": photo_id, "visit_id": visit_id, "content_type": kind, "size_bytes": len(data),
            "sha256": digest}  # fmt: skip


def photo(session: Session, photo_id: int, who: Principal) -> dict[str, Any]:
    row = session.execute(
        text("SELECT visit_id, content_type, stored_path, thumbnail FROM monitoring_photos"
             " WHERE id = :id"), {"id": photo_id},
    ).one_or_none()  # fmt: skip
    if row is None:
        raise NotFound(msg("monitoring.unknown", what="photo", id=photo_id))
    _visit_layer(session, row.visit_id, who)
    return dict(row._mapping)


_FIELDS = ("qualification", "operating", "scheme")


def _as_of_sql(field: str, alias: str = "f") -> str:
    return (
        f"(SELECT s.{field} FROM site_statuses s WHERE s.layer_id = {alias}.layer_id"
        f" AND s.feature_id = {alias}.id AND s.effective_on <= :as_of AND s.{field} IS NOT NULL"
        f" ORDER BY s.effective_on DESC, s.id DESC LIMIT 1) AS {field}"
    )


def record_status(
    session: Session, layer: Layer, feature_id: int, who: Principal, **fields: Any
) -> dict[str, Any]:
    who.require(Role.editor, msg("access.change"))
    _not_future("effective_on", fields["effective_on"])
    row = session.execute(
        text(
            "INSERT INTO site_statuses (layer_id, feature_id, effective_on, qualification,"
            " operating, scheme, comment, recorded_by) VALUES (:layer, :fid, :effective_on,"
            " :qualification, :operating, :scheme, :comment, :by) RETURNING id, effective_on,"
            " qualification, operating, scheme, comment, recorded_by, recorded_at"
        ),
        {"layer": layer.id, "fid": feature_id, "by": who.actor, **fields},
    ).one()
    made = _row(row)
    audit.record(session, who, "monitoring.status", layer_id=layer.id, layer_slug=layer.slug,
                 after={"feature_id": feature_id, **made})  # fmt: skip
    return made


def status(session: Session, layer: Layer, feature_id: int, as_of: date) -> dict[str, Any]:
    fields = [_qualification_as_of(), *(_as_of_sql(x) for x in _FIELDS if x != "qualification")]
    now = session.execute(
        text(f"SELECT {', '.join(fields)} FROM features f WHERE f.id = :fid"),
        {"fid": feature_id, "as_of": as_of},
    ).one()
    history = session.execute(
        text(
            "SELECT id, effective_on, qualification, operating, scheme, comment, recorded_by,"
            " recorded_at FROM site_statuses WHERE layer_id = :layer AND feature_id = :fid"
            " AND effective_on <= :as_of ORDER BY effective_on, id"
        ),
        {"layer": layer.id, "fid": feature_id, "as_of": as_of},
    )
    return {"as_of": as_of.isoformat(), **dict(now._mapping),
            "history": [_row(r) for r in history]}  # fmt: skip


def _qualification_as_of(alias: str = "f") -> str:
    """A site's qualification as of the day: its latest status by then; a site with no status
    recorded at all keeps its own attribute (the register never changed it); one assessed only
    later was not assessed yet."""
    recorded = _as_of_sql("qualification", alias).rsplit(" AS ", 1)[0]
    return (
        f"coalesce({recorded}, CASE WHEN NOT EXISTS (SELECT 1 FROM site_statuses s"
        f" WHERE s.layer_id = {alias}.layer_id AND s.feature_id = {alias}.id"
        f" AND s.qualification IS NOT NULL) THEN {alias}.properties ->> 'qualification' END,"
        f" 'not_assessed') AS qualification"
    )


def sites(session: Session, layer: Layer, as_of: date, who: Principal) -> dict[str, Any]:
    """The layer's sites as GeoJSON with their state, incident counts and last visit as of
    the day, located as the caller may see them."""
    mask = mask_for(layer, who)
    fields = [_qualification_as_of(), *(_as_of_sql(x) for x in _FIELDS if x != "qualification")]
    rows = session.execute(
        text(
            f"SELECT f.id, {mask.name('f.name')} AS name,"
            f" ST_AsGeoJSON({mask.geometry('f.geom')}, 7) AS geometry, {', '.join(fields)},"
            f" {_VERIFIED_BY} FROM features f WHERE f.layer_id = :layer ORDER BY f.id"
        ),
        {"layer": layer.id, "as_of": as_of, **mask.params()},
    )
    features = []
    for r in rows:
        props = {k: _iso(v) for k, v in r._mapping.items() if k != "geometry"}
        features.append({"type": "Feature", "id": r.id, "geometry": orjson.loads(r.geometry),
                         "properties": props})  # fmt: skip
    return {"type": "FeatureCollection", "as_of": as_of.isoformat(), "features": features}


# Whether an incident was verified (rejected) by the day `:as_of`: a verdict given later did not
# exist yet, and the incident was still waiting for one.
_VERIFICATION_AS_OF = (
    "(CASE WHEN CAST(:as_of AS date) IS NULL OR i.verified_at IS NULL"
    " OR CAST(i.verified_at AS date) <= :as_of THEN i.verification ELSE 'unverified' END)"
)
_VERIFIED_BY = (
    "(SELECT count(*) FROM incidents i WHERE i.feature_id = f.id AND i.occurred_on <= :as_of"
    f" AND {_VERIFICATION_AS_OF} = 'verified') AS incidents_verified,"
    " (SELECT count(*) FROM incidents i WHERE i.feature_id = f.id AND i.occurred_on <= :as_of"
    f" AND {_VERIFICATION_AS_OF} = 'unverified') AS incidents_unverified,"
    " (SELECT max(v.visited_on) FROM monitoring_visits v WHERE v.layer_id = f.layer_id"
    " AND v.feature_id = f.id AND v.visited_on <= :as_of) AS last_visit"
)


_INCIDENT_COLUMNS = """i.id, l.slug AS layer, i.feature_id, i.occurred_on, i.category,
    i.severity, i.status, i.description, i.reported_by, ST_AsGeoJSON({position}) AS position,
    i.entry_key, {verification} AS verification, i.verified_by, i.verified_at,
    i.verification_comment, i.recorded_by, i.recorded_at, r.severity AS risk_severity,
    r.likelihood AS risk_likelihood, r.severity * r.likelihood AS risk_rating,
    ST_AsGeoJSON({point}) AS point"""
_INCIDENT_FROM = """ FROM incidents i JOIN layers l ON l.id = i.layer_id
    JOIN features f ON f.id = i.feature_id LEFT JOIN risks r ON r.incident_id = i.id"""
_INCIDENT = "SELECT " + _INCIDENT_COLUMNS.format(
    position="i.position", verification="i.verification",
    point="coalesce(i.position, ST_PointOnSurface(f.geom))",
) + _INCIDENT_FROM  # fmt: skip
# Who reported an incident can endanger them: only callers cleared internal see it.
_INFORMANT = ("reported_by",)


def _incident(row: dict[str, Any], who: Principal | None = None) -> dict[str, Any]:
    row["point"] = orjson.loads(row["point"]) if row.get("point") else None
    if who is not None and not sees(who, Level.internal):
        for name in _INFORMANT:
            row.pop(name, None)
    category = vocab.CATEGORY[row["category"]]
    row["domain"], row["annex_ii"] = category.domain, category.annex_ii
    return row


def record_incident(
    session: Session, layer: Layer, feature_id: int, who: Principal, **fields: Any
) -> tuple[dict[str, Any], bool]:
    who.require(Role.editor, msg("access.change"))
    _not_future("occurred_on", fields["occurred_on"])
    values = {
        "layer_id": layer.id,
        "feature_id": feature_id,
        **{k: v for k, v in fields.items() if k != "position"},
        "position": _point(fields.get("position")),
        "recorded_by": who.actor,
    }
    made, created = _keyed_insert(session, "incidents", values, _INCIDENT, "i")
    if created:
        audit.record(session, who, "monitoring.incident", layer_id=layer.id,
                     layer_slug=layer.slug, after={"incident": made["id"]})  # fmt: skip
    return _incident(made), created


def incident(session: Session, incident_id: int, who: Principal) -> dict[str, Any]:
    row = session.execute(text(_INCIDENT + " WHERE i.id = :id"), {"id": incident_id}).one_or_none()
    if row is None:
        raise NotFound(msg("monitoring.unknown", what="incident", id=incident_id))
    layer = store.get_layer(session, row.layer, who)
    mask = mask_for(layer, who)
    if mask.grid_m is not None:  # read again, located as the caller may see it
        row = session.execute(
            text(_incident_sql(mask, None) + " WHERE i.id = :id"),
            {"id": incident_id, "as_of": None, **mask.params()},
        ).one()
    return _incident(_row(row), who)


def _incident_sql(mask: Mask, as_of: date | None) -> str:
    point = mask.geometry("coalesce(i.position, ST_PointOnSurface(f.geom))")
    verification = "i.verification" if as_of is None else _VERIFICATION_AS_OF
    columns = _INCIDENT_COLUMNS.format(
        position=_masked(mask, "i.position"), verification=verification, point=point
    )
    return f"SELECT {columns}{_INCIDENT_FROM}"


def incidents(
    session: Session, layer: Layer, who: Principal, *, feature_id: int | None = None,
    start: date | None = None, end: date | None = None, category: str | None = None,
    domain: str | None = None, verification: str | None = None, annex_ii: str | None = None,
    as_of: date | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The layer's incidents, filtered. With `as_of`: those that had occurred by that day, with
    their verification as it stood then (a later verdict not yet given)."""
    span, params = _between("i.occurred_on", start, end)
    mask = mask_for(layer, who)
    codes = [c.code for c in vocab.CATEGORIES
             if (domain is None or c.domain == domain)
             and (annex_ii is None or c.annex_ii == annex_ii)
             and (category is None or c.code == category)]  # fmt: skip
    verdict = "i.verification" if as_of is None else _VERIFICATION_AS_OF
    rows = session.execute(
        text(
            _incident_sql(mask, as_of) + " WHERE i.layer_id = :layer"
            " AND (CAST(:fid AS bigint) IS NULL OR i.feature_id = :fid)"
            " AND i.category = ANY(:codes)"
            f" AND (CAST(:ver AS text) IS NULL OR {verdict} = :ver)"
            " AND (CAST(:as_of AS date) IS NULL OR i.occurred_on <= :as_of)"
            + span
            + " ORDER BY i.occurred_on, i.id"
        ),
        {"layer": layer.id, "fid": feature_id, "codes": codes, "ver": verification,
         "as_of": as_of, **params, **mask.params()},
    )  # fmt: skip
    return [_incident(_row(r), who) for r in rows]


def is_reviewer(who: Principal) -> bool:
    return who.allows(Role.admin) or (
        who.allows(Role.viewer) and REVIEWER_GROUP in (who.groups or ())
    )


def verify(
    session: Session, incident_id: int, who: Principal, verdict: str, comment: str | None
) -> dict[str, Any]:
    if not is_reviewer(who):
        raise Forbidden(msg("monitoring.reviewer"))
    current = incident(session, incident_id, who)
    if current["verification"] != "unverified":
        raise Conflict(
            msg("monitoring.already_verified", id=incident_id,
                verification=current["verification"]),
            where={"verification": current["verification"]},
        )  # fmt: skip
    done = session.execute(
        text(
            "UPDATE incidents SET verification = :v, verified_by = :by, verified_at = now(),"
            " verification_comment = :c WHERE id = :id AND verification = 'unverified'"
            " RETURNING id"
        ),
        {"v": verdict, "by": who.actor, "c": comment, "id": incident_id},
    ).scalar()
    if done is None:
        raise Conflict(msg("monitoring.already_verified", id=incident_id, verification=verdict))
    audit.record(session, who, "monitoring.verify", layer_slug=current["layer"],
                 after={"incident": incident_id, "verdict": verdict}, comment=comment)  # fmt: skip
    return incident(session, incident_id, who)


def rate(
    session: Session, incident_id: int, who: Principal, severity: int, likelihood: int
) -> dict[str, Any]:
    who.require(Role.editor, msg("access.change"))
    incident(session, incident_id, who)
    session.execute(
        text(
            "INSERT INTO risks (incident_id, severity, likelihood, rated_by) VALUES (:i, :s, :l,"
            " :by) ON CONFLICT (incident_id) DO UPDATE SET severity = EXCLUDED.severity,"
            " likelihood = EXCLUDED.likelihood, rated_by = EXCLUDED.rated_by, rated_at = now()"
        ),
        {"i": incident_id, "s": severity, "l": likelihood, "by": who.actor},
    )
    return {"incident_id": incident_id, "severity": severity, "likelihood": likelihood,
            "rating": vocab.risk_rating(severity, likelihood), "rated_by": who.actor}  # fmt: skip


_ACTION = """SELECT a.id, l.slug AS layer, a.feature_id, a.incident_id, a.stakeholder,
    a.description, a.recommended_on, a.due_on, a.status, a.recorded_by, a.recorded_at,
    CASE WHEN a.recommended_on > :as_of THEN NULL ELSE coalesce(
      (SELECT p.status FROM action_progress p WHERE p.action_id = a.id
        AND p.effective_on <= :as_of ORDER BY p.effective_on DESC, p.id DESC LIMIT 1),
      'recommended') END AS status_as_of
    FROM corrective_actions a JOIN layers l ON l.id = a.layer_id"""


def _action(row: Any, as_of: date) -> dict[str, Any]:
    out = _row(row)
    due = row.due_on
    out["as_of"] = as_of.isoformat()
    out["overdue"] = bool(
        out["status_as_of"] is not None and out["status_as_of"] != "done" and due and due < as_of
    )
    return out


def record_action(
    session: Session, layer: Layer, feature_id: int, who: Principal, **fields: Any
) -> dict[str, Any]:
    who.require(Role.editor, msg("access.change"))
    _not_future("recommended_on", fields["recommended_on"])
    if fields.get("incident_id") is not None:
        found = session.execute(
            text("SELECT feature_id FROM incidents WHERE id = :id"), {"id": fields["incident_id"]}
        ).scalar()
        if found != feature_id:
            raise InvalidInput(msg("monitoring.incident_site", id=fields["incident_id"]),
                               where={"incident_id": fields["incident_id"]})  # fmt: skip
    action_id = session.execute(
        text(
            "INSERT INTO corrective_actions (layer_id, feature_id, incident_id, stakeholder,"
            " description, recommended_on, due_on, recorded_by) VALUES (:layer, :fid,"
            " :incident_id, :stakeholder, :description, :recommended_on, :due_on, :by)"
            " RETURNING id"
        ),
        {"layer": layer.id, "fid": feature_id, "by": who.actor, **fields},
    ).scalar_one()
    audit.record(session, who, "monitoring.action", layer_id=layer.id, layer_slug=layer.slug,
                 after={"action": action_id})  # fmt: skip
    return action(session, action_id, who, date.today())


def action(session: Session, action_id: int, who: Principal, as_of: date) -> dict[str, Any]:
    row = session.execute(
        text(_ACTION + " WHERE a.id = :id"), {"id": action_id, "as_of": as_of}
    ).one_or_none()
    if row is None:
        raise NotFound(msg("monitoring.unknown", what="action", id=action_id))
    store.get_layer(session, row.layer, who)
    return _action(row, as_of)


def progress(
    session: Session, action_id: int, who: Principal, status: str, effective_on: date,
    comment: str | None,
) -> dict[str, Any]:  # fmt: skip
    who.require(Role.editor, msg("access.change"))
    _not_future("effective_on", effective_on)
    current = action(session, action_id, who, date.today())
    session.execute(text("SELECT 1 FROM corrective_actions WHERE id = :id FOR UPDATE"),
                    {"id": action_id})  # fmt: skip
    now = session.execute(
        text("SELECT status FROM corrective_actions WHERE id = :id"), {"id": action_id}
    ).scalar_one()
    if vocab.ACTION_ORDER.index(status) <= vocab.ACTION_ORDER.index(now):
        raise Conflict(msg("monitoring.backwards", current=now, status=status),
                       where={"status": status})  # fmt: skip
    last = session.execute(
        text("SELECT max(effective_on) FROM action_progress WHERE action_id = :id"),
        {"id": action_id},
    ).scalar() or date.fromisoformat(current["recommended_on"])
    if effective_on < last:
        raise Conflict(msg("monitoring.progress_before", day=effective_on, last=last),
                       where={"effective_on": effective_on.isoformat()})  # fmt: skip
    session.execute(
        text(
            "INSERT INTO action_progress (action_id, status, effective_on, comment, recorded_by)"
            " VALUES (:id, :s, :d, :c, :by)"
        ),
        {"id": action_id, "s": status, "d": effective_on, "c": comment, "by": who.actor},
    )
    session.execute(text("UPDATE corrective_actions SET status = :s WHERE id = :id"),
                    {"s": status, "id": action_id})  # fmt: skip
    audit.record(session, who, "monitoring.progress", layer_slug=current["layer"],
                 after={"action": action_id, "status": status})  # fmt: skip
    return action(session, action_id, who, date.today())


def actions(
    session: Session, layer: Layer, feature_id: int | None, as_of: date
) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            _ACTION + " WHERE a.layer_id = :layer AND (CAST(:fid AS bigint) IS NULL"
            " OR a.feature_id = :fid) AND a.recommended_on <= :as_of ORDER BY a.id"
        ),
        {"layer": layer.id, "fid": feature_id, "as_of": as_of},
    )
    return [_action(r, as_of) for r in rows]
