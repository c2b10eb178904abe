"""What lies near each facility of a layer: settlements, rivers, water bodies and protected areas
(reference layers by theme) within a distance, in geodesic metres on WGS84; tailings exposure
and the abandoned-mine priority (analysis/abandoned.py) both read it.

Downstream first. A line river has no flow direction of its own; we take the digitising
direction as the flow (Natural Earth and HydroSHEDS rivers are digitised from source to mouth,
many others are not, so the answer says which river it used). For the river nearest the
facility we take its line part nearest the facility, locate the facility's closest point on it
(ST_LineLocatePoint, a fraction from the start) and every settlement's closest point on it:
a settlement within the distance of that river whose fraction is greater lies downstream.
Those are listed first, in order along the river (nearest downstream first); everything else
follows by distance. With no line river near, there is no downstream and all is by distance.

    >>> exposure(session, "tailings", who, within_m=10000)["facilities"][0]["counts"]
    {'settlement': 2, 'river': 1, 'protected_area': 0}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.common import Naming, layer_ref
from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.domain.kinds import Kind
from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.store.catalog import LayerRecord

TAILINGS_THEMES = ("settlement", "river", "protected_area")
MAX_WITHIN_M = 200_000.0
_LABEL = Naming("listed")  # the analyses' own label: display name, else name, nom, code...


def _name(alias: str) -> str:
    return f"COALESCE({_LABEL.label_sql(alias)}, {alias}.id::text)"


_NEAR = f"""
SELECT s.id, {_name("s")}, s.properties, l.theme, l.slug, t.id, {_name("t")},
       t.properties, ST_Distance(t.geom::geography, s.geom::geography) AS d
  FROM features s
  JOIN features t ON t.geom && geo_expand_m(s.geom, :m)
  JOIN layers l ON l.id = t.layer_id
 WHERE s.layer_id = :layer AND (CAST(:feature AS bigint) IS NULL OR s.id = :feature)
   AND l.kind = 'reference' AND l.theme = ANY(CAST(:themes AS text[])) AND {{visible}}
   AND ST_DWithin(t.geom::geography, s.geom::geography, :m)
 ORDER BY s.id, d, t.id
"""
_SOURCES = f"""
SELECT s.id, {_name("s")}, s.properties FROM features s
 WHERE s.layer_id = :layer AND (CAST(:feature AS bigint) IS NULL OR s.id = :feature)
 ORDER BY s.id
"""
# Fractions along the nearest line part of river :river, of the facility and each settlement.
_ALONG = """
WITH fac AS (SELECT geom FROM features WHERE id = :facility),
line AS (
  SELECT d.geom FROM features r, fac,
         LATERAL ST_Dump(ST_LineMerge(ST_CollectionExtract(r.geom, 2))) d
   WHERE r.id = :river
   ORDER BY ST_Distance(d.geom::geography, fac.geom::geography) LIMIT 1
)
SELECT NULL::bigint, ST_LineLocatePoint(line.geom, ST_ClosestPoint(line.geom, fac.geom)), 0.0
  FROM line, fac
UNION ALL
SELECT s.id, ST_LineLocatePoint(line.geom, ST_ClosestPoint(line.geom, s.geom)),
       ST_Distance(s.geom::geography, line.geom::geography)
  FROM features s, line WHERE s.id = ANY(CAST(:settlements AS bigint[]))
"""


def checked_layer(
    session: Session, layer: str, who: Principal, kind: Kind, within_m: float
) -> LayerRecord:
    """The layer named `layer`, if `who` may read it and it is of `kind`; InvalidInput for a
    distance out of (0, MAX_WITHIN_M]."""
    if not 0 < within_m <= MAX_WITHIN_M:
        raise InvalidInput(
            msg("exposure.within", within=within_m, max=MAX_WITHIN_M), where={"within_m": within_m}
        )
    ref = layer_ref(session, layer, who)
    if ref.kind != kind:
        raise InvalidInput(
            msg("exposure.not_kind", layer=layer, kind=ref.kind, needed=kind),
            where={"layer": layer},
        )
    return ref


def nearby(
    session: Session,
    layer_id: int,
    who: Principal,
    themes: tuple[str, ...],
    within_m: float,
    feature: int | None = None,
) -> tuple[list[tuple[int, str, dict[str, Any]]], dict[int, list[dict[str, Any]]]]:
    """The layer's features (id, name, properties) and, per feature id, what of `themes` lies
    within `within_m` metres, nearest first: [{theme, layer, id, name, properties, distance_m}]."""
    readable, access = visible(who, "l")
    params = {**access, "layer": layer_id, "feature": feature, "m": within_m,
              "themes": list(themes)}  # fmt: skip
    sources = [tuple(r) for r in session.execute(text(_SOURCES), params)]
    near: dict[int, list[dict[str, Any]]] = {sid: [] for sid, _n, _p in sources}
    for sid, _sn, _sp, theme, slug, tid, tname, tprops, d in session.execute(
        text(_NEAR.replace("{visible}", readable)), params
    ):
        near[sid].append(
            {"theme": theme, "layer": slug, "id": tid, "name": tname, "properties": tprops,
             "distance_m": round(float(d), 1)}
        )  # fmt: skip
    return sources, near  # type: ignore[return-value]


def _downstream(
    session: Session, facility: int, near: list[dict[str, Any]], within_m: float
) -> tuple[dict[str, Any] | None, dict[int, tuple[float, float]]]:
    """The river used for flow and, per downstream settlement, (fraction, metres to river)."""
    rivers = [n for n in near if n["theme"] == "river"]
    settlements = [n["id"] for n in near if n["theme"] == "settlement"]
    if not rivers:
        return None, {}
    river = rivers[0]
    rows = session.execute(
        text(_ALONG), {"facility": facility, "river": river["id"], "settlements": settlements}
    ).all()
    if not rows:  # a river layer of polygons: no line to follow
        return None, {}
    start = float(rows[0][1])
    below = {
        int(sid): (float(f), float(d))
        for sid, f, d in rows[1:]
        if float(f) > start and float(d) <= within_m
    }
    return {"id": river["id"], "name": river["name"], "layer": river["layer"],
            "distance_m": river["distance_m"]}, below  # fmt: skip


def exposure(
    session: Session,
    layer: str,
    who: Principal,
    *,
    within_m: float,
    feature: int | None = None,
) -> dict[str, Any]:
    """For each tailings facility of `layer` (or facility `feature`): the settlements, rivers and
    protected areas within `within_m` geodesic metres, counted per theme, downstream first."""
    ref = checked_layer(session, layer, who, Kind.tailings_facility, within_m)
    sources, near = nearby(session, ref.id, who, TAILINGS_THEMES, within_m, feature)
    facilities = []
    for sid, name, props in sources:
        found = near[sid]
        river, below = _downstream(session, sid, found, within_m)
        for n in found:
            n.pop("properties")
            n["downstream"] = n["id"] in below if n["theme"] == "settlement" and river else None
            if n["id"] in below:
                n["river_distance_m"] = round(below[n["id"]][1], 1)
        first = sorted((n for n in found if n["downstream"]), key=lambda n: below[n["id"]][0])
        rest = [n for n in found if not n["downstream"]]
        facilities.append(
            {
                "id": sid,
                "name": name,
                "consequence": props.get("consequence"),
                "classification_system": props.get("classification_system"),
                "counts": {t: sum(1 for n in found if n["theme"] == t) for t in TAILINGS_THEMES},
                "flow_river": river,
                "exposed": first + rest,
            }
        )
    return {"layer": layer, "within_m": within_m, "facilities": facilities}
