"""Zone screening: a drawn or saved ASM zone against every layer that matters, with rules.

One SQL statement finds, through the subdivided pieces and the GiST index, every feature of
every relevant layer (chosen by kind, or by theme for reference layers) that overlaps the zone or
lies within a search radius of it, with geodesic overlap in hectares and distance in metres.
Python then groups the conflicts by category and applies the rules, each giving pass, warn or
fail with a stable code and its parameters, written out as a reason in English or French
(messages.py). It is cheap enough to run while a planner draws.

Sensitive layers (store/sensitivity.py) are screened as the caller sees them: a layer it sees
generalised takes part with its generalised geometries (grid points or admin areas), so every
overlap, distance, intersection and verdict is computed on those, never on the exact shapes
(a zone drawn and moved about would otherwise find a restricted site by its verdicts); names
and attributes it may not see are left out of the conflicts. A saved zone the caller sees
generalised cannot be screened (InvalidInput): the answer would give its area and shape.

    >>> screen(session, {"type": "Polygon", "coordinates": [...]})["verdict"]
    'warn'
"""

from __future__ import annotations

from typing import Any

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.common import check_exact_area, geometry
from geo_service.analysis.messages import Lang, check_lang, reason
from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.domain.geometry import check_geometry, parse_geojson
from geo_service.domain.registry import screening_case_sql
from geo_service.domain.sensitivity import clearance
from geo_service.errors import InvalidGeometry, InvalidInput, UnknownFeature
from geo_service.problems import joined, msg, pydantic_message
from geo_service.settings import get_settings
from geo_service.store.sensitivity import (
    generalised,
    generalised_layers,
    hidden_of_layers,
    of_layers,
)

# Overlaps smaller than this (1 m²) are shared edges and rounding, not conflicts.
_SLIVER_HA = 1e-4
_ORDER = {"pass": 0, "warn": 1, "fail": 2}
CATEGORIES = (
    "concessions",
    "protected_areas",
    "asm_zones",
    "tailings",
    "abandoned_mines",
    "mine_sites",
    "rivers",
    "settlements",
)
# Categories that are conflicts only when they overlap the zone by more than a sliver.
_OVERLAPPING_ONLY = {"concessions", "asm_zones"}


class Rules(BaseModel):
    """Screening rules; defaults come from ScreeningSettings (env GEO_SERVICE_SCREEN_*).

    A distance rule fails within its distance and warns within twice that distance.
    """

    model_config = ConfigDict(extra="forbid")

    max_area_ha: float = Field(gt=0, description="Largest acceptable zone, hectares.")
    protected_area_distance_m: float = Field(ge=0, description="Metres to any protected area.")
    river_distance_m: float = Field(ge=0, description="Metres to any river or water body.")
    settlement_distance_m: float = Field(ge=0, description="Metres to any settlement.")
    hazard_distance_m: float = Field(
        ge=0, description="Metres within which tailings and abandoned mines are reported."
    )
    exploitation_title_types: list[str] = Field(
        default_factory=lambda: ["exploitation", "small_scale_exploitation"],
        description="Title types a zone must never overlap while active.",
    )
    active_title_statuses: list[str] = Field(
        default_factory=lambda: ["active", "renewal", "force_majeure"],
        description="Title statuses that count as active.",
    )


def rules_with(overrides: dict[str, Any] | None) -> Rules:
    """The default rules with `overrides` applied; InvalidInput names any bad rule."""
    defaults = get_settings().screening.model_dump()
    try:
        return Rules.model_validate({**defaults, **(overrides or {})})
    except ValidationError as exc:
        problems = [
            {"where": ".".join(str(p) for p in e["loc"]), "message": pydantic_message(e)}
            for e in exc.errors(include_url=False)
        ]
        detail = joined(
            msg("validation.at", where=p["where"], message=p["message"]) for p in problems
        )
        raise InvalidInput(
            msg("screen.rules", detail=detail), where="rules", errors=problems
        ) from None


_SCREEN = """
    WITH z AS (
      -- dx: the shift that brings the far side of the antimeridian next to the zone, so a box
      -- reaching past ±180 also finds, through the index, what lies just across it.
      SELECT g, g::geography AS geog,
             CASE WHEN ST_XMin(g) + ST_XMax(g) > 0 THEN -360.0 ELSE 360.0 END AS dx FROM (
        SELECT ST_CollectionExtract(ST_MakeValid(
                 CASE WHEN CAST(:zone_id AS bigint) IS NULL
                      THEN ST_SetSRID(ST_GeomFromGeoJSON(CAST(:geojson AS text)), 4326)
                      ELSE (SELECT f.geom FROM features f JOIN layers l ON l.id = f.layer_id
                             WHERE f.id = CAST(:zone_id AS bigint) AND {visible}) END
               ), 3) AS g) x
       WHERE g IS NOT NULL
    ), cat AS (
      SELECT * FROM unnest(CAST(:categories AS text[]), CAST(:radii AS float8[]))
               AS c(category, radius_m)
    ), lyr AS (
      SELECT l.id, l.slug, c.category, c.radius_m
        FROM layers l JOIN cat c ON c.category = {category}
       WHERE l.storage = 'vector' AND {visible}
    ), piece AS (
      SELECT lyr.slug, lyr.category, lyr.radius_m, fp.feature_id, fp.geom,
             ST_Intersects(fp.geom, z.g) AS meets
        FROM lyr, z, feature_pieces fp
       WHERE fp.layer_id = lyr.id AND lyr.id <> ALL(CAST(:below AS bigint[]))
         AND (fp.geom && geo_expand_m(z.g, lyr.radius_m)
              OR fp.geom && ST_Translate(geo_expand_m(z.g, lyr.radius_m), z.dx, 0))
         AND fp.feature_id IS DISTINCT FROM CAST(:exclude_id AS bigint)
      UNION ALL
      -- The layers the caller sees generalised: their features where it sees them.
      SELECT lyr.slug, lyr.category, lyr.radius_m, f.id, s.geom, ST_Intersects(s.geom, z.g)
        FROM lyr JOIN layers l ON l.id = lyr.id CROSS JOIN z
        JOIN features f ON f.layer_id = lyr.id
       CROSS JOIN LATERAL (SELECT {shown} AS geom) s
       WHERE lyr.id = ANY(CAST(:below AS bigint[]))
         AND (s.geom && geo_expand_m(z.g, lyr.radius_m)
              OR s.geom && ST_Translate(geo_expand_m(z.g, lyr.radius_m), z.dx, 0))
         AND f.id IS DISTINCT FROM CAST(:exclude_id AS bigint)
    ), near AS (
      SELECT p.slug, p.category, p.feature_id,
             min(CASE WHEN p.meets THEN 0 ELSE ST_Distance(p.geom::geography, z.geog) END) AS d,
             sum(CASE WHEN p.meets AND ST_Dimension(p.geom) = 2 THEN ST_Area(
                   ST_CollectionExtract(ST_Intersection(p.geom, z.g), 3)::geography) ELSE 0 END
                 ) / 1e4 AS ha,
             CASE WHEN :with_geometry THEN ST_AsGeoJSON(ST_Union(
               CASE WHEN p.meets AND ST_Dimension(p.geom) = 2
                    THEN ST_CollectionExtract(ST_Intersection(p.geom, z.g), 3) END), 7) END AS gj
        FROM piece p, z
       WHERE p.meets OR (p.radius_m > 0 AND ST_DWithin(p.geom::geography, z.geog, p.radius_m))
       GROUP BY p.slug, p.category, p.feature_id
    )
    SELECT 'zone' AS category, NULL AS slug, NULL::bigint AS id, NULL AS name,
           NULL::jsonb AS properties, ST_Area(z.geog) / 1e4 AS ha, NULL::float8 AS d,
           CASE WHEN :with_geometry THEN ST_AsGeoJSON(z.g, 7) END AS gj,
           NULL::text[] AS hidden
      FROM z
    UNION ALL
    SELECT n.category, n.slug, f.id, {name}, {properties}, n.ha, n.d, n.gj, {hidden}
      FROM near n JOIN features f ON f.id = n.feature_id JOIN layers l ON l.id = f.layer_id
"""


def _zone_geojson(zone: dict[str, Any]) -> str:
    """The drawn zone checked (repaired if invalid) and refused unless it is a polygon."""
    checked = check_geometry(parse_geojson(zone, where="geometry"), where="geometry")
    if checked.geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(
            msg("screen.polygon", type=checked.geometry.geom_type), where="geometry"
        )
    return shapely.to_geojson(checked.geometry)


def _radii(rules: Rules) -> dict[str, float]:
    """How far to look for each category, metres (0 = overlapping or inside only)."""
    return {
        "concessions": 0.0,
        "protected_areas": 2 * rules.protected_area_distance_m,
        "asm_zones": 0.0,
        "tailings": rules.hazard_distance_m,
        "abandoned_mines": rules.hazard_distance_m,
        "mine_sites": 0.0,
        "rivers": 2 * rules.river_distance_m,
        "settlements": 2 * rules.settlement_distance_m,
    }


def _sql(readable: str) -> str:
    """The screening SQL for a caller who may read the layers `readable` (SQL) and is cleared
    to `:level`: every layer's features as it sees them (store/sensitivity.py)."""
    _, properties, name = of_layers("f.geom", "f.properties", "f.name", "l", ":level")
    shown = generalised("f.geom", "CAST(l.generalise_m AS float8)", "l.generalise = 'admin'")
    parts = {
        "{visible}": readable,
        "{category}": screening_case_sql("l"),
        "{shown}": shown,
        "{name}": f"{name} AS name",
        "{properties}": f"{properties} AS properties",
        "{hidden}": f"{hidden_of_layers('l', ':level')} AS hidden",
    }
    sql = _SCREEN
    for key, value in parts.items():
        sql = sql.replace(key, value)
    return sql


def _conflict(category: str, row: Any, zone_ha: float, with_geometry: bool) -> dict[str, Any]:
    props = row.properties or {}
    hidden = set(row.hidden or ())

    def carried(*keys: str) -> dict[str, Any]:
        """The feature's attributes `keys`, those the caller may not see left out."""
        return {k: props.get(k) for k in keys if k not in hidden}

    item: dict[str, Any] = {"layer": row.slug, "id": row.id, "name": row.name}
    overlap = {
        "overlap_ha": round(row.ha, 6),
        "overlap_pct": round(100.0 * row.ha / zone_ha, 4) if zone_ha else None,
    }
    shape = {"geometry": geometry(row.gj) if row.ha > _SLIVER_HA else None}
    distance = {"distance_m": round(row.d, 3)}
    if category == "concessions":
        item |= carried("code", "holder", "title_type", "status")
        item |= overlap | (shape if with_geometry else {})
    elif category == "protected_areas":
        item |= overlap | distance | (shape if with_geometry else {})
    elif category == "asm_zones":
        item |= carried("code", "status")
        item |= overlap | (shape if with_geometry else {})
    elif category == "tailings":
        item |= distance | carried("consequence")
    elif category == "abandoned_mines":
        item |= distance | {k: v or [] for k, v in carried("hazards").items()}
    elif category == "mine_sites":
        item |= carried("code", "qualification")
    else:
        item |= distance
    return item


def _rule(rule_id: str, verdict: str, code: str, **params: Any) -> dict[str, Any]:
    """A rule result: its verdict, a stable `code` with the `params` that fill its message
    (geo_service/analysis/messages.py); `reason` is added in the asked language."""
    return {"id": rule_id, "verdict": verdict, "code": code, "params": params}


def _distance_rule(
    rule_id: str, subject: str, found: list[dict[str, Any]], limit_m: float
) -> dict[str, Any]:
    """Fail on contact or within `limit_m` metres, warn within twice that, pass otherwise;
    codes `<subject>_clear|touches|too_close|near`."""
    if not found:
        return _rule(rule_id, "pass", f"{subject}_clear", within_m=2 * limit_m)
    closest = min(found, key=lambda c: c["distance_m"])
    feature = {"id": closest["id"], "name": closest["name"] or f"#{closest['id']}"}
    d = closest["distance_m"]
    if d == 0:
        return _rule(rule_id, "fail", f"{subject}_touches", **feature)
    verdict, code = ("fail", "too_close") if d < limit_m else ("warn", "near")
    return _rule(rule_id, verdict, f"{subject}_{code}", **feature, distance_m=d, limit_m=limit_m)


def _title_rule(concessions: list[dict[str, Any]], rules: Rules) -> dict[str, Any]:
    active = [c for c in concessions if c.get("status") in rules.active_title_statuses]
    exploitation = [c for c in active if c.get("title_type") in rules.exploitation_title_types]
    others = [
        c for c in concessions if c.get("status") in (*rules.active_title_statuses, "application")
    ]
    for verdict, code, titles in (
        ("fail", "exploitation_title_overlap", exploitation),
        ("warn", "other_title_overlap", others),
    ):
        if titles:
            names = ", ".join(str(c.get("code") or c["name"] or c["id"]) for c in titles)
            return _rule(
                "active_exploitation_titles", verdict, code, count=len(titles), titles=names
            )
    return _rule("active_exploitation_titles", "pass", "titles_clear")


def _apply(rules: Rules, area_ha: float, conflicts: dict[str, list[dict[str, Any]]]) -> list:
    hazards = conflicts["tailings"] + conflicts["abandoned_mines"]
    zones = conflicts["asm_zones"]
    within_m = rules.hazard_distance_m
    area_ok = area_ha <= rules.max_area_ha
    return [
        _rule(
            "max_area",
            "pass" if area_ok else "fail",
            "area_within_max" if area_ok else "area_over_max",
            area_ha=round(area_ha, 6),
            max_ha=rules.max_area_ha,
        ),
        _title_rule(conflicts["concessions"], rules),
        _distance_rule(
            "protected_areas",
            "protected_area",
            conflicts["protected_areas"],
            rules.protected_area_distance_m,
        ),
        _distance_rule("rivers", "river", conflicts["rivers"], rules.river_distance_m),
        _distance_rule(
            "settlements", "settlement", conflicts["settlements"], rules.settlement_distance_m
        ),
        _rule("asm_zones", "warn", "asm_zones_overlap", count=len(zones))
        if zones
        else _rule("asm_zones", "pass", "asm_zones_clear"),
        _rule("hazards", "warn", "hazards_near", count=len(hazards), within_m=within_m)
        if hazards
        else _rule("hazards", "pass", "hazards_clear", within_m=within_m),
    ]


def with_reasons(rules: list[dict[str, Any]], lang: Lang) -> list[dict[str, Any]]:
    """Each rule result with its `reason` written in `lang` from its code and parameters."""
    return [rule | {"reason": reason(rule["code"], rule["params"], lang)} for rule in rules]


def screen(
    session: Session,
    zone: dict[str, Any] | None = None,
    *,
    who: Principal,
    zone_id: int | None = None,
    rules: dict[str, Any] | None = None,
    exclude_id: int | None = None,
    with_geometry: bool = True,
    lang: str = "en",
    exact_geometries: bool = False,
) -> dict[str, Any]:
    """Screen a drawn zone (GeoJSON geometry, EPSG:4326) or a saved one (`zone_id`, which is
    then left out of its own conflicts). Returns `area_ha` (hectares, geodesic), the overall
    `verdict`, one result per rule (`id`, `verdict`, a stable `code` with its `params` in
    hectares and metres, and the `reason` in `lang`, en or fr), and the conflicts by category;
    each `overlap_pct` is the share of the screened zone's area, `distance_m` geodesic metres.
    With `with_geometry`, overlaps carry their intersection and `geometry` is the zone.
    Only layers `who` may read take part, and only a zone it may read can be screened.
    `exact_geometries` (the zone lifecycle's safeguards): sensitive layers take part with their
    exact shapes whatever `who` is cleared for, so that no move passes a conflict its mover
    cannot see; names and attributes stay masked.
    """
    checked_lang = check_lang(lang)
    if (zone is None) == (zone_id is None):
        raise InvalidInput(msg("screen.either"), where="geometry")
    checked_rules = rules_with(rules)
    radii = _radii(checked_rules)
    if zone_id is not None:
        check_exact_area(session, zone_id, who, where={"zone_id": zone_id})
    readable, access = visible(who, "l")
    result = session.execute(
        text(_sql(readable)),
        {
            **access,
            "level": clearance(who).value,
            "below": [] if exact_geometries else generalised_layers(session, who),
            "zone_id": zone_id,
            "geojson": None if zone is None else _zone_geojson(zone),
            "exclude_id": exclude_id if exclude_id is not None else zone_id,
            "categories": list(radii),
            "radii": list(radii.values()),
            "with_geometry": with_geometry,
        },
    ).all()
    zone_row = next((r for r in result if r.category == "zone"), None)
    if zone_row is None or zone_row.ha is None:
        raise UnknownFeature(msg("screen.unknown", id=zone_id), where={"zone_id": zone_id})
    if zone_row.ha <= 0:
        raise InvalidGeometry(msg("screen.no_area"), where="geometry")
    area_ha = zone_row.ha
    conflicts: dict[str, list[dict[str, Any]]] = {c: [] for c in CATEGORIES}
    for row in result:
        if row.category == "zone":
            continue
        if row.category in _OVERLAPPING_ONLY and row.ha <= _SLIVER_HA:
            continue
        conflicts[row.category].append(_conflict(row.category, row, area_ha, with_geometry))
    for items in conflicts.values():
        items.sort(key=lambda c: (c.get("distance_m", 0.0), -c.get("overlap_ha", 0.0), c["id"]))
    verdicts = with_reasons(_apply(checked_rules, area_ha, conflicts), checked_lang)
    overall = max((r["verdict"] for r in verdicts), key=_ORDER.__getitem__)
    answer = {
        "area_ha": round(area_ha, 6),
        "verdict": overall,
        "rules": verdicts,
        "conflicts": conflicts,
    }
    if with_geometry:
        answer["geometry"] = geometry(zone_row.gj)
    return answer
