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

Sensitive layers (store/sensitivity.py): every distance, the flow and what is downstream are
measured between the geometries the caller sees (a facility or a settlement of a layer it sees
generalised, at its grid point or admin area; a river seen as a point has no line to follow),
so that no distance points at an exact location; names and attributes it may not see are left
out (and count for nothing in abandoned.py's score). Counts per theme are of what it sees.

    >>> exposure(session, "tailings", who, within_m=10000)["facilities"][0]["counts"]
    {'settlement': 2, 'river': 1, 'protected_area': 0}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.common import Naming, label_sql, layer_ref
from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.domain.kinds import Kind
from geo_service.domain.sensitivity import clearance
from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.store.catalog import LayerRecord
from geo_service.store.sensitivity import Mask, generalised_layers, mask_for, of_layers

TAILINGS_THEMES = ("settlement", "river", "protected_area")
MAX_WITHIN_M = 200_000.0

# A target (a feature of a reference layer `l`) as the caller, cleared to :level, sees it.
_T_GEOM, _T_PROPS, _T_NAME = of_layers("t.geom", "t.properties", "t.name", "l", ":level")

# Targets near each source: those of exact layers through the index, every feature of a layer
# the caller sees generalised (:below) measured where the caller sees it.
_NEAR = f"""
WITH s AS (
  SELECT s.id, {{source_geom}} AS geom FROM features s
   WHERE s.layer_id = :layer AND (CAST(:feature AS bigint) IS NULL OR s.id = :feature)
)
SELECT s.id, l.theme, l.slug, t.id,
       COALESCE({label_sql(_T_NAME, _T_PROPS)}, t.id::text), {_T_PROPS},
       ST_Distance(tg.geom::geography, s.geom::geography) AS d
  FROM s
  JOIN features t ON (t.geom && geo_expand_m(s.geom, :m)
                      OR t.layer_id = ANY(CAST(:below AS bigint[])))
  JOIN layers l ON l.id = t.layer_id
 CROSS JOIN LATERAL (SELECT {_T_GEOM} AS geom) tg
 WHERE l.kind = 'reference' AND l.theme = ANY(CAST(:themes AS text[])) AND {{visible}}
   AND ST_DWithin(tg.geom::geography, s.geom::geography, :m)
 ORDER BY s.id, d, t.id
"""
_SOURCES = """
SELECT s.id, COALESCE({source_label}, s.id::text), {source_properties} FROM features s
 WHERE s.layer_id = :layer AND (CAST(:feature AS bigint) IS NULL OR s.id = :feature)
 ORDER BY s.id
"""
# Fractions along the nearest line part of river :river, of the facility and each settlement,
# all where the caller sees them (a river seen as a point has no line: no downstream).
_ALONG = f"""
WITH fac AS (SELECT {{source_geom}} AS geom FROM features s WHERE s.id = :facility),
line AS (
  SELECT d.geom FROM features t JOIN layers l ON l.id = t.layer_id, fac,
         LATERAL ST_Dump(ST_LineMerge(ST_CollectionExtract({_T_GEOM}, 2))) d
   WHERE t.id = :river
   ORDER BY ST_Distance(d.geom::geography, fac.geom::geography) LIMIT 1
)
SELECT NULL::bigint, ST_LineLocatePoint(line.geom, ST_ClosestPoint(line.geom, fac.geom)), 0.0
  FROM line, fac
UNION ALL
SELECT t.id, ST_LineLocatePoint(line.geom, ST_ClosestPoint(line.geom, tg.geom)),
       ST_Distance(tg.geom::geography, line.geom::geography)
  FROM features t JOIN layers l ON l.id = t.layer_id
 CROSS JOIN LATERAL (SELECT {_T_GEOM} AS geom) tg, line
 WHERE t.id = ANY(CAST(:settlements AS bigint[]))
"""


@dataclass(frozen=True)
class Seen:
    """How the caller sees a source layer: its mask and the SQL and parameters that follow."""

    mask: Mask
    level: str
    below: list[int]

    @classmethod
    def of(cls, session: Session, layer: LayerRecord, who: Principal) -> Seen:
        return cls(mask_for(layer, who, "src"), clearance(who).value,
                   generalised_layers(session, who))  # fmt: skip

    def sql(self, template: str) -> str:
        """`template` with the source `s` as the caller sees it."""
        parts = {
            "{source_geom}": self.mask.geometry("s.geom"),
            "{source_label}": Naming("listed", mask=self.mask).label_sql("s"),
            "{source_properties}": self.mask.properties("s.properties"),
        }
        for key, value in parts.items():
            template = template.replace(key, value)
        return template

    def params(self) -> dict[str, Any]:
        return {**self.mask.params(), "level": self.level, "below": self.below}

    def carried(self, properties: dict[str, Any], *keys: str) -> dict[str, Any]:
        """The source's attributes `keys`, those the caller may not see left out."""
        return {k: properties.get(k) for k in keys if k not in self.mask.hidden}


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
    seen: Seen,
    layer_id: int,
    who: Principal,
    themes: tuple[str, ...],
    within_m: float,
    feature: int | None = None,
) -> tuple[list[tuple[int, str, dict[str, Any]]], dict[int, list[dict[str, Any]]]]:
    """The layer's features (id, name, properties) and, per feature id, what of `themes` lies
    within `within_m` metres, nearest first: [{theme, layer, id, name, properties, distance_m}];
    all as `seen` says the caller sees them (distances between the geometries it sees)."""
    readable, access = visible(who, "l")
    params = {**access, **seen.params(), "layer": layer_id, "feature": feature, "m": within_m,
              "themes": list(themes)}  # fmt: skip
    sources = [tuple(r) for r in session.execute(text(seen.sql(_SOURCES)), params)]
    near: dict[int, list[dict[str, Any]]] = {sid: [] for sid, _n, _p in sources}
    for sid, theme, slug, tid, tname, tprops, d in session.execute(
        text(seen.sql(_NEAR).replace("{visible}", readable)), params
    ):
        near[sid].append(
            {"theme": theme, "layer": slug, "id": tid, "name": tname, "properties": tprops,
             "distance_m": round(float(d), 1)}
        )  # fmt: skip
    return sources, near  # type: ignore[return-value]


def _downstream(
    session: Session, seen: Seen, facility: int, near: list[dict[str, Any]], within_m: float
) -> tuple[dict[str, Any] | None, dict[int, tuple[float, float]]]:
    """The river used for flow and, per downstream settlement, (fraction, metres to river)."""
    rivers = [n for n in near if n["theme"] == "river"]
    settlements = [n["id"] for n in near if n["theme"] == "settlement"]
    if not rivers:
        return None, {}
    river = rivers[0]
    rows = session.execute(
        text(seen.sql(_ALONG)),
        {**seen.params(), "facility": facility, "river": river["id"],
         "settlements": settlements},
    ).all()  # fmt: skip
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
    seen = Seen.of(session, ref, who)
    sources, near = nearby(session, seen, ref.id, who, TAILINGS_THEMES, within_m, feature)
    facilities = []
    for sid, name, props in sources:
        found = near[sid]
        river, below = _downstream(session, seen, sid, found, within_m)
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
                **seen.carried(props, "consequence", "classification_system"),
                "counts": {t: sum(1 for n in found if n["theme"] == t) for t in TAILINGS_THEMES},
                "flow_river": river,
                "exposed": first + rest,
            }
        )
    return {"layer": layer, "within_m": within_m, "facilities": facilities}
