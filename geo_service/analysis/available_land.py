"""Available land for ASM: a region minus what may not be mined, near what is worth mining.

The government guidance's first steps as one search: the region (a drawn polygon or a feature
of a layer) minus every excluded layer's features (titles, farmland, towns, protected areas...),
each grown by its buffer in geodesic metres (ST_Buffer on geography: PostGIS buffers each piece
in the planar projection that suits it, UTM or Lambert azimuthal, and brings it back), kept only
where it lies within `within_m` geodesic metres of a `near` feature (known deposits, mine sites),
cut into connected pieces (ST_Dump) of at least `min_area_ha` geodesic hectares
(ST_Area on geography / 10,000).

Minerals: when given, the `near` features are those whose `minerals` list holds one of them
(case aside): land near known deposits *of these minerals*. A search with minerals needs a
`near` layer; the minerals are carried in the answer, so a piece made into a draft zone takes
them.

Each piece says what was excluded next to it: per excluded layer, the features within their
buffer plus `nearby_m` (settings) of the piece, with their geodesic distance, nearest first.

Sensitive layers (store/sensitivity.py): an excluded or near layer the caller sees generalised
takes part with the geometries it sees (grid points or admin areas, grown by their buffer),
never the exact ones, whose outlines the pieces' holes and the listed distances would draw;
names it may not see are not listed, and a filter may not name a hidden attribute. A region
that is a feature the caller sees generalised is refused (InvalidInput): the pieces would
draw its shape. The areas are of what the caller sees.

    >>> found = available_land(session, {"layer": "regions", "id": 3}, who=OPERATOR,
    ...                        exclude=[{"layer": "concessions", "buffer_m": 500}])
    >>> found["features"][0]["properties"]["area_ha"]  # doctest: +SKIP
    1432.7
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service import jobs
from geo_service.analysis.common import Naming, layer_ref, property_filter, seen_geometry
from geo_service.analysis.export import to_csv
from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput, UnknownFeature
from geo_service.problems import msg
from geo_service.settings import get_settings
from geo_service.store.sensitivity import Mask, mask_for

# Most features listed per excluded layer and per piece (the nearest first).
MAX_LISTED = 20

_REGION_GEOJSON = """
SELECT ST_AsEWKB(ST_CollectionExtract(ST_MakeValid(
         ST_SetSRID(ST_GeomFromGeoJSON(:geojson), 4326)), 3))
"""
_REGION_FEATURE = """
SELECT ST_AsEWKB(ST_CollectionExtract(ST_MakeValid(geom), 3))
  FROM features WHERE layer_id = :layer AND id = :id
"""
_SIZE = """
SELECT coalesce(ST_Area(g::geography), 0) / 1e4 AS ha, ST_NPoints(g) AS vertices, ST_IsEmpty(g)
  FROM (SELECT ST_GeomFromEWKB(:g) AS g) r
"""
# The pieces of a layer's chosen features within `:m` of the area, each grown by `:m` metres.
_GROWN = """
SELECT ST_AsEWKB(ST_UnaryUnion(ST_Collect(
         CASE WHEN :m > 0 THEN ST_Buffer(fp.geom::geography, :m, 'quad_segs=16')::geometry
              ELSE fp.geom END)))
  FROM {pieces}
 CROSS JOIN (SELECT ST_GeomFromEWKB(:area) AS g) a
 WHERE {on_layer}
   AND fp.geom && geo_expand_m(a.g, :m)
   AND ST_DWithin(fp.geom::geography, a.g::geography, :m)
   AND ({filter})
"""
_MINERALS = """EXISTS (
  SELECT FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(f.properties -> 'minerals')
                                             = 'array' THEN f.properties -> 'minerals'
                                             ELSE '[]'::jsonb END) m
   WHERE lower(m) = ANY(CAST(:minerals AS text[])))"""
_DIFFERENCE = """
SELECT ST_AsEWKB(ST_CollectionExtract(ST_MakeValid(
         ST_Difference(ST_GeomFromEWKB(:area), ST_GeomFromEWKB(:cut))), 3))
"""
_INTERSECTION = """
SELECT ST_AsEWKB(ST_CollectionExtract(ST_MakeValid(
         ST_Intersection(ST_GeomFromEWKB(:area), ST_GeomFromEWKB(:near))), 3))
"""
_PIECES = """
SELECT ST_AsEWKB(d.geom) AS g, ST_AsGeoJSON(d.geom, 7) AS geojson,
       ST_Area(d.geom::geography) / 1e4 AS ha
  FROM ST_Dump(ST_GeomFromEWKB(:area)) d
 WHERE ST_Area(d.geom::geography) / 1e4 >= :min_ha
 ORDER BY ha DESC, ST_XMin(d.geom), ST_YMin(d.geom)
"""
# Per piece, the layer's chosen features within `:m` of it, nearest first.
_NEARBY = """
SELECT p.i, x.id, x.name, x.distance_m
  FROM unnest(CAST(:pieces AS bytea[])) WITH ORDINALITY p(g, i)
 CROSS JOIN LATERAL (
   SELECT f.id, {label} AS name, min(ST_Distance(fp.geom::geography,
                                                   ST_GeomFromEWKB(p.g)::geography)) AS distance_m
     FROM {pieces}
    WHERE {on_layer}
      AND fp.geom && geo_expand_m(ST_GeomFromEWKB(p.g), :m)
      AND ST_DWithin(fp.geom::geography, ST_GeomFromEWKB(p.g)::geography, :m)
      AND ({filter})
    GROUP BY f.id
    ORDER BY distance_m, f.id
    LIMIT :n
 ) x
 ORDER BY p.i, x.distance_m, x.id
"""


def _where(index: int | str, field: str) -> dict[str, Any]:
    return {"field": f"{index}.{field}" if isinstance(index, str) else f"exclude.{index}.{field}"}


def region_geometry(session: Session, region: dict[str, Any], who: Principal) -> bytes:
    """The region as EWKB (EPSG:4326, its polygons): a GeoJSON geometry, or {"layer", "id"}
    naming a feature `who` may read. InvalidInput when it holds no area."""
    if not isinstance(region, dict):
        raise InvalidInput(msg("land.region"), where={"field": "region"})
    if set(region) == {"layer", "id"}:
        layer = layer_ref(session, str(region["layer"]), who)
        found = session.scalar(text(_REGION_FEATURE), {"layer": layer.id, "id": region["id"]})
        if found is None:
            raise UnknownFeature(
                msg("feature.unknown", id=region["id"], layer=layer.slug),
                where={"field": "region", "layer": layer.slug, "id": region["id"]},
            )
        if mask_for(layer, who).grid_m is not None:
            raise InvalidInput(
                msg("sensitivity.generalised_area", id=region["id"], layer=layer.slug),
                where={"field": "region", "layer": layer.slug, "id": region["id"]},
            )
        geom = bytes(found)
    else:
        from geo_service.domain.geometry import check_geometry, parse_geojson

        checked = check_geometry(parse_geojson(region, where={"field": "region"}),
                                 where={"field": "region"})  # fmt: skip
        geojson = shapely.to_geojson(checked.geometry)
        geom = bytes(session.scalar(text(_REGION_GEOJSON), {"geojson": geojson}))
    ha, _, empty = session.execute(text(_SIZE), {"g": geom}).one()
    if empty or ha <= 0:
        raise InvalidInput(msg("land.no_area"), where={"field": "region"})
    return geom


def is_large(session: Session, region: dict[str, Any], who: Principal) -> bool:
    """Whether a search over `region` is long enough to run as a job (settings: its area in
    hectares or its number of vertices)."""
    ha, vertices, _ = session.execute(
        text(_SIZE), {"g": region_geometry(session, region, who)}
    ).one()
    zoning = get_settings().zoning
    return bool(ha > zoning.job_area_ha or vertices > zoning.job_vertices)


@dataclass(frozen=True)
class _Side:
    """An excluded or near layer: its features `f` (and their pieces `fp`, as the caller sees
    them) that meet `condition`, and the parameters of both."""

    layer: int
    slug: str
    condition: str
    params: dict[str, Any]
    mask: Mask

    def sql(self, template: str) -> str:
        """`template` on this side's features: the pieces of the exact geometries through the
        index, or each feature's generalised geometry when the caller sees it generalised."""
        if self.mask.grid_m is None:
            pieces = "feature_pieces fp JOIN features f ON f.id = fp.feature_id"
            on_layer = "fp.layer_id = :layer"
        else:
            shown = self.mask.geometry("f.geom")
            pieces = f"features f CROSS JOIN LATERAL (SELECT {shown} AS geom) fp"
            on_layer = "f.layer_id = :layer"
        parts = {
            "{pieces}": pieces,
            "{on_layer}": on_layer,
            "{filter}": self.condition,
            "{label}": Naming("listed", mask=self.mask).label_sql("f"),
        }
        for key, value in parts.items():
            template = template.replace(key, value)
        return template

    def bound(self, **more: Any) -> dict[str, Any]:
        return {**self.params, **self.mask.params(), "layer": self.layer, **more}


def _side(
    session: Session, spec: dict[str, Any], who: Principal, prefix: str, minerals: list[str]
) -> _Side:
    """An excluded or near layer, as `who` sees it (a filter may not name a hidden attribute,
    and the minerals of a layer that hides them match nothing)."""
    layer = layer_ref(session, spec["layer"], who)
    mask = mask_for(layer, who, f"{prefix}_m")
    condition, params = property_filter(
        spec.get("filter"), "f", prefix, mask.hidden, seen_geometry(mask)
    )
    if minerals:
        condition = f"({condition}) AND {'FALSE' if 'minerals' in mask.hidden else _MINERALS}"
        params = {**params, "minerals": minerals}
    return _Side(layer.id, layer.slug, condition, params, mask)


def _grown(session: Session, area: bytes, side: _Side, m: float) -> bytes | None:
    found = session.scalar(text(side.sql(_GROWN)), side.bound(area=area, m=m))
    return None if found is None else bytes(found)


def _nearby(
    session: Session, pieces: list[bytes], side: _Side, m: float
) -> dict[int, list[dict[str, Any]]]:
    """Per piece number (1-based), the chosen features within `m` metres, nearest first."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not pieces:
        return out
    rows = session.execute(text(side.sql(_NEARBY)), side.bound(pieces=pieces, m=m, n=MAX_LISTED))
    for i, feature_id, name, distance in rows:
        out.setdefault(int(i), []).append(
            {"id": feature_id, "name": name, "distance_m": round(float(distance), 2)}
        )
    return out


def available_land(
    session: Session,
    region: dict[str, Any],
    *,
    who: Principal,
    minerals: list[str] | None = None,
    exclude: list[dict[str, Any]] | None = None,
    near: dict[str, Any] | None = None,
    min_area_ha: float = 0.0,
    report: jobs.Report | None = None,
) -> dict[str, Any]:
    """The available pieces of `region` as a GeoJSON FeatureCollection (see the module).

    `exclude`: [{"layer", "buffer_m"?, "filter"?}], `near`: {"layer", "within_m", "filter"?};
    filters are CQL2 text or JSON, or {property: value} equalities, as every analysis takes
    them. Each piece: `piece` (1 is the largest), `area_ha`, `excluded_nearby` {layer: [{id,
    name, distance_m}]} and `near` [{id, name, distance_m}]. The collection also says the
    region's area, the pieces' total and the options used."""
    wanted = sorted({m.strip().lower() for m in minerals or [] if m.strip()})
    if wanted and near is None:
        raise InvalidInput(msg("land.minerals_need_near"), where={"field": "minerals"})
    if min_area_ha < 0:
        raise InvalidInput(
            msg("land.negative", field="min_area_ha"), where={"field": "min_area_ha"}
        )
    steps = len(exclude or []) + (2 if near else 0) + 3
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if report is not None:
            report(done / steps, what)

    area = region_geometry(session, region, who)
    region_ha = float(session.execute(text(_SIZE), {"g": area}).one()[0])
    step("region")
    nearby_m = get_settings().zoning.nearby_m
    sides = []
    for i, spec in enumerate(exclude or []):
        buffer_m = float(spec.get("buffer_m") or 0.0)
        if buffer_m < 0:
            raise InvalidInput(msg("land.negative", field="buffer_m"), where=_where(i, "buffer_m"))
        sides.append((_side(session, spec, who, f"e{i}", []), buffer_m))
    near_side = None
    if near is not None:
        within_m = float(near["within_m"])
        if within_m < 0:
            raise InvalidInput(
                msg("land.negative", field="within_m"), where=_where("near", "within_m")
            )
        near_side = (_side(session, near, who, "n", wanted), within_m)

    free: bytes | None = area
    for side, buffer_m in sides:
        cut = _grown(session, area if free is None else free, side, buffer_m)
        if cut is not None and free is not None:
            free = bytes(session.scalar(text(_DIFFERENCE), {"area": free, "cut": cut}))
        step(f"exclude {side.slug}")
    if near_side is not None and free is not None:
        reach = _grown(session, free, *near_side)
        step("near")
        free = (
            None
            if reach is None
            else bytes(session.scalar(text(_INTERSECTION), {"area": free, "near": reach}))
        )
        step("within reach")
    pieces = (
        []
        if free is None
        else session.execute(text(_PIECES), {"area": free, "min_ha": min_area_ha}).all()
    )
    step("pieces")
    blobs = [bytes(p.g) for p in pieces]
    listed = {
        side.slug: _nearby(session, blobs, side, buffer_m + nearby_m) for side, buffer_m in sides
    }
    reached = _nearby(session, blobs, *near_side) if near_side is not None else {}
    step("nearby")
    features = [
        {
            "type": "Feature",
            "geometry": orjson.loads(piece.geojson),
            "properties": {
                "piece": i,
                "area_ha": round(float(piece.ha), 4),
                "excluded_nearby": {slug: by_piece.get(i, []) for slug, by_piece in listed.items()},
                "near": reached.get(i, []) if near_side is not None else None,
            },
        }
        for i, piece in enumerate(pieces, start=1)
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "region_area_ha": round(region_ha, 4),
        "available_area_ha": round(sum(f["properties"]["area_ha"] for f in features), 4),
        "minerals": wanted,
        "options": {
            "exclude": [{"layer": side.slug, "buffer_m": m} for side, m in sides],
            "near": None
            if near_side is None
            else {"layer": near_side[0].slug, "within_m": near_side[1]},
            "min_area_ha": min_area_ha,
            "nearby_m": nearby_m,
        },
    }


def _said(listed: list[dict[str, Any]]) -> str:
    return "; ".join(f"{x['name'] or x['id']} ({x['id']}) {x['distance_m']:g} m" for x in listed)


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per piece: the CSV's and the GeoPackage's columns."""
    rows = []
    for feature in result["features"]:
        props = feature["properties"]
        row: dict[str, Any] = {"piece": props["piece"], "area_ha": props["area_ha"]}
        for slug, listed in props["excluded_nearby"].items():
            row[f"excluded.{slug}"] = _said(listed)
        if props["near"] is not None:
            row["near"] = _said(props["near"])
        rows.append(row)
    return rows


def as_csv(result: dict[str, Any]) -> str:
    """The pieces as CSV (with the byte-order mark Excel needs, see analysis/export.py)."""
    return to_csv({"rows": _rows(result)}, bom=True)


def as_gpkg(result: dict[str, Any]) -> bytes:
    """The pieces as a GeoPackage holding one layer, `available_land` (EPSG:4326)."""
    import geopandas as gpd  # half a second to import (pyogrio imports it too): only here
    import pyogrio

    geometries = [shapely.geometry.shape(f["geometry"]) for f in result["features"]]
    rows = _rows(result)
    frame = gpd.GeoDataFrame(
        rows or {"piece": [], "area_ha": []}, geometry=geometries, crs="EPSG:4326"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "available-land.gpkg"
        pyogrio.write_dataframe(
            frame, path, layer="available_land", driver="GPKG", geometry_type="MultiPolygon",
            promote_to_multi=True,
        )  # fmt: skip
        return path.read_bytes()
