"""The demo's monitoring programme (issue 18): two programme years of visits, site statuses,
incidents (most verified by a reviewer a week later, some waiting, a few rejected), risks and
corrective actions with their progress, at the demo's mine sites, from a fixed seed.

Written with plain SQL after the sites (one statement per table): the register's own checks
(store/monitoring.py) hold for every row, and the dates all lie before `LAST_DAY`, so that the
demo looks the same whenever it is loaded. Every name, count and event is invented. No photos:
the demo has no files of its own to show.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.monitoring import CATEGORIES, STAKEHOLDERS

SEED = 20261203
FIRST_DAY = date(2025, 4, 1)  # the programme year 2025-26 starts
LAST_DAY = date(2026, 11, 30)
TEAMS = ("Équipe Siguiri", "Équipe Kangaba", "Équipe Kéniéba")
REVIEWER = "demo-reviewer"
MONITOR = "demo-monitor"
_OPERATING = {"active": "active", "seasonal": "active", "inactive": "inactive"}
_SEVERITIES = ("low", "medium", "medium", "high", "high", "critical")
_ACTIONS = (
    "Sensibiliser les orpailleurs aux risques du mercure",
    "Clôturer et signaliser les puits abandonnés",
    "Retirer les enfants du site et les orienter vers l'école",
    "Former le comité du site à la tenue du registre de production",
    "Demander aux services de l'État le retrait des barrages illégaux",
    "Réhabiliter la berge et les bassins de décantation",
)


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max(1, (end - start).days)))


def _plan(sites: list[dict[str, Any]], seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """The rows of each table for `sites` ({id, properties}), from `seed`."""
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {
        "statuses": [], "visits": [], "incidents": [], "actions": [], "progress": [],
    }  # fmt: skip
    for site in sites:
        props, fid = site["properties"], site["id"]
        first = _day(rng, FIRST_DAY, FIRST_DAY + timedelta(days=60))
        rows["statuses"].append({
            "fid": fid, "day": first, "qualification": props.get("qualification") or "not_assessed",
            "operating": _OPERATING.get(props.get("activity_status"), "active"),
            "scheme": rng.choice([None, None, "CRAFT", "Fairmined"]),
            "comment": "Évaluation initiale",
        })  # fmt: skip
        if rng.random() < 0.3:  # a change of qualification or of operating status later on
            rows["statuses"].append({
                "fid": fid, "day": _day(rng, date(2026, 1, 1), LAST_DAY - timedelta(days=30)),
                "qualification": rng.choice(["green", "yellow", "red"]),
                "operating": rng.choice([None, "suspended", "closed_by_authority", "reopened"]),
                "scheme": None, "comment": "Réévaluation après visite",
            })  # fmt: skip
        workers = int(props.get("workers") or rng.randint(20, 300))
        for _ in range(rng.randint(1, 3)):
            seen = max(0, workers + rng.randint(-workers // 4, workers // 4))
            rows["visits"].append({
                "fid": fid, "day": _day(rng, first, LAST_DAY), "team": rng.choice(TEAMS),
                "workers": seen, "women": rng.randint(0, seen // 3),
                "children": rng.choice([0, 0, 0, rng.randint(1, max(1, seen // 20))]),
                "methods": ["mercury"] if props.get("mercury_use") else ["gravity"],
                "armed": rng.random() < 0.05, "state": rng.random() < 0.2,
            })  # fmt: skip
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            occurred = _day(rng, first, LAST_DAY - timedelta(days=10))
            draw = rng.random()
            verdict = "verified" if draw < 0.75 else "rejected" if draw < 0.8 else "unverified"
            incident = {
                "fid": fid, "day": occurred, "category": rng.choice(CATEGORIES).code,
                "severity": rng.choice(_SEVERITIES), "verification": verdict,
                "verified_at": occurred + timedelta(days=7) if verdict != "unverified" else None,
                "reported_by": f"Moniteur {rng.randint(1, 9)}",
                "risk": (rng.randint(1, 5), rng.randint(1, 5)) if verdict == "verified" else None,
            }  # fmt: skip
            rows["incidents"].append(incident)
            if verdict == "verified" and rng.random() < 0.7:
                recommended = occurred + timedelta(days=rng.randint(10, 40))
                if recommended > LAST_DAY:
                    continue
                action = {
                    "fid": fid, "incident": len(rows["incidents"]) - 1,
                    "stakeholder": rng.choice(list(STAKEHOLDERS)), "day": recommended,
                    "description": rng.choice(_ACTIONS),
                    "due": recommended + timedelta(days=90), "status": "recommended",
                }  # fmt: skip
                rows["actions"].append(action)
                step = recommended
                for status in ("in_progress", "done"):
                    if rng.random() < 0.6:
                        step = step + timedelta(days=rng.randint(5, 60))
                        if step > LAST_DAY:
                            break
                        action["status"] = status
                        rows["progress"].append(
                            {"action": len(rows["actions"]) - 1, "status": status, "day": step}
                        )
                    else:
                        break
    return rows


def load(session: Session, layer_id: int) -> dict[str, int]:
    """The demo programme at the sites of layer `layer_id`; the number of rows of each table."""
    sites = [
        {"id": r.id, "properties": r.properties}
        for r in session.execute(
            text("SELECT id, properties FROM features WHERE layer_id = :l ORDER BY id"),
            {"l": layer_id},
        )
    ]
    plan = _plan(sites)
    base = {"l": layer_id, "by": MONITOR}
    session.execute(
        text(
            "INSERT INTO site_statuses (layer_id, feature_id, effective_on, qualification,"
            " operating, scheme, comment, recorded_by) VALUES (:l, :fid, :day, :qualification,"
            " :operating, :scheme, :comment, :by)"
        ),
        [{**base, **s} for s in plan["statuses"]],
    )
    session.execute(
        text(
            "INSERT INTO monitoring_visits (layer_id, feature_id, visited_on, team, workers, women,"
            " children, methods, armed_actors, state_actors, recorded_by) VALUES (:l, :fid, :day,"
            " :team, :workers, :women, :children, :methods, :armed, :state, :by)"
        ),
        [{**base, **v} for v in plan["visits"]],
    )
    incident_ids = []
    for i in plan["incidents"]:
        incident_ids.append(
            session.execute(
                text(
                    "INSERT INTO incidents (layer_id, feature_id, occurred_on, category, severity,"
                    " reported_by, verification, verified_by, verified_at, recorded_by)"
                    " VALUES (:l, :fid, :day, :category, :severity, :reported_by, :verification,"
                    " CASE WHEN :verification = 'unverified' THEN NULL ELSE :reviewer END,"
                    " :verified_at, :by) RETURNING id"
                ),
                {**base, **{k: v for k, v in i.items() if k != "risk"}, "reviewer": REVIEWER},
            ).scalar_one()
        )
    risks = [
        {"i": incident_ids[n], "s": i["risk"][0], "li": i["risk"][1], "by": REVIEWER}
        for n, i in enumerate(plan["incidents"])
        if i["risk"]
    ]
    if risks:
        session.execute(
            text(
                "INSERT INTO risks (incident_id, severity, likelihood, rated_by)"
                " VALUES (:i, :s, :li, :by)"
            ),
            risks,
        )
    action_ids = []
    for a in plan["actions"]:
        action_ids.append(
            session.execute(
                text(
                    "INSERT INTO corrective_actions (layer_id, feature_id, incident_id,"
                    " stakeholder, description, recommended_on, due_on, status, recorded_by)"
                    " VALUES (:l, :fid, :incident, :stakeholder, :description, :day, :due,"
                    " :status, :by) RETURNING id"
                ),
                {**base, **a, "incident": incident_ids[a["incident"]]},
            ).scalar_one()
        )
    if plan["progress"]:
        session.execute(
            text(
                "INSERT INTO action_progress (action_id, status, effective_on, recorded_by)"
                " VALUES (:a, :status, :day, :by)"
            ),
            [{**p, "a": action_ids[p["action"]], "by": MONITOR} for p in plan["progress"]],
        )
    return {name: len(found) for name, found in plan.items()}
