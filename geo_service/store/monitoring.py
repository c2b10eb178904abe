"""The monitoring register (migration 0012): visits and their photos, site statuses over time,
incidents with their verification and risk rating, corrective actions and their progress. The
vocabulary and the arithmetic are domain/monitoring.py's; this module reads and writes.

Entries from the field carry an `entry_key`: a second send of the same entry (a retry after a
lost answer) finds the row the first one wrote and writes nothing, even when both arrive at once
(`INSERT ... ON CONFLICT DO NOTHING` on the unique key):

    >>> record_visit(session, layer, 12, editor, {"visited_on": day}, entry_key="k1")[1]
    True
    >>> record_visit(session, layer, 12, editor, {"visited_on": day}, entry_key="k1")[1]
    False
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db import audit
from geo_service.db.models import Layer
from geo_service.domain import monitoring as vocabulary
from geo_service.domain.access import Principal
from geo_service.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from geo_service.problems import msg
from geo_service.store import layers as store

REVIEWER_GROUP = "reviewer"
IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def _rows(session: Session, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Dates and times as ISO text, for JSON."""
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in row.items()}


def _site(session: Session, layer: Layer, feature_id: int) -> None:
    store.get_feature(session, layer, feature_id)


def _not_future(field: str, day: date | None) -> None:
    if day is not None and day > date.today():
        raise InvalidInput(msg("monitoring.future", field=field, day=day.isoformat()),
                           where={"body": field})  # fmt: skip


def _point(position: dict[str, float] | None) -> str | None:
    return None if position is None else f"SRID=4326;POINT({position['lon']} {position['lat']})"


def _keyed_insert(
    session: Session, table: str, layer: Layer, feature_id: int, values: dict[str, Any],
    entry_key: str | None,
) -> tuple[int, bool]:  # fmt: skip
    """Insert one row; with an entry key already stored, the id of that row and False."""
    columns = ["layer_id", "feature_id", "entry_key", *values]
    placeholders = ["ST_GeomFromEWKT(:position)" if c == "position" else f":{c}" for c in columns]
    params = {"layer_id": layer.id, "feature_id": feature_id, "entry_key": entry_key, **values}
    new = session.execute(
        text(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(placeholders)}) "
            "ON CONFLICT (entry_key) DO NOTHING RETURNING id"
        ),
        params,
    ).scalar()
    if new is not None:
        return int(new), True
    old = session.execute(
        text(f"SELECT id, layer_id, feature_id FROM {table} WHERE entry_key = :k"),
        {"k": entry_key},
    ).one()
    if (old.layer_id, old.feature_id) != (layer.id, feature_id):
        raise Conflict(
            msg("monitoring.entry_elsewhere", key=entry_key, what=table, id=old.id),
            where={"body": "entry_key"},
        )
    return int(old.id), False


# -- visits and photos -------------------------------------------------------------------------

_VISIT = """
    SELECT v.id, l.slug AS layer, v.feature_id, v.visited_on, v.team, v.observations, v.workers,
           v.women, v.children, v.methods, v.armed_actors, v.state_actors,
           ST_X(v.position) AS lon, ST_Y(v.position) AS lat, v.entry_key, v.recorded_by,
           v.recorded_at,
           COALESCE((SELECT json_agg(json_build_object('id', p.id, 'content_type', p.content_type,
                                                       'size_bytes', p.size_bytes) ORDER BY p.id)
                     FROM monitoring_photos p WHERE p.visit_id = v.id), '[]') AS photos
    FROM monitoring_visits v JOIN layers l ON l.id = v.layer_id
"""


def record_visit(
    session: Session, layer: Layer, feature_id: int, who: Principal, fields: dict[str, Any],
    *, entry_key: str | None = None,
) -> tuple[dict[str, Any], bool]:  # fmt: skip
    """Record a visit (or find the one this entry key recorded): (the visit, whether new)."""
    _site(session, layer, feature_id)
    _not_future("visited_on", fields["visited_on"])
    workers = fields.get("workers")
    for field in ("women", "children"):
        count = fields.get(field)
        if workers is not None and count is not None and count > workers:
            raise InvalidInput(
                msg("monitoring.more_than_workers", field=field, count=count, workers=workers),
                where={"body": field},
            )
    values = {k: v for k, v in fields.items() if k != "position"}
    values["methods"] = list(fields.get("methods") or [])
    values["position"] = _point(fields.get("position"))
    values["recorded_by"] = who.actor
    visit_id, new = _keyed_insert(
        session, "monitoring_visits", layer, feature_id, values, entry_key
    )
    if new:
        audit.record(session, who, "visit", layer_id=layer.id, layer_slug=layer.slug,
                     details={"feature_id": feature_id, "visit_id": visit_id})  # fmt: skip
    return visit(session, visit_id), new


def visit(session: Session, visit_id: int) -> dict[str, Any]:
    found = _rows(session, _VISIT + " WHERE v.id = :id", id=visit_id)
    if not found:
        raise NotFound(msg("monitoring.unknown", what="visit", id=visit_id))
    return _plain(found[0])


def period_sql(alias: str, column: str, start: date | None, end: date | None) -> str:
    parts = []
    if start is not None:
        parts.append(f"{alias}.{column} >= :start")
    if end is not None:
        parts.append(f"{alias}.{column} <= :end")
    return "".join(f" AND {p}" for p in parts)


def visits(
    session: Session, layer: Layer, feature_id: int | None = None,
    start: date | None = None, end: date | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    where = " WHERE v.layer_id = :layer" + (" AND v.feature_id = :fid" if feature_id else "")
    sql = (
        _VISIT + where + period_sql("v", "visited_on", start, end) + " ORDER BY v.visited_on, v.id"
    )
    rows = _rows(session, sql, layer=layer.id, fid=feature_id, start=start, end=end)
    return [_plain(r) for r in rows]


def visit_layer(session: Session, visit_id: int) -> str:
    slug = session.execute(
        text("SELECT l.slug FROM monitoring_visits v JOIN layers l ON l.id = v.layer_id "
             "WHERE v.id = :id"), {"id": visit_id},
    ).scalar()  # fmt: skip
    if slug is None:
        raise NotFound(msg("monitoring.unknown", what="visit", id=visit_id))
    return str(slug)


def _image_type(data: bytes) -> str:
    for magic, kind in IMAGE_TYPES.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidInput(msg("monitoring.not_image"), where={"body": "photo"})


def _thumbnail(data: bytes, size: int) -> bytes:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((size, size))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
    # PIL says a truncated or corrupt file with SyntaxError, a decompression bomb with its own.
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError) as error:  # fmt: skip
        raise InvalidInput(msg("monitoring.not_image"), where={"body": "photo"}) from error
    return out.getvalue()


def add_photo(
    session: Session, visit_id: int, who: Principal, data: bytes, *, home: Path,
    limit: int, thumbnail_px: int,
) -> dict[str, Any]:  # fmt: skip
    """Keep a visit's photo under `home`/photos (checked by its bytes, not its name, and at
    most `limit` bytes) with a JPEG thumbnail of `thumbnail_px` on its long side."""
    if len(data) > limit:
        raise PayloadTooLarge(msg("monitoring.photo_too_big", size=len(data), limit=limit),
                              where={"body": "photo"})  # fmt: skip
    kind = _image_type(data)
    thumbnail = _thumbnail(data, thumbnail_px)
    digest = hashlib.sha256(data).hexdigest()
    folder = home / "photos" / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.{kind.partition('/')[2]}"
    if not path.exists():
        part = path.with_suffix(".part")
        part.write_bytes(data)
        part.replace(path)
    photo_id = session.execute(
        text("INSERT INTO monitoring_photos (visit_id, content_type, size_bytes, sha256, "
             "stored_path, thumbnail) VALUES (:v, :t, :n, :h, :p, :th) RETURNING id"),
        {"v": visit_id, "t": kind, "n": len(data), "h": digest, "p": str(path), "th": thumbnail},
    ).scalar_one()  # fmt: skip
    audit.record(session, who, "visit_photo", details={"visit_id": visit_id, "photo": photo_id})
    return {"id": photo_id, "visit_id": visit_id, "content_type": kind, "size_bytes": len(data),
            "sha256": digest}  # fmt: skip


def photo(session: Session, photo_id: int) -> dict[str, Any]:
    found = _rows(
        session,
        "SELECT p.*, l.slug AS layer FROM monitoring_photos p "
        "JOIN monitoring_visits v ON v.id = p.visit_id JOIN layers l ON l.id = v.layer_id "
        "WHERE p.id = :id",
        id=photo_id,
    )
    if not found:
        raise NotFound(msg("monitoring.unknown", what="photo", id=photo_id))
    return found[0]


def photo_bytes(row: dict[str, Any]) -> bytes:
    return Path(row["stored_path"]).read_bytes()


# -- site status over time ---------------------------------------------------------------------

STATUS_FIELDS = ("qualification", "operating", "scheme")


def record_status(
    session: Session, layer: Layer, feature_id: int, who: Principal, *, effective_on: date,
    qualification: str | None = None, operating: str | None = None, scheme: str | None = None,
    comment: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    _site(session, layer, feature_id)
    _not_future("effective_on", effective_on)
    if qualification is None and operating is None and scheme is None:
        raise InvalidInput(msg("monitoring.status_empty"), where={"body": "qualification"})
    session.execute(
        text("INSERT INTO site_statuses (layer_id, feature_id, effective_on, qualification, "
             "operating, scheme, comment, recorded_by) VALUES (:l, :f, :d, :q, :o, :s, :c, :w)"),
        {"l": layer.id, "f": feature_id, "d": effective_on, "q": qualification, "o": operating,
         "s": scheme, "c": comment, "w": who.actor},
    )  # fmt: skip
    audit.record(session, who, "site_status", layer_id=layer.id, layer_slug=layer.slug,
                 details={"feature_id": feature_id, "effective_on": effective_on.isoformat()})  # fmt: skip
    return site_status(session, layer, feature_id, effective_on)


# Per field, the latest row by the day asked that gives it (ties: the later recorded).
_AS_OF = """
    SELECT s.feature_id,
           {fields}
    FROM site_statuses s
    WHERE s.layer_id = :layer AND s.effective_on <= :day {one}
    GROUP BY s.feature_id
"""
_LATEST = (
    "(array_agg(s.{f} ORDER BY s.effective_on DESC, s.id DESC) "
    "FILTER (WHERE s.{f} IS NOT NULL))[1] AS {f}"
)
STATUS_AS_OF = _AS_OF.replace(
    "{fields}", ",\n           ".join(_LATEST.format(f=f) for f in STATUS_FIELDS)
)


def site_status(
    session: Session, layer: Layer, feature_id: int, as_of: date | None = None
) -> dict[str, Any]:
    _site(session, layer, feature_id)
    day = as_of or date.today()
    now = _rows(session, STATUS_AS_OF.replace("{one}", "AND s.feature_id = :fid"),
                layer=layer.id, day=day, fid=feature_id)  # fmt: skip
    state = now[0] if now else {}
    history = _rows(
        session,
        "SELECT id, effective_on, qualification, operating, scheme, comment, recorded_by, "
        "recorded_at FROM site_statuses WHERE layer_id = :l AND feature_id = :f "
        "ORDER BY effective_on, id",
        l=layer.id,
        f=feature_id,
    )
    return {
        "layer": layer.slug,
        "feature_id": feature_id,
        "as_of": day.isoformat(),
        **{f: state.get(f) or ("not_assessed" if f == "qualification" else None)
           for f in STATUS_FIELDS},
        "history": [_plain(h) for h in history],
    }  # fmt: skip


def sites(session: Session, layer: Layer, as_of: date | None = None) -> dict[str, Any]:
    """The layer's sites as GeoJSON with their qualification, operating status and scheme on
    `as_of` (default today) and their incidents by then, verified and not."""
    day = as_of or date.today()
    rows = session.execute(
        text(
            f"""
            WITH state AS ({STATUS_AS_OF.replace("{one}", "")}),
            counted AS (
                SELECT feature_id,
                       count(*) FILTER (WHERE verification = 'verified') AS verified,
                       count(*) FILTER (WHERE verification = 'unverified') AS unverified
                FROM incidents WHERE layer_id = :layer AND occurred_on <= :day
                GROUP BY feature_id)
            SELECT f.id, f.name, ST_AsGeoJSON(ST_PointOnSurface(f.geom), 7)::json AS geometry,
                   COALESCE(s.qualification, 'not_assessed') AS qualification, s.operating,
                   s.scheme, COALESCE(c.verified, 0) AS incidents_verified,
                   COALESCE(c.unverified, 0) AS incidents_unverified
            FROM features f
            LEFT JOIN state s ON s.feature_id = f.id
            LEFT JOIN counted c ON c.feature_id = f.id
            WHERE f.layer_id = :layer
            ORDER BY f.id
            """
        ),
        {"layer": layer.id, "day": day},
    ).mappings()
    features = [
        {"type": "Feature", "id": r["id"], "geometry": r["geometry"],
         "properties": {k: v for k, v in r.items() if k != "geometry"}}
        for r in rows
    ]  # fmt: skip
    return {"type": "FeatureCollection", "as_of": day.isoformat(), "layer": layer.slug,
            "features": features}  # fmt: skip


# -- incidents, verification, risks ------------------------------------------------------------

_INCIDENT = """
    SELECT i.id, l.slug AS layer, i.feature_id, f.name AS site, i.occurred_on, i.category,
           i.severity, i.status, i.description, i.reported_by,
           ST_X(COALESCE(i.position, ST_PointOnSurface(f.geom))) AS lon,
           ST_Y(COALESCE(i.position, ST_PointOnSurface(f.geom))) AS lat,
           i.position IS NOT NULL AS located, i.entry_key, i.verification, i.verified_by,
           i.verified_at, i.verification_comment, i.recorded_by, i.recorded_at,
           r.severity AS risk_severity, r.likelihood AS risk_likelihood
    FROM incidents i JOIN layers l ON l.id = i.layer_id
    JOIN features f ON f.id = i.feature_id
    LEFT JOIN risks r ON r.incident_id = i.id
"""


def _incident_row(row: dict[str, Any]) -> dict[str, Any]:
    out = _plain(row)
    category = vocabulary.CATEGORY[row["category"]]
    out["domain"] = category.domain
    out["annex_ii"] = category.annex_ii
    severity, likelihood = out.pop("risk_severity"), out.pop("risk_likelihood")
    out["risk"] = (
        None if severity is None
        else {"severity": severity, "likelihood": likelihood,
              "rating": vocabulary.risk_rating(severity, likelihood)}
    )  # fmt: skip
    return out


def record_incident(
    session: Session, layer: Layer, feature_id: int, who: Principal, fields: dict[str, Any],
    *, entry_key: str | None = None,
) -> tuple[dict[str, Any], bool]:  # fmt: skip
    _site(session, layer, feature_id)
    _not_future("occurred_on", fields["occurred_on"])
    values = {k: v for k, v in fields.items() if k != "position"}
    values["position"] = _point(fields.get("position"))
    values["recorded_by"] = who.actor
    incident_id, new = _keyed_insert(session, "incidents", layer, feature_id, values, entry_key)
    if new:
        audit.record(session, who, "incident", layer_id=layer.id, layer_slug=layer.slug,
                     details={"feature_id": feature_id, "incident_id": incident_id,
                              "category": fields["category"]})  # fmt: skip
    return incident(session, incident_id), new


def incident(session: Session, incident_id: int) -> dict[str, Any]:
    found = _rows(session, _INCIDENT + " WHERE i.id = :id", id=incident_id)
    if not found:
        raise NotFound(msg("monitoring.unknown", what="incident", id=incident_id))
    return _incident_row(found[0])


def incident_layer(session: Session, incident_id: int) -> str:
    slug = session.execute(
        text("SELECT l.slug FROM incidents i JOIN layers l ON l.id = i.layer_id WHERE i.id = :id"),
        {"id": incident_id},
    ).scalar()
    if slug is None:
        raise NotFound(msg("monitoring.unknown", what="incident", id=incident_id))
    return str(slug)


def incidents(
    session: Session, layer: Layer, *, feature_id: int | None = None, start: date | None = None,
    end: date | None = None, categories: list[str] | None = None,
    verification: str | None = None, annex_ii: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    where = " WHERE i.layer_id = :layer"
    if feature_id:
        where += " AND i.feature_id = :fid"
    if categories is not None:
        where += " AND i.category = ANY(:cats)"
    if verification:
        where += " AND i.verification = :verification"
    if annex_ii:
        where += " AND i.category = ANY(:annex)"
    annex = [c.code for c in vocabulary.CATEGORIES if c.annex_ii]
    sql = (
        _INCIDENT
        + where
        + period_sql("i", "occurred_on", start, end)
        + " ORDER BY i.occurred_on, i.id"
    )
    rows = _rows(session, sql, layer=layer.id, fid=feature_id, start=start, end=end,
                 cats=categories, verification=verification, annex=annex)  # fmt: skip
    return [_incident_row(r) for r in rows]


def is_reviewer(who: Principal) -> bool:
    return who.is_admin or REVIEWER_GROUP in who.groups


def verify(
    session: Session, incident_id: int, who: Principal, verdict: str, comment: str | None
) -> dict[str, Any]:
    """A reviewer's verdict on an incident: verified ones count in figures, rejected ones not."""
    if not is_reviewer(who):
        raise Forbidden(msg("monitoring.reviewer"))
    current = session.execute(
        text("SELECT verification FROM incidents WHERE id = :id FOR UPDATE"), {"id": incident_id}
    ).scalar()
    if current is None:
        raise NotFound(msg("monitoring.unknown", what="incident", id=incident_id))
    if current != "unverified":
        raise Conflict(msg("monitoring.verified_already", id=incident_id, verification=current))
    session.execute(
        text("UPDATE incidents SET verification = :v, verified_by = :w, verified_at = now(), "
             "verification_comment = :c WHERE id = :id"),
        {"v": verdict, "w": who.actor, "c": comment, "id": incident_id},
    )  # fmt: skip
    audit.record(session, who, "incident_verification", comment=comment,
                 details={"incident_id": incident_id, "verdict": verdict})  # fmt: skip
    return incident(session, incident_id)


def rate_risk(
    session: Session, incident_id: int, who: Principal, severity: int, likelihood: int
) -> dict[str, Any]:
    incident(session, incident_id)
    session.execute(
        text("INSERT INTO risks (incident_id, severity, likelihood, rated_by) "
             "VALUES (:i, :s, :l, :w) ON CONFLICT (incident_id) DO UPDATE SET "
             "severity = EXCLUDED.severity, likelihood = EXCLUDED.likelihood, "
             "rated_by = EXCLUDED.rated_by, rated_at = now()"),
        {"i": incident_id, "s": severity, "l": likelihood, "w": who.actor},
    )  # fmt: skip
    audit.record(session, who, "risk", details={"incident_id": incident_id,
                                                "severity": severity, "likelihood": likelihood})  # fmt: skip
    return incident(session, incident_id)


# -- corrective actions ------------------------------------------------------------------------

# An action's status on :day: its latest progress by then, else recommended once recommended.
_ACTION = """
    SELECT a.id, l.slug AS layer, a.feature_id, f.name AS site, a.incident_id, a.stakeholder,
           a.description, a.recommended_on, a.due_on, a.recorded_by, a.recorded_at,
           COALESCE((SELECT p.status FROM action_progress p
                     WHERE p.action_id = a.id AND p.effective_on <= :day
                     ORDER BY p.effective_on DESC, p.id DESC LIMIT 1), 'recommended') AS status
    FROM corrective_actions a JOIN layers l ON l.id = a.layer_id
    JOIN features f ON f.id = a.feature_id
"""


def _action_row(row: dict[str, Any], day: date) -> dict[str, Any]:
    out = _plain(row)
    out["overdue"] = row["status"] != "done" and row["due_on"] is not None and row["due_on"] < day
    out["as_of"] = day.isoformat()
    return out


def record_action(
    session: Session, layer: Layer, feature_id: int, who: Principal, *, stakeholder: str,
    description: str, recommended_on: date, due_on: date | None = None,
    incident_id: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    _site(session, layer, feature_id)
    _not_future("recommended_on", recommended_on)
    if incident_id is not None:
        found = incident(session, incident_id)
        if (found["layer"], found["feature_id"]) != (layer.slug, feature_id):
            raise InvalidInput(msg("monitoring.incident_elsewhere", id=incident_id),
                               where={"body": "incident_id"})  # fmt: skip
    action_id = session.execute(
        text("INSERT INTO corrective_actions (layer_id, feature_id, incident_id, stakeholder, "
             "description, recommended_on, due_on, recorded_by) "
             "VALUES (:l, :f, :i, :s, :d, :r, :due, :w) RETURNING id"),
        {"l": layer.id, "f": feature_id, "i": incident_id, "s": stakeholder, "d": description,
         "r": recommended_on, "due": due_on, "w": who.actor},
    ).scalar_one()  # fmt: skip
    audit.record(session, who, "corrective_action", layer_id=layer.id, layer_slug=layer.slug,
                 details={"feature_id": feature_id, "action_id": action_id})  # fmt: skip
    return action(session, action_id)


def action(session: Session, action_id: int, as_of: date | None = None) -> dict[str, Any]:
    day = as_of or date.today()
    found = _rows(session, _ACTION + " WHERE a.id = :id", id=action_id, day=day)
    if not found:
        raise NotFound(msg("monitoring.unknown", what="action", id=action_id))
    return _action_row(found[0], day)


def action_layer(session: Session, action_id: int) -> str:
    slug = session.execute(
        text("SELECT l.slug FROM corrective_actions a JOIN layers l ON l.id = a.layer_id "
             "WHERE a.id = :id"), {"id": action_id},
    ).scalar()  # fmt: skip
    if slug is None:
        raise NotFound(msg("monitoring.unknown", what="action", id=action_id))
    return str(slug)


def record_progress(
    session: Session, action_id: int, who: Principal, *, status: str, effective_on: date,
    comment: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Move an action forward (recommended -> in progress -> done), as of a day."""
    _not_future("effective_on", effective_on)
    row = session.execute(
        text("SELECT status, recommended_on FROM corrective_actions WHERE id = :id FOR UPDATE"),
        {"id": action_id},
    ).one_or_none()
    if row is None:
        raise NotFound(msg("monitoring.unknown", what="action", id=action_id))
    order = vocabulary.ACTION_ORDER
    if order.index(status) <= order.index(row.status):
        raise Conflict(msg("monitoring.backwards", id=action_id, current=row.status, wanted=status),
                       where={"body": "status"})  # fmt: skip
    if effective_on < row.recommended_on:
        raise InvalidInput(
            msg("monitoring.before_recommended", day=effective_on.isoformat(),
                recommended=row.recommended_on.isoformat()),
            where={"body": "effective_on"},
        )  # fmt: skip
    session.execute(
        text("INSERT INTO action_progress (action_id, status, effective_on, comment, recorded_by) "
             "VALUES (:a, :s, :d, :c, :w)"),
        {"a": action_id, "s": status, "d": effective_on, "c": comment, "w": who.actor},
    )  # fmt: skip
    session.execute(text("UPDATE corrective_actions SET status = :s WHERE id = :a"),
                    {"s": status, "a": action_id})  # fmt: skip
    audit.record(session, who, "action_progress", comment=comment,
                 details={"action_id": action_id, "status": status})  # fmt: skip
    return action(session, action_id)


def actions(
    session: Session, layer: Layer, *, feature_id: int | None = None, as_of: date | None = None
) -> list[dict[str, Any]]:
    day = as_of or date.today()
    where = " WHERE a.layer_id = :layer AND a.recommended_on <= :day"
    if feature_id:
        where += " AND a.feature_id = :fid"
    rows = _rows(session, _ACTION + where + " ORDER BY a.recommended_on, a.id",
                 layer=layer.id, fid=feature_id, day=day)  # fmt: skip
    return [_action_row(r, day) for r in rows]
