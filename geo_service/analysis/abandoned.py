"""The rehabilitation priority of abandoned mines, ranked: a hazard term from the site's
hazards, a people term from the settlements and a water term from the rivers and water bodies
within a distance (geodesic metres), as domain/priority.py defines and weighs them. Each site
says which term gave how much and which feature gave each share.

Sensitive layers: as in exposure.py, distances are between the geometries the caller sees and
attributes it may not see are left out; the score is of what it sees (a hidden population or
hazard list counts for nothing), so that no score is a finer answer than the map.

    >>> ranked = abandoned_priority(session, "abandoned-mines", who, within_m=5000)
    >>> ranked["rows"][0]["terms"]["hazard"]
    {'value': 7.0, 'from': [{'hazard': 'mercury', 'weight': 4.0}, ...]}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from geo_service.analysis.exposure import Seen, checked_layer, nearby
from geo_service.domain import priority
from geo_service.domain.access import Principal
from geo_service.domain.kinds import Kind

_THEMES = ("settlement", "river", "water_body")


def _population(properties: dict[str, Any]) -> float | None:
    for name in priority.POPULATION_FIELDS:
        value = properties.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _score(
    hazards: list[str], near: list[dict[str, Any]], within_m: float
) -> tuple[float, dict[str, Any]]:
    hazard = {
        "value": priority.hazard_term(hazards),
        "from": [
            {
                "hazard": h,
                "weight": priority.HAZARD_WEIGHTS.get(h, priority.HAZARD_WEIGHTS["other"]),
            }
            for h in sorted(set(hazards))
        ],
    }
    people: list[dict[str, Any]] = []
    water: list[dict[str, Any]] = []
    for n in near:
        share = {"layer": n["layer"], "id": n["id"], "name": n["name"],
                 "distance_m": n["distance_m"]}  # fmt: skip
        if n["theme"] == "settlement":
            pop = _population(n["properties"])
            gives = priority.people_contribution(n["distance_m"], within_m, pop)
            people.append({**share, "population": pop, "gives": round(gives, 4)})
        else:
            gives = priority.water_contribution(n["distance_m"], within_m)
            water.append({**share, "theme": n["theme"], "gives": round(gives, 4)})
    terms = {
        "hazard": hazard,
        "people": {"value": round(sum(p["gives"] for p in people), 4), "from": people},
        "water": {"value": round(sum(w["gives"] for w in water), 4), "from": water},
    }
    score = round(sum(t["value"] for t in terms.values()), 4)
    return score, terms


def abandoned_priority(
    session: Session,
    layer: str,
    who: Principal,
    *,
    within_m: float = priority.DEFAULT_WITHIN_M,
    feature: int | None = None,
) -> dict[str, Any]:
    """Every abandoned mine of `layer` (or mine `feature`) with its priority score, class and
    terms, highest score first (ties by id)."""
    ref = checked_layer(session, layer, who, Kind.abandoned_mine, within_m)
    seen = Seen.of(session, ref, who)
    sources, near = nearby(session, seen, ref.id, who, _THEMES, within_m, feature)
    rows: list[dict[str, Any]] = []
    scores: dict[int, float] = {}
    for sid, name, props in sources:
        score, terms = _score(list(props.get("hazards") or []), near[sid], within_m)
        scores[sid] = score
        rows.append(
            {
                "id": sid,
                "name": name,
                **{k: v or [] for k, v in seen.carried(props, "hazards").items()},
                **seen.carried(
                    props,
                    "rehabilitation",
                    "responsible_party_known",
                    "rehabilitation_cost",
                    "rehabilitation_currency",
                ),
                "score": score,
                "class": priority.priority_class(score),
                "terms": terms,
            }
        )
    rows.sort(key=lambda r: (-scores[r["id"]], r["id"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {
        "layer": layer,
        "within_m": within_m,
        "weights": {
            "hazards": priority.HAZARD_WEIGHTS,
            "people": priority.PEOPLE_WEIGHT,
            "water": priority.WATER_WEIGHT,
        },
        "classes": [
            {"class": c, "from": s, "colour": col} for c, s, col in priority.PRIORITY_CLASSES
        ],
        "rows": rows,
    }
