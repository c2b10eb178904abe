"""Overlap of two layers: every intersecting pair, in geodesic hectares (WGS84 spheroid).

Polygons are intersected piece by piece (`feature_pieces`: features of more than 256 vertices
subdivided, smaller ones whole): the pieces of one feature never overlap each other, so the intersections of one pair's pieces are disjoint
and their areas add up to the area of the pair's overlap without double counting. Point sources
give containment instead of areas; line sources have no area and are left to `proximity`.

Sensitive layers (store/sensitivity.py) overlap as the caller sees them: a side it sees
generalised takes part with its generalised geometries, each feature whole (a grid point or an
admin area), so areas, shares and containment are those of what it is shown, never of the
exact shapes. A grid point has no area: as a target it overlaps by 0 ha (a pair only when
`min_overlap_ha` is 0, with no `target_pct`), as a source it counts as a point (`inside`).
Such a side is read without the pieces' index (brute force over a small layer, Naming.pieces),
and no intersection is drawn.

    >>> overlap(session, "asm-zones", "concessions")["rows"][0]
    {'source': {'id': 3, 'name': 'Kaba'}, 'target': {'id': 17, 'name': 'PE 2019/044'},
     'overlap_ha': 12.5, 'source_pct': 25.0, 'target_pct': 1.2}
    >>> overlap(session, "asm-zones", "cadastre", target_label="Code",
    ...         target_fields=["Parties"])["rows"][0]["target"]
    {'id': 912, 'name': 'PE 2019/044', 'properties': {'Parties': 'SOMIKA'}}
"""

from __future__ import annotations

from collections.abc import Callable
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

Report = Callable[[float, str | None], None]
BATCH = 500  # source features per statement when progress is reported

_SOURCES = """
    SELECT f.id FROM features f
     WHERE f.layer_id = :src AND {source_filter}
     ORDER BY f.id
"""

# Polygon sources: pairs of pieces whose boxes meet (GiST on (layer_id, geom)), intersected,
# areas summed per pair on the spheroid. Feature areas are the sums of their pieces' geodesic
# areas (made valid, so an invalid stored polygon never gives a wrong denominator).
_AREAS = """
    WITH {source_cte} {target_cte} s AS (
      SELECT f.id, {source_label} AS name, {source_properties} AS props FROM features f
       WHERE f.layer_id = :src AND {source_filter}
         AND (CAST(:ids AS bigint[]) IS NULL OR f.id = ANY(CAST(:ids AS bigint[])))
    ), t AS (
      SELECT f.id, {target_label} AS name, {target_properties} AS props FROM features f
       WHERE f.layer_id = :tgt AND {target_filter}
    ), pieces AS (
      SELECT sp.feature_id AS sid, tp.feature_id AS tid,
             ST_CollectionExtract(ST_Intersection(sp.geom, tp.geom), 3) AS g
        FROM {source_pieces} sp
        JOIN {target_pieces} tp ON tp.layer_id = :tgt AND ST_Intersects(sp.geom, tp.geom)
       WHERE sp.layer_id = :src AND ST_Dimension(sp.geom) = 2
         AND sp.feature_id IN (SELECT id FROM s) AND tp.feature_id IN (SELECT id FROM t)
         AND sp.feature_id <> tp.feature_id
    ), pairs AS (
      SELECT sid, tid, sum(ST_Area(g::geography)) / 1e4 AS ha,
             CASE WHEN :with_geometry THEN ST_AsGeoJSON(ST_Union(g), 7) END AS geojson
        FROM pieces GROUP BY sid, tid
    )
    SELECT p.sid, s.name, s.props, p.tid, t.name, t.props, p.ha,
           (SELECT sum(x.area_m2) FROM {source_pieces} x WHERE x.feature_id = p.sid) / 1e4
             AS source_ha,
           (SELECT sum(x.area_m2) FROM {target_pieces} x WHERE x.feature_id = p.tid) / 1e4
             AS target_ha,
           p.geojson
      FROM pairs p JOIN s ON s.id = p.sid JOIN t ON t.id = p.tid
     WHERE p.ha >= :min_ha
     ORDER BY p.sid, p.tid
"""

# Point sources: which target contains each point (on its boundary counts as inside); a point
# in no target gets one row with `inside` false. A source seen at grid points is one.
_POINTS = """
    WITH {target_cte} s AS (
      SELECT f.id, {source_label} AS name, {source_properties} AS props, f.geom
        FROM (SELECT f.id, f.name, f.properties, {source_geom} AS geom FROM features f
               WHERE f.layer_id = :src AND {source_filter}) f
       WHERE ST_Dimension(f.geom) = 0
         AND (CAST(:ids AS bigint[]) IS NULL OR f.id = ANY(CAST(:ids AS bigint[])))
    ), t AS (
      SELECT f.id, {target_label} AS name, {target_properties} AS props FROM features f
       WHERE f.layer_id = :tgt AND {target_filter}
    )
    SELECT s.id, s.name, s.props, c.tid, t.name, t.props,
           CASE WHEN :with_geometry THEN ST_AsGeoJSON(s.geom, 7) END
      FROM s
      LEFT JOIN LATERAL (
        SELECT DISTINCT tp.feature_id AS tid FROM {target_pieces} tp
         WHERE tp.layer_id = :tgt AND ST_Intersects(tp.geom, s.geom) AND tp.feature_id <> s.id
           AND tp.feature_id IN (SELECT id FROM t)
      ) c ON TRUE
      LEFT JOIN t ON t.id = c.tid
     ORDER BY s.id, c.tid
"""


def _pct(part: float, whole: float | None) -> float | None:
    return round(100.0 * part / whole, 4) if whole else None


def overlap(
    session: Session,
    source: str,
    target: str,
    source_filter: Filter | None = None,
    target_filter: Filter | None = None,
    min_overlap_ha: float = 0.01,
    with_geometry: bool = False,
    report: Report | None = None,
    source_label: str | None = None,
    target_label: str | None = None,
    source_fields: Fields = None,
    target_fields: Fields = None,
    *,
    who: Principal,
) -> dict[str, Any]:
    """Every pair (source feature, target feature) that overlaps by at least `min_overlap_ha`.

    Rows carry `overlap_ha` (hectares, geodesic) and the share of each feature it covers in
    percent (`source_pct`, `target_pct`); point sources carry `inside` instead. Each side is
    `{"id", "name"}`: the feature's id and its `source_label`/`target_label` attribute (default:
    its display name, else the first of name/nom/NAME/Code/code...), with `properties` holding
    the `source_fields`/`target_fields` attributes (a list, or "*" for all) when asked; the
    result lists those in column order. With `with_geometry`, each row also has the
    intersection as a GeoJSON geometry (none when the caller sees either side generalised:
    figures are then of the generalised geometries). `report(progress, message)` is called
    between batches of source features (for jobs).
    """
    if min_overlap_ha < 0:
        raise InvalidInput(msg("overlap.negative"), where={"min_overlap_ha": 0})
    src, tgt = layer_ref(session, source, who), layer_ref(session, target, who)
    s_name = Naming.of(session, src, "source", source_label, source_fields, who)
    t_name = Naming.of(session, tgt, "target", target_label, target_fields, who)
    s_sql, s_params = property_filter(
        source_filter, "f", "sf", s_name.mask.hidden, seen_geometry(s_name.mask)
    )
    t_sql, t_params = property_filter(
        target_filter, "f", "tf", t_name.mask.hidden, seen_geometry(t_name.mask)
    )
    params = {
        **s_params,
        **t_params,
        **s_name.params(),
        **t_name.params(),
        "src": src.id,
        "tgt": tgt.id,
        "min_ha": min_overlap_ha,
        "with_geometry": with_geometry and s_name.exact and t_name.exact,
    }
    source_cte, source_pieces = s_name.pieces("src")
    target_cte, target_pieces = t_name.pieces("tgt")
    parts = {
        "source_cte": source_cte,
        "target_cte": target_cte,
        "source_pieces": source_pieces,
        "target_pieces": target_pieces,
        "source_geom": s_name.mask.geometry("f.geom"),
        "source_filter": s_sql,
        "target_filter": t_sql,
        "source_label": s_name.label_sql("f"),
        "target_label": t_name.label_sql("f"),
        "source_properties": s_name.properties_sql("f"),
        "target_properties": t_name.properties_sql("f"),
    }
    areas, points = text(_AREAS.format(**parts)), text(_POINTS.format(**parts))
    batches: list[list[int] | None] = [None]
    if report is not None:
        ids = list(session.scalars(text(_SOURCES.format(source_filter=s_sql)), params))
        batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)] or [[]]
    rows: list[dict[str, Any]] = []
    for done, batch in enumerate(batches):
        for sid, sname, sprops, tid, tname, tprops, ha, s_ha, t_ha, geojson in session.execute(
            areas, {**params, "ids": batch}
        ):
            row = {
                "source": s_name.ref(sid, sname, sprops),
                "target": t_name.ref(tid, tname, tprops),
                "overlap_ha": round(ha, 6),
                "source_pct": _pct(ha, s_ha),
                "target_pct": _pct(ha, t_ha),
            }
            if with_geometry:
                row["geometry"] = geometry(geojson)
            rows.append(row)
        found = session.execute(points, {**params, "ids": batch})
        for sid, sname, sprops, tid, tname, tprops, geojson in found:
            row = {
                "source": s_name.ref(sid, sname, sprops),
                "target": t_name.ref(tid, tname, tprops),
                "inside": tid is not None,
            }
            if with_geometry:
                row["geometry"] = geometry(geojson)
            rows.append(row)
        if report is not None:
            report((done + 1) / len(batches), f"{len(rows)} pairs so far")
    total = sum(r.get("overlap_ha", 0.0) for r in rows)
    return {
        "rows": rows,
        "total_overlap_ha": round(total, 6),
        **naming_options(s_name, t_name, rows),
    }
