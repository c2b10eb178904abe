"""Figures of site monitoring (issue 18): incidents and corrective actions counted in PostGIS
by domain, category, site, province, mineral, programme year, month or Annex II risk, and the
monitoring tables as CSV. Only verified incidents count; unverified ones are a column apart.

    >>> figures(session, "actions", ["domain"], start=date(2026, 4, 1), end=date(2027, 3, 31))
    {'subject': 'actions', 'by': ['domain'], 'rows': [...], 'total': 1098, ...}
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.monitoring import CATEGORIES, share_executed
from geo_service.errors import InvalidInput
from geo_service.problems import msg

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
}
SUBJECTS = ("incidents", "actions")

_CATEGORIES = """
    cat AS (SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:domains AS text[]),
                                 CAST(:annex AS text[])) AS c(code, domain, annex_ii))
"""
_PROVINCE = "NULLIF(f.properties->>'province', '')"

_INCIDENTS = f"""
    WITH {_CATEGORIES},
    base AS (
      SELECT i.feature_id, i.category, c.domain, c.annex_ii, i.occurred_on AS day,
             i.verification, {_PROVINCE} AS province, f.properties
        FROM incidents i JOIN cat c ON c.code = i.category JOIN features f ON f.id = i.feature_id
       WHERE i.occurred_on BETWEEN :start AND :end AND i.verification <> 'rejected'
         AND (NOT :annex_only OR c.annex_ii IS NOT NULL)
         AND (NOT :hide_hr OR c.domain <> 'human_rights')
         AND (CAST(:layer AS text) IS NULL OR i.layer_id = (SELECT id FROM layers WHERE slug = :layer)))
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
             {_PROVINCE} AS province, f.properties
        FROM corrective_actions a
        JOIN features f ON f.id = a.feature_id
        LEFT JOIN incidents i ON i.id = a.incident_id
        LEFT JOIN cat c ON c.code = i.category
        LEFT JOIN LATERAL (SELECT status FROM action_progress
                            WHERE action_id = a.id AND effective_on <= :as_of
                            ORDER BY effective_on DESC, id DESC LIMIT 1) p ON true
       WHERE a.recommended_on BETWEEN :start AND :end AND a.recommended_on <= :as_of
         AND (NOT :annex_only OR c.annex_ii IS NOT NULL)
         AND (NOT :hide_hr OR c.domain IS DISTINCT FROM 'human_rights')
         AND (CAST(:layer AS text) IS NULL OR a.layer_id = (SELECT id FROM layers WHERE slug = :layer)))
    SELECT {{keys}} count(*) AS recommended,
           count(*) FILTER (WHERE b.status = 'in_progress') AS in_progress,
           count(*) FILTER (WHERE b.status = 'done') AS done,
           count(*) FILTER (WHERE b.overdue) AS overdue
      FROM base b {{minerals}}
     {{group}}
"""
_COUNTS = {
    "incidents": ("count", "unverified"),
    "actions": ("recommended", "in_progress", "done", "overdue"),
}


def _vocabulary() -> dict[str, list[str | None]]:
    return {
        "codes": [c.code for c in CATEGORIES],
        "domains": [c.domain for c in CATEGORIES],
        "annex": [c.annex_ii for c in CATEGORIES],
    }


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
    cleared: bool = True,
    min_cell: int = 5,
) -> dict[str, Any]:
    """Counts of `subject` grouped by `by` over [start, end]. A caller not `cleared` (below
    internal) gets cells under `min_cell` withheld, and no human-rights incident by site."""
    if subject not in SUBJECTS:
        raise InvalidInput(msg("monitoring.figure_by", subject=subject, by=by, allowed=SUBJECTS))
    unknown = [b for b in by if b not in _KEYS]
    if unknown:
        raise InvalidInput(
            msg("monitoring.figure_by", subject=subject, by=unknown[0], allowed=list(_KEYS))
        )
    keys = [f"{_KEYS[b]} AS {b}" for b in by]
    sql = (_INCIDENTS if subject == "incidents" else _ACTIONS).format(
        keys="".join(k + ", " for k in keys),
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
    params = {
        **_vocabulary(),
        "start": start,
        "end": end,
        "as_of": as_of or end,
        "annex_only": annex_ii_only,
        "hide_hr": not cleared and "site" in by,
        "layer": layer,
    }
    rows = [dict(r) for r in session.execute(text(sql), params).mappings()]
    total = sum(r[_COUNTS[subject][0]] for r in rows)
    summary: dict[str, Any] = {}
    if subject == "actions":
        for row in rows:
            row["share_executed"] = _share(row)
        summary = {name: sum(r[name] for r in rows) for name in ("in_progress", "done", "overdue")}
        summary["share_executed"] = _share({"recommended": total, **summary})
    else:
        summary = {"unverified": sum(r["unverified"] for r in rows)}
    if not cleared:
        rows = [_suppress(row, _COUNTS[subject], min_cell) for row in rows]
    result: dict[str, Any] = {
        "subject": subject,
        "by": by,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "as_of": (as_of or end).isoformat(),
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


def _suppress(row: dict[str, Any], counts: tuple[str, ...], min_cell: int) -> dict[str, Any]:
    small = [name for name in counts if 0 < (row[name] or 0) < min_cell]
    if not small:
        return row
    out = {**row, **{name: None for name in small}, "suppressed": True}
    if "share_executed" in out:
        out["share_executed"] = None
    return out


# table -> (SQL of its rows with :start/:end on its day; the sensitive filter below internal)
_POSITION = "ST_X(position) AS lon, ST_Y(position) AS lat"
EXPORTS: dict[str, str] = {
    "visits": "SELECT id, layer_id, feature_id, visited_on, team, observations, workers, women,"
    " children, array_to_string(methods, ';') AS methods, armed_actors, state_actors, {position},"
    " entry_key, recorded_by, recorded_at FROM monitoring_visits"
    " WHERE visited_on BETWEEN :start AND :end ORDER BY id",
    "photos": "SELECT p.id, p.visit_id, p.content_type, p.size_bytes, p.sha256, p.created_at"
    " FROM monitoring_photos p JOIN monitoring_visits v ON v.id = p.visit_id"
    " WHERE v.visited_on BETWEEN :start AND :end ORDER BY p.id",
    "site_statuses": "SELECT id, layer_id, feature_id, effective_on, qualification, operating,"
    " scheme, comment, recorded_by, recorded_at FROM site_statuses"
    " WHERE effective_on BETWEEN :start AND :end ORDER BY id",
    "incidents": "SELECT id, layer_id, feature_id, occurred_on, category, severity, status,"
    " {description}, reported_by, {position}, entry_key, verification, verified_by,"
    " verified_at, verification_comment, recorded_by, recorded_at FROM incidents"
    " WHERE occurred_on BETWEEN :start AND :end {verified} ORDER BY id",
    "risks": "SELECT r.id, r.incident_id, r.severity, r.likelihood, r.rated_by, r.rated_at"
    " FROM risks r JOIN incidents i ON i.id = r.incident_id"
    " WHERE i.occurred_on BETWEEN :start AND :end {verified_i} ORDER BY r.id",
    "actions": "SELECT id, layer_id, feature_id, incident_id, stakeholder, description,"
    " recommended_on, due_on, status, recorded_by, recorded_at FROM corrective_actions"
    " WHERE recommended_on BETWEEN :start AND :end ORDER BY id",
    "action_progress": "SELECT id, action_id, status, effective_on, comment, recorded_by,"
    " recorded_at FROM action_progress WHERE effective_on BETWEEN :start AND :end ORDER BY id",
}


def export_csv(session: Session, table: str, *, start: date, end: date, cleared: bool) -> str:
    """The rows of a monitoring table as CSV text; below internal (`cleared` false) without
    positions, and incidents only verified ones, without their description."""
    if table not in EXPORTS:
        raise InvalidInput(msg("monitoring.table", table=table, tables=", ".join(EXPORTS)))
    sql = EXPORTS[table].format(
        position=_POSITION if cleared else "NULL AS lon, NULL AS lat",
        description="description" if cleared else "NULL AS description",
        verified="" if cleared else "AND verification = 'verified'",
        verified_i="" if cleared else "AND i.verification = 'verified'",
    )
    result = session.execute(text(sql), {"start": start, "end": end})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = list(result.keys())
    if not cleared:
        columns = [c for c in columns if c not in ("lon", "lat", "description")]
    writer.writerow(columns)
    for row in result.mappings():
        writer.writerow(["" if row[c] is None else _cell(row[c]) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
