"""Nearest features: for each source feature its k nearest targets, in geodesic metres (WGS84).

Exact on the spheroid yet index-driven: a planar nearest-neighbour probe (`<->` on
`feature_pieces`) finds k candidate features, whose largest geodesic distance bounds the answer;
every piece within that bound (a degree box from `geo_expand_m`, then ST_DWithin on geography) is
then measured and ranked. Degrees of longitude and latitude differ in length, so the planar probe
alone could rank a farther feature first; the bound makes the result the true geodesic nearest.
Near ±180° the box and the probe also look across, so a target 2 km away on the far side of the
antimeridian is found (Fiji, the Aleutians, Chukotka).

Sensitive layers (store/sensitivity.py) are measured as the caller sees them: a side it sees
generalised takes part with its generalised geometries (grid points or admin areas), so targets
are ranked and `distance_m` measured from and to those, never the exact shapes (exact distances
from a few known points would triangulate a restricted site), and no line is drawn. A source
seen generalised probes from its generalised geometries, through the index of an exact target.
A target seen generalised has no pieces to probe: its features are generalised once and
scanned without the index (brute force, with the same bounds and ±180° looks; sensitive layers
are small). Exact layers on both sides read exactly as before.

    >>> nearest(session, "mine-sites", "rivers", within_m=5000)["rows"][0]
    {'source': {'id': 1, 'name': 'Kobada'}, 'target': {'id': 88, 'name': 'Niger'},
     'distance_m': 1432.7}
    >>> nearest(session, "mine-sites", "cadastre", target_label="Code",
    ...         target_fields="*")["rows"][0]["target"]
    {'id': 912, 'name': 'PE 2019/044', 'properties': {'Code': 'PE 2019/044', ...}}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.common import (
    Fields,
    Filter,
    Naming,
    geometry,
    layer_ref,
    naming_options,
    property_filter,
    seen_geometry,
)
from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput
from geo_service.problems import msg

# Farther than any two points on Earth: the bound when the probe finds fewer than k targets.
_EVERYWHERE_M = 2.1e7

# Only target pieces whose feature passes the target filter (a primary-key look-up per piece).
_TARGET = "EXISTS (SELECT FROM features f WHERE f.id = tp.feature_id AND {target_filter})"


def _probe(origin: str) -> str:
    """SQL for the k-th smallest geodesic distance (metres) to the features owning the `:probe`
    pieces planar-nearest to `origin`: any k features bound the true k-th nearest from above
    (NULL if fewer than k are found). A hair of slack (1 ppm + 1 cm) because ST_DWithin at
    exactly the k-th distance can miss the k-th feature by rounding.
    """
    return f"""(
      SELECT max(d) * 1.000001 + 0.01 FROM (
        SELECT min(ST_Distance(c.geom::geography, s.geog)) AS d FROM (
          SELECT tp.feature_id, tp.geom FROM {{target_pieces}} tp
           WHERE tp.layer_id = :tgt AND tp.feature_id <> s.id AND {_TARGET}
           ORDER BY tp.geom <-> {origin} LIMIT :probe
        ) c GROUP BY c.feature_id ORDER BY d LIMIT :k
      ) x HAVING count(*) >= :k)"""


# Degree boxes and planar probes end at ±180° while the spheroid goes on: a source at 179.99°E is
# 2 km from a target at 179.99°W. `dx` (∓360°) brings what lies beyond the source's side of ±180°
# back onto the map: the box shifted by `dx` finds the targets across (a second `&&`, which the
# index answers as a BitmapOr; a box that does not reach ±180° lands off the map and finds nothing
# at the cost of one index page), and when the first bound's box reaches past ±180° a second
# probe from the source shifted by `dx` tightens the bound. Geography distances need no help.
# OFFSET 0 keeps each bound computed once per source; flattened, the planner would copy the
# probes into every expression that uses the bound. `target_pieces` and `target_cte` come from
# Naming.pieces (the target as the caller sees it), `source_geom` from the source's mask.
_NEAREST = f"""
    WITH {{target_cte}} s AS (
      SELECT f.id, {{source_label}} AS name, {{source_properties}} AS props, f.geom,
             f.geom::geography AS geog,
             CASE WHEN ST_XMin(f.geom) + ST_XMax(f.geom) > 0 THEN -360.0 ELSE 360.0 END AS dx
        FROM (SELECT f.id, f.name, f.properties, {{source_geom}} AS geom FROM features f
               WHERE f.layer_id = :src AND {{source_filter}}) f
    )
    SELECT s.id, s.name, s.props, n.tid, {{target_label}}, {{target_properties}}, n.d,
           CASE WHEN :with_geometry THEN ST_AsGeoJSON(ST_WrapX(ST_WrapX((
             SELECT l FROM (VALUES (ST_ShortestLine(s.geom, tf.geom)),
                                   (ST_ShortestLine(s.geom, ST_Translate(tf.geom, -s.dx, 0)))) v(l)
              ORDER BY ST_Length(l) LIMIT 1), 180, -360), -180, 360), 7) END
      FROM s
     CROSS JOIN LATERAL (
       SELECT COALESCE(CAST(:within_m AS float8), {_probe("s.geom")}, :everywhere) AS m
       OFFSET 0
     ) r
     CROSS JOIN LATERAL (
       SELECT CASE WHEN CAST(:within_m AS float8) IS NULL
                    AND (ST_XMax(box) > 180 OR ST_XMin(box) < -180)
                   THEN least(r.m, {_probe("ST_Translate(s.geom, s.dx, 0)")})
                   ELSE r.m END AS m
         FROM geo_expand_m(s.geom, r.m) box
       OFFSET 0
     ) b
     CROSS JOIN LATERAL geo_expand_m(s.geom, b.m) box
     CROSS JOIN LATERAL (
       SELECT tp.feature_id AS tid, min(ST_Distance(tp.geom::geography, s.geog)) AS d
         FROM {{target_pieces}} tp
        WHERE tp.layer_id = :tgt AND tp.feature_id <> s.id AND {_TARGET}
          AND (tp.geom && box OR tp.geom && ST_Translate(box, s.dx, 0))
          AND ST_DWithin(tp.geom::geography, s.geog, b.m)
        GROUP BY tp.feature_id
        ORDER BY d, tp.feature_id
        LIMIT :k
     ) n
      JOIN features tf ON tf.id = n.tid
     ORDER BY s.id, n.d, n.tid
"""


def nearest(
    session: Session,
    source: str,
    target: str,
    within_m: float | None = None,
    k: int | None = 1,
    source_filter: Filter | None = None,
    target_filter: Filter | None = None,
    with_geometry: bool = False,
    source_label: str | None = None,
    target_label: str | None = None,
    source_fields: Fields = None,
    target_fields: Fields = None,
    *,
    who: Principal,
) -> dict[str, Any]:
    """For each source feature, its `k` nearest target features with `distance_m` (metres,
    geodesic, 0 when touching or inside); only those within `within_m` metres when given.
    `k=None` with `within_m` lists every target within the distance. Sides are named and carry
    attributes as in `overlap` (`source_label`, `target_fields`...). With `with_geometry`, each
    row carries the shortest line between the two as GeoJSON (none when the caller sees
    either side generalised: distances are then between the generalised geometries).
    """
    if k is not None and k < 1:
        raise InvalidInput(msg("proximity.k"), where={"k": k})
    if k is None and within_m is None:
        raise InvalidInput(msg("proximity.none"), where={"k": None, "within_m": None})
    if within_m is not None and within_m < 0:
        raise InvalidInput(msg("proximity.negative"), where={"within_m": within_m})
    src, tgt = layer_ref(session, source, who), layer_ref(session, target, who)
    s_name = Naming.of(session, src, "source", source_label, source_fields, who)
    t_name = Naming.of(session, tgt, "target", target_label, target_fields, who)
    s_sql, s_params = property_filter(
        source_filter, "f", "sf", s_name.mask.hidden, seen_geometry(s_name.mask)
    )
    t_sql, t_params = property_filter(
        target_filter, "f", "tf", t_name.mask.hidden, seen_geometry(t_name.mask)
    )
    target_cte, target_pieces = t_name.pieces("tgt")
    sql = _NEAREST.format(
        target_cte=target_cte,
        target_pieces=target_pieces,
        source_geom=s_name.mask.geometry("f.geom"),
        source_filter=s_sql,
        target_filter=t_sql,
        source_label=s_name.label_sql("f"),
        target_label=t_name.label_sql("tf"),
        source_properties=s_name.properties_sql("f"),
        target_properties=t_name.properties_sql("tf"),
    )
    result = session.execute(
        text(sql),
        {
            **s_params,
            **t_params,
            **s_name.params(),
            **t_name.params(),
            "src": src.id,
            "tgt": tgt.id,
            "within_m": within_m,
            "k": k,
            "probe": max(16, 8 * (k or 1)),
            "everywhere": _EVERYWHERE_M,
            "with_geometry": with_geometry and s_name.exact and t_name.exact,
        },
    )
    rows = []
    for sid, sname, sprops, tid, tname, tprops, distance, geojson in result:
        row: dict[str, Any] = {
            "source": s_name.ref(sid, sname, sprops),
            "target": t_name.ref(tid, tname, tprops),
            "distance_m": round(distance, 3),
        }
        if with_geometry:
            row["geometry"] = geometry(geojson)
        rows.append(row)
    return {"rows": rows, **naming_options(s_name, t_name, rows)}
