"""Monitoring figures as programmes publish them: verified incidents by domain, category, site
or programme year (April to March), corrective actions with their share executed (done and in
progress over recommended), visits; and the tables as CSV rows. One SQL statement a figure.

    >>> figures(session, layer, "actions", by="domain", start=date(2025, 4, 1),
    ...         end=date(2026, 3, 31))["total"]["share_executed"]
    80.9
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db.models import Layer
from geo_service.domain import monitoring as vocabulary
from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.store.monitoring import period_sql

Subject = Literal["incidents", "actions", "visits"]
By = Literal["domain", "category", "site", "period", "annex_ii", "stakeholder", "none"]

# A programme year (April to March) named by the year it starts.
_YEAR = "(EXTRACT(year FROM {d})::int - (EXTRACT(month FROM {d}) < 4)::int)"
_CATEGORY_DOMAIN = " ".join(f"WHEN '{c.code}' THEN '{c.domain}'" for c in vocabulary.CATEGORIES)
_CATEGORY_ANNEX = " ".join(
    f"WHEN '{c.code}' THEN '{c.annex_ii}'" for c in vocabulary.CATEGORIES if c.annex_ii
)


def _key(by: By, alias: str, day: str) -> str:
    return {
        "domain": f"CASE {alias}.category {_CATEGORY_DOMAIN} END",
        "category": f"{alias}.category",
        "site": f"{alias}.feature_id::text",
        "period": _YEAR.format(d=f"{alias}.{day}") + "::text",
        "annex_ii": f"CASE {alias}.category {_CATEGORY_ANNEX} END",
        "stakeholder": f"{alias}.stakeholder",
        "none": "'all'",
    }[by]


def _check(subject: str, by: str) -> None:
    allowed = {
        "incidents": {"domain", "category", "site", "period", "annex_ii", "none"},
        "actions": {"domain", "category", "site", "period", "annex_ii", "stakeholder", "none"},
        "visits": {"site", "period", "none"},
    }[subject]
    if by not in allowed:
        raise InvalidInput(
            msg("monitoring.figure_by", by=by, subject=subject, allowed=", ".join(sorted(allowed))),
            where={"query": "by"},
        )


def figures(
    session: Session, layer: Layer, subject: Subject, *, by: By = "none",
    start: date | None = None, end: date | None = None, as_of: date | None = None,
    annex_ii_only: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Counts per `by` key for incidents (verified; unverified beside), actions (recommended in
    the period, with their status on `as_of`, default the period's end or today) or visits."""
    _check(subject, by)
    day = as_of or end or date.today()
    annex = [c.code for c in vocabulary.CATEGORIES if c.annex_ii]
    params = {"layer": layer.id, "start": start, "end": end, "day": day, "annex": annex}
    if subject == "incidents":
        sql = f"""
            SELECT {_key(by, "i", "occurred_on")} AS key,
                   count(*) FILTER (WHERE i.verification = 'verified') AS count,
                   count(*) FILTER (WHERE i.verification = 'unverified') AS unverified
            FROM incidents i
            WHERE i.layer_id = :layer {period_sql("i", "occurred_on", start, end)}
                  {"AND i.category = ANY(:annex)" if annex_ii_only else ""}
            GROUP BY 1 ORDER BY 1"""
    elif subject == "actions":
        # An action's category is its incident's (none when it answers no incident).
        sql = f"""
            WITH a AS (
                SELECT c.*, i.category,
                       COALESCE((SELECT p.status FROM action_progress p
                                 WHERE p.action_id = c.id AND p.effective_on <= :day
                                 ORDER BY p.effective_on DESC, p.id DESC LIMIT 1),
                                'recommended') AS now
                FROM corrective_actions c LEFT JOIN incidents i ON i.id = c.incident_id
                WHERE c.layer_id = :layer AND c.recommended_on <= :day
                      {period_sql("c", "recommended_on", start, end)}
                      {"AND i.category = ANY(:annex)" if annex_ii_only else ""})
            SELECT {_key(by, "a", "recommended_on")} AS key, count(*) AS count,
                   count(*) FILTER (WHERE a.now = 'in_progress') AS in_progress,
                   count(*) FILTER (WHERE a.now = 'done') AS done,
                   count(*) FILTER (WHERE a.now <> 'done' AND a.due_on < :day) AS overdue
            FROM a GROUP BY 1 ORDER BY 1"""
    else:
        sql = f"""
            SELECT {_key(by, "v", "visited_on")} AS key, count(*) AS count,
                   COALESCE(sum(v.workers), 0) AS workers, COALESCE(sum(v.women), 0) AS women,
                   COALESCE(sum(v.children), 0) AS children,
                   count(*) FILTER (WHERE 'mercury' = ANY(v.methods)) AS mercury
            FROM monitoring_visits v
            WHERE v.layer_id = :layer {period_sql("v", "visited_on", start, end)}
            GROUP BY 1 ORDER BY 1"""
    rows = [dict(r) for r in session.execute(text(sql), params).mappings()]
    total: dict[str, Any] = {
        k: sum(r[k] for r in rows) for k in (rows[0].keys() if rows else ["count"]) if k != "key"
    }
    if subject == "actions":
        for row in [*rows, total]:
            row["recommended"] = row.get("count", 0)
            share = vocabulary.share_executed(
                done=row.get("done", 0), in_progress=row.get("in_progress", 0),
                recommended=row["recommended"],
            )  # fmt: skip
            row["share_executed"] = None if share is None else round(share, 1)
    for row in rows:
        row[by] = row.pop("key")
    return {
        "layer": layer.slug,
        "subject": subject,
        "by": by,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "as_of": day.isoformat(),
        "annex_ii_only": annex_ii_only,
        "rows": rows,
        "total": total,
    }


TABLES = {
    "visits": "SELECT id, layer_id, feature_id, visited_on, team, observations, workers, women, "
    "children, array_to_string(methods, ';') AS methods, armed_actors, state_actors, "
    "ST_X(position) AS lon, ST_Y(position) AS lat, recorded_by, recorded_at "
    "FROM monitoring_visits WHERE layer_id = :layer",
    "photos": "SELECT p.id, p.visit_id, p.content_type, p.size_bytes, p.sha256, p.created_at "
    "FROM monitoring_photos p JOIN monitoring_visits v ON v.id = p.visit_id "
    "WHERE v.layer_id = :layer",
    "site_statuses": "SELECT id, layer_id, feature_id, effective_on, qualification, operating, "
    "scheme, comment, recorded_by, recorded_at FROM site_statuses WHERE layer_id = :layer",
    "incidents": "SELECT id, layer_id, feature_id, occurred_on, category, severity, status, "
    "description, reported_by, ST_X(position) AS lon, ST_Y(position) AS lat, verification, "
    "verified_by, verified_at, recorded_by, recorded_at FROM incidents WHERE layer_id = :layer",
    "risks": "SELECT r.id, r.incident_id, r.severity, r.likelihood, r.severity * r.likelihood "
    "AS rating, r.rated_by, r.rated_at FROM risks r JOIN incidents i ON i.id = r.incident_id "
    "WHERE i.layer_id = :layer",
    "actions": "SELECT id, layer_id, feature_id, incident_id, stakeholder, description, "
    "recommended_on, due_on, status, recorded_by, recorded_at FROM corrective_actions "
    "WHERE layer_id = :layer",
    "action_progress": "SELECT p.id, p.action_id, p.status, p.effective_on, p.comment, "
    "p.recorded_by, p.recorded_at FROM action_progress p JOIN corrective_actions a "
    "ON a.id = p.action_id WHERE a.layer_id = :layer",
}


def table_rows(session: Session, layer: Layer, table: str) -> tuple[list[str], list[tuple]]:
    """A monitoring table's rows for one site layer, as (header, rows), ordered by id."""
    if table not in TABLES:
        raise InvalidInput(msg("monitoring.table", table=table, tables=", ".join(TABLES)),
                           where={"path": "table"})  # fmt: skip
    result = session.execute(text(TABLES[table] + " ORDER BY 1"), {"layer": layer.id})
    return list(result.keys()), [tuple(r) for r in result]
