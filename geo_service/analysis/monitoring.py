"""Figures of site monitoring (issue 18), counted in PostGIS: incidents and corrective actions
by domain, category, site, province, mineral, programme year, month or Annex II risk; field
visits and the people seen at them; sites by qualification and operating status as of a day;
ASM zones, mining titles and tailings facilities as they stood on a day; and the monitoring
tables as CSV. Only verified incidents count (unverified ones are a column apart), and only
layers the caller may read.

    >>> figures(session, "actions", ["domain"], start=date(2026, 4, 1), end=date(2027, 3, 31),
    ...         who=viewer)
    {'subject': 'actions', 'by': ['domain'], 'rows': [...], 'total': 1098, ...}
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.domain.monitoring import ACTIVE_STATUSES, CATEGORIES, share_executed
from geo_service.domain.sensitivity import Level, clearance, sees
from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.store.layers import get_layer
from geo_service.store.sensitivity import of_layers

# What each `by` means, as an SQL expression over `base` (a fixed list: never user text).
_KEYS = {
    "domain": "b.domain",
    "category": "b.category",
    "site": "b.feature_id",
    "province": "b.province",
    "mineral": "m.mineral",
    "period": "CASE WHEN extract(month FROM b.day) >= 4 THEN extract(year FROM b.day)::int"
    " ELSE extract(year FROM b.day)::int - 1 END",
    "month": "to_char(b.day, 'YYYY-MM')",
    "annex_ii": "b.annex_ii",
    "qualification": "b.qualification",
    "operating": "b.operating",
    "scheme": "b.scheme",
    "status": "b.status",
    "title_type": "b.title_type",
    "consequence": "b.consequence",
}

_CATEGORIES = """
    cat AS (SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:domains AS text[]),
                                 CAST(:annex AS text[])) AS c(code, domain, annex_ii))
"""
# A feature's province: its own `province`, else the region it lies in, the smallest public
# administrative boundary holding its point on surface. Asked only when figures are by province.
_PROVINCE = (
    "coalesce(NULLIF({a}.properties->>'province', ''), (SELECT coalesce(r.name,"
    " r.properties->>'name') FROM features r JOIN layers rl ON rl.id = r.layer_id"
    " WHERE rl.theme = 'admin_boundary' AND rl.visibility = 'public'"
    " AND ST_Covers(r.geom, ST_PointOnSurface({a}.geom)) ORDER BY ST_Area(r.geom), r.id LIMIT 1))"
)
# The layers counted: those the caller may read ({readable}), or the one asked for.
_LAYERS = "{readable} AND (CAST(:layer AS text) IS NULL OR l.slug = :layer)"

_INCIDENTS = f"""
    WITH {_CATEGORIES},
    base AS (
      SELECT i.feature_id, i.category, c.domain, c.annex_ii, i.occurred_on AS day,
             i.verification, {{province}} AS province, f.properties
        FROM incidents i JOIN cat c ON c.code = i.category JOIN features f ON f.id = i.feature_id
        JOIN layers l ON l.id = i.layer_id
       WHERE i.occurred_on BETWEEN :start AND :end AND i.verification <> 'rejected'
         AND (NOT :annex_only OR c.annex_ii IS NOT NULL)
         AND (NOT :hide_hr OR c.domain <> 'human_rights') AND {_LAYERS})
    SELECT {{keys}} count(*) FILTER (WHERE b.verification = 'verified') AS count,
           count(*) FILTER (WHERE b.verification = 'unverified') AS unverified
      FROM base b {{minerals}}
     {{group}}
"""

# An action's status as of a day: its latest progress by then, else recommended.
_ACTIONS = f"""
    WITH {_CATEGORIES},
    base AS (
      SELECT a.feature_id, i.category, c.domain, c.annex_ii, a.recommended_on AS day,
             coalesce(p.status, 'recommended') AS status,
             coalesce(p.status, 'recommended') <> 'done' AND a.due_on < :as_of AS overdue,
             {{province}} AS province, f.properties
        FROM corrective_actions a
        JOIN features f ON f.id = a.feature_id
        JOIN layers l ON l.id = a.layer_id
        LEFT JOIN incidents i ON i.id = a.incident_id
        LEFT JOIN cat c ON c.code = i.category
        LEFT JOIN LATERAL (SELECT status FROM action_progress
                            WHERE action_id = a.id AND effective_on <= :as_of
                            ORDER BY effective_on DESC, id DESC LIMIT 1) p ON true
       WHERE a.recommended_on BETWEEN :start AND :end AND a.recommended_on <= :as_of
         AND (NOT :annex_only OR c.annex_ii IS NOT NULL)
         AND (NOT :hide_hr OR c.domain IS DISTINCT FROM 'human_rights') AND {_LAYERS})
    SELECT {{keys}} count(*) AS recommended,
           count(*) FILTER (WHERE b.status = 'in_progress') AS in_progress,
           count(*) FILTER (WHERE b.status = 'done') AS done,
           count(*) FILTER (WHERE b.overdue) AS overdue
      FROM base b {{minerals}}
     {{group}}
"""

_VISITS = f"""
    WITH base AS (
      SELECT v.feature_id, v.visited_on AS day, v.workers, v.women, v.children,
             'mercury' = ANY(v.methods) AS mercury, v.armed_actors,
             {{province}} AS province, f.properties
        FROM monitoring_visits v JOIN features f ON f.id = v.feature_id
        JOIN layers l ON l.id = v.layer_id
       WHERE v.visited_on BETWEEN :start AND :end AND {_LAYERS})
    SELECT {{keys}} count(*) AS visits, coalesce(sum(b.workers), 0) AS workers,
           coalesce(sum(b.women), 0) AS women, coalesce(sum(b.children), 0) AS children,
           count(*) FILTER (WHERE b.mercury) AS mercury,
           count(*) FILTER (WHERE b.armed_actors) AS armed_actors
      FROM base b {{minerals}}
     {{group}}
"""

# The features of the layers of kind :kind as they stood at the end of day :as_of: the current
# row if it was made or last changed by then, else the version of feature_history in force
# that day (a deleted feature's last version is there too, until the day it was deleted).
_VERSIONS = f"""
    versions AS (
      SELECT f.id, f.layer_id, f.name, f.properties, f.geom
        FROM features f JOIN layers l ON l.id = f.layer_id
       WHERE l.kind = :kind AND {_LAYERS} AND f.updated_at::date <= :as_of
      UNION ALL
      SELECT h.feature_id, h.layer_id, h.name, h.properties, h.geom
        FROM feature_history h JOIN layers l ON l.id = h.layer_id
       WHERE l.kind = :kind AND {_LAYERS}
         AND h.valid_from::date <= :as_of AND h.valid_to::date > :as_of)
"""


def _status_on(field: str, day: str) -> str:
    """The site's `field` of site_statuses in force on `day` (the latest row by then naming it)."""
    return (
        f"(SELECT s.{field} FROM site_statuses s WHERE s.layer_id = v.layer_id"
        f" AND s.feature_id = v.id AND s.effective_on <= {day} AND s.{field} IS NOT NULL"
        f" ORDER BY s.effective_on DESC, s.id DESC LIMIT 1)"
    )


# A site is active in [start, end] when an active status was in force at any moment of it: the
# one in force on `start`, or one taking effect inside the period. A site the register never
# qualified keeps the qualification its layer gives it, else counts as not assessed.
_SITES = f"""
    WITH {_VERSIONS},
    base AS (
      SELECT v.id AS feature_id, {{province}} AS province, v.properties,
             coalesce({_status_on("qualification", ":as_of")},
                      NULLIF(v.properties->>'qualification', ''), 'not_assessed') AS qualification,
             {_status_on("operating", ":as_of")} AS operating,
             {_status_on("scheme", ":as_of")} AS scheme,
             coalesce({_status_on("operating", ":start")} = ANY(CAST(:active_statuses AS text[])), false)
             OR EXISTS (SELECT 1 FROM site_statuses s WHERE s.layer_id = v.layer_id
                         AND s.feature_id = v.id AND s.effective_on > :start
                         AND s.effective_on <= :end
                         AND s.operating = ANY(CAST(:active_statuses AS text[]))) AS active
        FROM versions v)
    SELECT {{keys}} count(*) AS count, count(*) FILTER (WHERE b.active) AS active
      FROM base b {{minerals}}
     {{group}}
"""

_FEATURES = f"""
    WITH {_VERSIONS},
    base AS (
      SELECT v.id AS feature_id, {{province}} AS province, v.properties,
             v.properties->>'status' AS status, v.properties->>'title_type' AS title_type,
             v.properties->>'consequence' AS consequence
        FROM versions v)
    SELECT {{keys}} count(*) AS count FROM base b {{minerals}} {{group}}
"""


@dataclass(frozen=True)
class Subject:
    """What figures of a subject count: its SQL, the numbers of a row (the first is the one
    totalled), the keys it may be grouped by, the kind of layer it counts for the features
    subjects, and whether its rows count people (below internal a row of few is withheld whole)."""

    sql: str
    counts: tuple[str, ...]
    keys: tuple[str, ...]
    kind: str | None = None
    people: bool = False


_PLACE = ("site", "province", "mineral", "period", "month")
SUBJECTS: dict[str, Subject] = {
    "incidents": Subject(
        _INCIDENTS, ("count", "unverified"), (*_PLACE, "domain", "category", "annex_ii")
    ),
    "actions": Subject(
        _ACTIONS,
        ("recommended", "in_progress", "done", "overdue"),
        (*_PLACE, "domain", "category", "annex_ii"),
    ),
    "visits": Subject(
        _VISITS,
        ("visits", "workers", "women", "children", "mercury", "armed_actors"),
        _PLACE,
        people=True,
    ),
    "sites": Subject(
        _SITES,
        ("count", "active"),
        ("qualification", "operating", "province", "mineral", "scheme"),
        kind="mine_site",
        people=True,
    ),
    "zones": Subject(_FEATURES, ("count",), ("province", "status", "mineral"), kind="asm_zone"),
    "titles": Subject(
        _FEATURES, ("count",), ("province", "title_type", "status", "mineral"), kind="concession"
    ),
    "tailings": Subject(
        _FEATURES, ("count",), ("province", "status", "consequence"), kind="tailings_facility"
    ),
}


def _vocabulary() -> dict[str, list[str | None]]:
    return {
        "codes": [c.code for c in CATEGORIES],
        "domains": [c.domain for c in CATEGORIES],
        "annex": [c.annex_ii for c in CATEGORIES],
    }


def _readable(who: Principal | None) -> tuple[str, dict[str, Any]]:
    return ("TRUE", {}) if who is None else visible(who, "l")


def figures(
    session: Session,
    subject: str,
    by: list[str],
    *,
    start: date,
    end: date,
    as_of: date | None = None,
    annex_ii_only: bool = False,
    layer: str | None = None,
    who: Principal | None = None,
    cleared: bool = True,
    min_cell: int = 5,
) -> dict[str, Any]:
    """Counts of `subject` grouped by `by` over [start, end], states as of `as_of` (default
    `end`, or today while the period runs: an action due later is not yet overdue). Only the
    layers `who` may read count (None: a caller of our own, such as the Step 5 report, every
    layer); `layer` narrows to one. A caller not `cleared` (below internal) gets
    cells under `min_cell` withheld, and no human-rights incident by site. `annex_ii_only`
    narrows incidents and actions; visits and features have no risk category to narrow by."""
    spec = SUBJECTS.get(subject)
    if spec is None:
        raise InvalidInput(
            msg("monitoring.figure_by", subject=subject, by=by, allowed=", ".join(SUBJECTS))
        )
    unknown = [b for b in by if b not in spec.keys]
    if unknown:
        raise InvalidInput(
            msg(
                "monitoring.figure_by", subject=subject, by=unknown[0], allowed=", ".join(spec.keys)
            ),
            where={"by": unknown[0]},
        )
    if start > end:
        raise InvalidInput(
            msg("monitoring.range", start=start, end=end), where={"from": start.isoformat()}
        )
    if layer is not None and who is not None:
        get_layer(session, layer, who)  # UnknownLayer for one the caller may not read
    readable, access = _readable(who)
    alias = "v" if spec.kind else "f"
    sql = spec.sql.replace("{readable}", readable).format(
        keys="".join(f"{_KEYS[b]} AS {b}, " for b in by),
        province=_PROVINCE.format(a=alias) if "province" in by else "NULL::text",
        minerals=(
            "CROSS JOIN LATERAL jsonb_array_elements_text("
            "CASE WHEN jsonb_typeof(b.properties->'minerals') = 'array'"
            " THEN b.properties->'minerals' ELSE '[null]'::jsonb END) AS m(mineral)"
            if "mineral" in by
            else ""
        ),
        group=(
            "GROUP BY " + ", ".join(by) + " ORDER BY " + ", ".join(f"{b} NULLS LAST" for b in by)
            if by
            else ""
        ),
    )
    today = date.today()
    day = as_of or (today if start <= today <= end else end)  # a running period: as it is now
    params = {
        **_vocabulary(),
        **access,
        "start": start,
        "end": end,
        "as_of": day,
        "annex_only": annex_ii_only,
        "hide_hr": not cleared and "site" in by,
        "layer": layer,
        "kind": spec.kind,
        "active_statuses": sorted(ACTIVE_STATUSES),
    }
    rows = [dict(r) for r in session.execute(text(sql), params).mappings()]
    lead, *others = spec.counts
    total = sum(r[lead] for r in rows)
    summary: dict[str, Any] = {name: sum(r[name] for r in rows) for name in others}
    if subject == "actions":
        for row in rows:
            row["share_executed"] = _share(row)
        summary["share_executed"] = _share({"recommended": total, **summary})
    if not cleared:
        # The totals are cells too: a small one would give away the rows it sums.
        rows = [_suppress(row, spec, min_cell) for row in rows]
        margins = _suppress({lead: total, **summary}, spec, min_cell)
        total = margins.pop(lead)
        summary = margins
    result: dict[str, Any] = {
        "subject": subject,
        "by": by,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "as_of": day.isoformat(),
        "rows": rows,
        "total": total,
        **summary,
    }
    if "mineral" in by:
        result["note"] = "A site with several minerals counts in the row of each."
    return result


def _share(row: dict[str, Any]) -> float | None:
    share = share_executed(
        done=row["done"], in_progress=row["in_progress"], recommended=row["recommended"]
    )
    return None if share is None else round(share, 1)


def _suppress(row: dict[str, Any], spec: Subject, min_cell: int) -> dict[str, Any]:
    """The row with its small counts withheld; a row counting people (visits, sites) that
    counts few of them is withheld whole, since its other numbers would point at them."""
    small = [name for name in spec.counts if 0 < (row[name] or 0) < min_cell]
    if spec.people and spec.counts[0] in small:
        small = list(spec.counts)
    if not small:
        return row
    out = {**row, **{name: None for name in small}, "suppressed": True}
    if "share_executed" in out:
        out["share_executed"] = None
    return out


def figures_csv(result: dict[str, Any]) -> str:
    """The rows of a `figures` result as CSV text: the keys, then the numbers (withheld ones
    empty, with a `suppressed` column saying which rows)."""
    counts = SUBJECTS[result["subject"]].counts
    columns = [*result["by"], *counts]
    if result["subject"] == "actions":
        columns.append("share_executed")
    columns.append("suppressed")
    return _csv(columns, result["rows"])


def _csv(columns: list[str], rows: Iterable[Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
    return out.getvalue()


# table -> SQL of its rows with :start/:end on its day, of the layers the caller may read ({layers},
# over `l`); {position} and {description} are what the caller may see of them.
_LAYER = "JOIN layers l ON l.id = {t}.layer_id AND {{layers}}"
EXPORTS: dict[str, str] = {
    "visits": "SELECT v.id, v.layer_id, v.feature_id, v.visited_on, v.team, v.observations,"
    " v.workers, v.women, v.children, array_to_string(v.methods, ';') AS methods,"
    " v.armed_actors, v.state_actors, {position}, v.entry_key, v.recorded_by, v.recorded_at"
    f" FROM monitoring_visits v {_LAYER.format(t='v')}"
    " WHERE v.visited_on BETWEEN :start AND :end ORDER BY v.id",
    "photos": "SELECT p.id, p.visit_id, p.content_type, p.size_bytes, p.sha256, p.created_at"
    " FROM monitoring_photos p JOIN monitoring_visits v ON v.id = p.visit_id"
    f" {_LAYER.format(t='v')} WHERE v.visited_on BETWEEN :start AND :end ORDER BY p.id",
    "site_statuses": "SELECT s.id, s.layer_id, s.feature_id, s.effective_on, s.qualification,"
    " s.operating, s.scheme, s.comment, s.recorded_by, s.recorded_at FROM site_statuses s"
    f" {_LAYER.format(t='s')} WHERE s.effective_on BETWEEN :start AND :end ORDER BY s.id",
    "incidents": "SELECT i.id, i.layer_id, i.feature_id, i.occurred_on, i.category, i.severity,"
    " i.status, {description}, {reported_by}, {position}, i.entry_key, i.verification,"
    " i.verified_by, i.verified_at, i.verification_comment, i.recorded_by, i.recorded_at"
    f" FROM incidents i {_LAYER.format(t='i')}"
    " WHERE i.occurred_on BETWEEN :start AND :end {verified} ORDER BY i.id",
    "risks": "SELECT r.id, r.incident_id, r.severity, r.likelihood, r.rated_by, r.rated_at"
    f" FROM risks r JOIN incidents i ON i.id = r.incident_id {_LAYER.format(t='i')}"
    " WHERE i.occurred_on BETWEEN :start AND :end {verified} ORDER BY r.id",
    "actions": "SELECT a.id, a.layer_id, a.feature_id, a.incident_id, a.stakeholder,"
    " a.description, a.recommended_on, a.due_on, a.status, a.recorded_by, a.recorded_at"
    f" FROM corrective_actions a {_LAYER.format(t='a')}"
    " WHERE a.recommended_on BETWEEN :start AND :end ORDER BY a.id",
    "action_progress": "SELECT p.id, p.action_id, p.status, p.effective_on, p.comment,"
    " p.recorded_by, p.recorded_at FROM action_progress p"
    f" JOIN corrective_actions a ON a.id = p.action_id {_LAYER.format(t='a')}"
    " WHERE p.effective_on BETWEEN :start AND :end ORDER BY p.id",
}
_HIDDEN_BELOW_INTERNAL = ("lon", "lat", "description", "reported_by")


def export_csv(session: Session, table: str, *, start: date, end: date, who: Principal) -> str:
    """The rows of a monitoring table as CSV text, of the layers `who` may read. Below internal
    clearance: no positions, no description nor informant, and only verified incidents; from
    internal up, positions on a layer above the caller's clearance are generalised as the
    layer's own features are (store/sensitivity.py)."""
    if table not in EXPORTS:
        raise InvalidInput(msg("monitoring.table", table=table, tables=", ".join(EXPORTS)))
    cleared = sees(who, Level.internal)
    level = clearance(who).value
    point = "(CASE WHEN {p} IS NULL THEN NULL ELSE {shown} END)"
    shown, _, _ = of_layers("{p}", "'{}'::jsonb", "NULL", "l", ":level")
    masked = point.replace("{shown}", shown)
    pos = {"visits": "v.position", "incidents": "i.position"}.get(table, "NULL")
    position = (
        f"ST_X({masked.format(p=pos)}) AS lon, ST_Y({masked.format(p=pos)}) AS lat"
        if cleared and pos != "NULL"
        else "NULL AS lon, NULL AS lat"
    )
    readable, access = visible(who, "l")
    sql = (
        EXPORTS[table]
        .replace("{layers}", readable)
        .format(
            position=position,
            description="i.description" if cleared else "NULL AS description",
            reported_by="i.reported_by" if cleared else "NULL AS reported_by",
            verified="" if cleared else "AND i.verification = 'verified'",
        )
    )
    result = session.execute(text(sql), {"start": start, "end": end, "level": level, **access})
    columns = list(result.keys())
    if not cleared:
        columns = [c for c in columns if c not in _HIDDEN_BELOW_INTERNAL]
    return _csv(columns, result.mappings())


def _cell(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
