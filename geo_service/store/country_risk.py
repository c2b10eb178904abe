"""Country risk ratings, the countries they rate, regions of several countries, and the Kimberley
Process's diamond features, in SQL.

Countries are the features of reference layers of theme admin_boundary that the caller may read
(Natural Earth admin-0, or a country layer of one's own), known by their ISO 3166-1 alpha-3
code: ISO_A3, else ADM0_A3 (Natural Earth writes -99 as France's and Norway's ISO_A3), else an
`iso3` attribute, in upper or lower case as the file spells them. A feature lies in the country
it intersects, else (a coastal point off a generalised coast) the nearest one.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.domain.country_risk import KIMBERLEY_MINERALS, is_kimberley, pick_ratings
from geo_service.errors import NotFound
from geo_service.problems import msg

_CODES = ("ISO_A3", "iso_a3", "ADM0_A3", "adm0_a3", "iso3", "ISO3")
_NAMES = ("NAME", "name", "NAME_EN", "name_en")
_COUNTRIES = (
    """
SELECT DISTINCT ON (code) code, name, geom FROM (
  SELECT upper(coalesce("""
    + ", ".join(f"nullif(f.properties ->> '{k}', '-99')" for k in _CODES)
    + """)) AS code,
         coalesce("""
    + ", ".join(f"f.properties ->> '{k}'" for k in _NAMES)
    + """, f.name) AS name,
         f.geom, l.id AS layer_id, f.id AS feature_id
    FROM features f JOIN layers l ON l.id = f.layer_id
   WHERE l.kind = 'reference' AND l.theme = 'admin_boundary' AND {visible}
) c WHERE code ~ '^[A-Z]{{3}}$' ORDER BY code, layer_id, feature_id
"""
)
_UPSERT = """
INSERT INTO country_risk (iso3, country, mineral, stage, category, level, source, year)
VALUES (:iso3, :country, :mineral, :stage, :category, :level, :source, :year)
ON CONFLICT (iso3, coalesce(mineral, ''), coalesce(stage, ''), category)
DO UPDATE SET country = EXCLUDED.country, level = EXCLUDED.level, source = EXCLUDED.source,
              year = EXCLUDED.year, updated_at = now()
"""
_RATING_COLUMNS = "iso3, country, mineral, stage, category, level, source, year"
# A feature's minerals: its `minerals` list, or its one `mineral` (a trade route's).
_MINERALS = """
ARRAY(SELECT lower(m) FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof({a}.properties -> 'minerals') = 'array'
             THEN {a}.properties -> 'minerals' ELSE '[]'::jsonb END) m)
|| CASE WHEN {a}.properties ->> 'mineral' IS NULL THEN ARRAY[]::text[]
        ELSE ARRAY[lower({a}.properties ->> 'mineral')] END
"""


def _countries(who: Principal) -> tuple[str, dict[str, Any]]:
    readable, params = visible(who, "l")
    return _COUNTRIES.format(visible=readable), params


def import_ratings(session: Session, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Write checked rows (domain/country_risk.parse_csv), replacing the rating of the same
    country, mineral, stage and category; all in the caller's transaction."""
    session.execute(text(_UPSERT), rows)
    return {"imported": len(rows), "countries": sorted({r["iso3"] for r in rows})}


def list_ratings(
    session: Session,
    *,
    iso3: list[str] | None = None,
    mineral: str | None = None,
    stage: str | None = None,
    category: str | None = None,
) -> list[dict[str, Any]]:
    """Ratings by country, category, mineral and stage; a mineral or stage given keeps the rows
    for every mineral or stage too (they apply to it)."""
    sql = f"""
    SELECT {_RATING_COLUMNS} FROM country_risk
     WHERE (CAST(:iso3 AS text[]) IS NULL OR iso3 = ANY(CAST(:iso3 AS text[])))
       AND (CAST(:mineral AS text) IS NULL OR mineral IS NULL OR mineral = :mineral)
       AND (CAST(:stage AS text) IS NULL OR stage IS NULL OR stage = :stage)
       AND (CAST(:category AS text) IS NULL OR category = :category)
     ORDER BY iso3, category, mineral NULLS FIRST, stage NULLS FIRST
    """
    params = {"iso3": iso3, "mineral": mineral, "stage": stage, "category": category}
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def feature_context(session: Session, layer_id: int, feature_id: int, who: Principal) -> dict:
    """The country a feature lies in (intersecting, else nearest) with its ratings for the
    feature's minerals (the rows for every mineral where none names one of them), and whether
    the Kimberley Process covers it (diamonds)."""
    countries, params = _countries(who)
    sql = f"""
    WITH c AS ({countries}), f AS (
      SELECT f.geom, {_MINERALS.format(a="f")} AS minerals
        FROM features f WHERE f.layer_id = :layer AND f.id = :id)
    SELECT f.minerals, k.code, k.name, k.distance_m FROM f LEFT JOIN LATERAL (
      SELECT c.code, c.name,
             CASE WHEN ST_Intersects(c.geom, f.geom) THEN 0.0
                  ELSE ST_Distance(c.geom::geography, f.geom::geography) END AS distance_m
        FROM c ORDER BY ST_Intersects(c.geom, f.geom) DESC, c.geom <-> f.geom, c.code LIMIT 1
    ) k ON TRUE
    """
    row = session.execute(text(sql), {**params, "layer": layer_id, "id": feature_id}).one()
    minerals = list(row.minerals)
    country = None
    if row.code is not None:
        ratings = list_ratings(session, iso3=[row.code])
        country = {
            "iso3": row.code,
            "name": row.name,
            "distance_m": round(float(row.distance_m), 1),
            "ratings": pick_ratings(ratings, minerals),
        }
    return {"minerals": minerals, "kimberley_process": is_kimberley(minerals), "country": country}


def choropleth(
    session: Session,
    who: Principal,
    *,
    category: str,
    mineral: str | None = None,
    stage: str | None = None,
    members: list[str] | None = None,
) -> dict[str, Any]:
    """Countries as a GeoJSON FeatureCollection, each with the level of `category` for `mineral`
    and `stage` (the rating naming them, else the one for every mineral or stage; null when
    unrated)."""
    countries, params = _countries(who)
    sql = f"""
    WITH c AS ({countries})
    SELECT c.code, c.name, r.level, r.source, r.year, ST_AsGeoJSON(c.geom, 6) AS geometry
      FROM c LEFT JOIN LATERAL (
        SELECT level, source, year FROM country_risk
         WHERE iso3 = c.code AND category = :category
           AND (mineral IS NULL OR mineral = CAST(:mineral AS text))
           AND (stage IS NULL OR stage = CAST(:stage AS text))
         ORDER BY mineral NULLS LAST, stage NULLS LAST LIMIT 1) r ON TRUE
     WHERE CAST(:members AS text[]) IS NULL OR c.code = ANY(CAST(:members AS text[]))
     ORDER BY c.code
    """
    args = {**params, "category": category, "mineral": mineral, "stage": stage, "members": members}
    features = [
        {
            "type": "Feature",
            "id": r.code,
            "geometry": orjson.loads(r.geometry),
            "properties": {
                "iso3": r.code,
                "name": r.name,
                "level": r.level,
                "source": r.source,
                "year": r.year,
            },
        }  # fmt: skip
        for r in session.execute(text(sql), args)
    ]
    return {"type": "FeatureCollection", "features": features}


def list_regions(session: Session) -> list[dict[str, Any]]:
    sql = "SELECT code, name_en, name_fr, members FROM regions ORDER BY code"
    return [
        {**dict(r), "members": list(r["members"])} for r in session.execute(text(sql)).mappings()
    ]


def get_region(session: Session, code: str, who: Principal) -> dict[str, Any]:
    """A region with its members and its geometry: the union of its member countries."""
    found = session.execute(
        text("SELECT code, name_en, name_fr, members FROM regions WHERE code = :code"),
        {"code": code.upper()},
    ).mappings().first()  # fmt: skip
    if found is None:
        codes = ", ".join(r["code"] for r in list_regions(session))
        raise NotFound(msg("region.unknown", region=code, regions=codes), where={"region": code})
    region = {**dict(found), "members": list(found["members"])}
    countries, params = _countries(who)
    sql = f"""
    WITH c AS ({countries}) SELECT
      (SELECT json_agg(json_build_object('iso3', code, 'name', name) ORDER BY code)
         FROM c WHERE code = ANY(:members)) AS found,
      (SELECT ST_AsGeoJSON(ST_Multi(ST_Union(geom)), 6) FROM c WHERE code = ANY(:members)) AS g,
      (SELECT ST_AsGeoJSON(ST_Extent(geom)::geometry) FROM c WHERE code = ANY(:members)) AS box
    """
    row = session.execute(text(sql), {**params, "members": region["members"]}).one()
    found_members = row.found or []
    shown = {m["iso3"] for m in found_members}
    region["countries"] = found_members
    region["missing"] = [m for m in region["members"] if m not in shown]
    region["geometry"] = orjson.loads(row.g) if row.g else None
    region["bbox"] = _bbox(orjson.loads(row.box)) if row.box else None
    return region


def _bbox(polygon: dict[str, Any]) -> list[float]:
    xs = [p[0] for p in polygon["coordinates"][0]]
    ys = [p[1] for p in polygon["coordinates"][0]]
    return [min(xs), min(ys), max(xs), max(ys)]


def kimberley_features(session: Session, who: Principal, region: str | None = None) -> dict:
    """Features of readable domain layers whose minerals include diamonds (within `region`'s
    countries when given), each flagged `kimberley_process`, as a GeoJSON FeatureCollection."""
    readable, params = visible(who, "l")
    within = ""
    if region is not None:
        members = get_region(session, region, who)["members"]
        countries, cparams = _countries(who)
        params = {**params, **cparams, "members": members}
        within = f"""AND EXISTS (SELECT 1 FROM ({countries}) c
                     WHERE c.code = ANY(:members) AND ST_Intersects(c.geom, f.geom))"""
    sql = f"""
    SELECT f.id, l.slug, l.kind, f.name, ST_AsGeoJSON(f.geom, 6) AS geometry,
           {_MINERALS.format(a="f")} AS minerals
      FROM features f JOIN layers l ON l.id = f.layer_id
     WHERE l.kind <> 'reference' AND {readable}
       AND ({_MINERALS.format(a="f")}) && CAST(:kp AS text[]) {within}
     ORDER BY l.slug, f.id
    """
    rows = session.execute(text(sql), {**params, "kp": list(KIMBERLEY_MINERALS)})
    features = [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": orjson.loads(r.geometry),
            "properties": {
                "layer": r.slug,
                "kind": r.kind,
                "name": r.name,
                "minerals": list(r.minerals),
                "kimberley_process": True,
            },
        }  # fmt: skip
        for r in rows
    ]
    return {"type": "FeatureCollection", "features": features}


# What a region summary counts: readable features of these kinds in its countries.
SUMMARY_KINDS = {
    "mine_site": "sites",
    "concession": "titles",
    "tailings_facility": "tailings",
    "abandoned_mine": "abandoned_mines",
    "asm_zone": "zones",
    "trade_point": "trade_points",
    "trade_route": "routes",
}


def region_summary(session: Session, code: str, who: Principal) -> dict[str, Any]:
    """A region reported on as one: readable features of each kind intersecting its member
    countries, those flagged for the Kimberley Process, and each member's ratings."""
    region = get_region(session, code, who)
    readable, params = visible(who, "l")
    countries, cparams = _countries(who)
    sql = f"""
    WITH r AS (SELECT ST_Union(geom) AS g FROM ({countries}) c WHERE c.code = ANY(:members))
    SELECT l.kind, count(*) AS n,
           count(*) FILTER (WHERE ({_MINERALS.format(a="f")}) && CAST(:kp AS text[])) AS kp
      FROM features f JOIN layers l ON l.id = f.layer_id, r
     WHERE l.kind = ANY(:kinds) AND {readable} AND f.geom && r.g AND ST_Intersects(f.geom, r.g)
     GROUP BY l.kind
    """
    args = {**params, **cparams, "members": region["members"], "kinds": list(SUMMARY_KINDS),
            "kp": list(KIMBERLEY_MINERALS)}  # fmt: skip
    counts = {name: 0 for name in SUMMARY_KINDS.values()}
    kimberley = 0
    for row in session.execute(text(sql), args):
        counts[SUMMARY_KINDS[row.kind]] = row.n
        kimberley += row.kp
    ratings = list_ratings(session, iso3=region["members"])
    return {
        "code": region["code"],
        "name_en": region["name_en"],
        "name_fr": region["name_fr"],
        "members": region["members"],
        "missing": region["missing"],
        "counts": {**counts, "kimberley_process": kimberley},
        "risk": {m: [r for r in ratings if r["iso3"] == m] for m in region["members"]},
    }
