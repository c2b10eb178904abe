"""Flags on ASM permits: a mining permit outside every gazetted ASM zone, a permit past its
expiry. One SQL statement over the permit layer; zones are every asm_zone feature with status
gazetted in the zone layers the caller may read.

"Outside" means not covered: a permit polygon must lie wholly within one gazetted zone
(ST_Covers, so a permit sharing the zone's edge is inside), a point must lie in or on one.
Cancelled permits are not flagged: they bind nothing any more. Expiry is against `as_of`
(today by default): a permit whose `expires` is before it is past expiry.

Sensitive layers (store/sensitivity.py): permits and zones take part as the caller sees them.
Whether a zone covers a permit is decided on the geometries it is shown (a permit of a layer
it sees generalised is its grid point or admin area), so a flag says no more of where a
permit lies than the map does; attributes it may not see are left out and flag nothing (a
hidden `expires` gives no expiry flag).

    >>> permit_flags(session, "permits", who, as_of=date(2027, 1, 1))["rows"][0]["flags"]
    [{'code': 'outside_gazetted_zone', 'reason': 'A mining permit outside every gazetted ...'}]
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.common import layer_ref
from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.domain.kinds import Kind
from geo_service.domain.sensitivity import clearance
from geo_service.errors import InvalidInput, UnknownFeature
from geo_service.problems import msg
from geo_service.store.sensitivity import generalised_layers, mask_for, of_layers

# Zones (features `zf` of layers `l`) as the caller, cleared to :level, sees them.
_Z_GEOM, _Z_PROPS, _Z_NAME = of_layers("zf.geom", "zf.properties", "zf.name", "l", ":level")

# Permits as the caller sees them ({geom}, {name}, {props} of `f`, from its mask) against zones
# as it sees them: what covers what is decided on the geometries it is shown, so that a flag
# never says more about where a permit lies than its map does.
_FLAGS = f"""
WITH p AS (
  SELECT f.id, COALESCE(NULLIF({{name}}, ''), {{props}} ->> 'number', f.id::text) AS name,
         {{props}} AS props, {{geom}} AS geom
    FROM features f
   WHERE f.layer_id = :layer
), q AS (
  SELECT p.*,
         (p.props ->> 'category') = 'mining'
           AND coalesce(p.props ->> 'status', 'active') <> 'cancelled' AS is_mining,
         CASE WHEN coalesce(p.props ->> 'status', 'active') <> 'cancelled'
                   AND (p.props ->> 'expires') ~ '^\\d{{{{4}}}}-\\d{{{{2}}}}-\\d{{{{2}}}}$'
              THEN CAST(p.props ->> 'expires' AS date) < :as_of END AS expired
    FROM p
   WHERE CAST(:zone AS bigint) IS NULL OR EXISTS (
          SELECT FROM features zf JOIN layers l ON l.id = zf.layer_id
           WHERE zf.id = :zone AND zf.layer_id = :zone_layer
             AND {_Z_GEOM} && p.geom AND ST_Intersects({_Z_GEOM}, p.geom))
)
SELECT q.id, q.name, q.props, z.id AS zone_id, z.name AS zone_name, z.slug AS zone_layer,
       q.is_mining, coalesce(q.expired, false)
  FROM q
  LEFT JOIN LATERAL (
    SELECT zf.id, COALESCE(NULLIF({_Z_NAME}, ''), {_Z_PROPS} ->> 'name',
                           {_Z_PROPS} ->> 'code', zf.id::text) AS name, l.slug
      FROM features zf JOIN layers l ON l.id = zf.layer_id
     CROSS JOIN LATERAL (SELECT {_Z_GEOM} AS geom) zg
     WHERE l.kind = 'asm_zone' AND {{visible}}
       AND {_Z_PROPS} ->> 'status' = 'gazetted'
       AND (zf.geom && q.geom OR l.id = ANY(CAST(:below AS bigint[])))
       AND zg.geom && q.geom AND ST_Covers(zg.geom, q.geom)
     ORDER BY zf.id LIMIT 1
  ) z ON TRUE
 ORDER BY q.id
"""


def permit_flags(
    session: Session,
    layer: str,
    who: Principal,
    *,
    as_of: date | None = None,
    zone_layer: str | None = None,
    zone: int | None = None,
    flagged_only: bool = False,
) -> dict[str, Any]:
    """Each permit of `layer` (those meeting zone `zone` of `zone_layer` when given) with the
    gazetted zone that covers it (or None) and its flags, each a code and a reason."""
    permits = layer_ref(session, layer, who)
    if permits.kind != Kind.asm_permit:
        raise InvalidInput(
            msg("permit.not_permit_layer", layer=layer, kind=permits.kind), where={"layer": layer}
        )
    if (zone_layer is None) != (zone is None):
        raise InvalidInput(msg("permit.zone_pair"), where={"zone_layer": zone_layer, "zone": zone})
    zones_id = layer_ref(session, zone_layer, who).id if zone_layer is not None else None
    if zone is not None and not session.scalar(
        text("SELECT TRUE FROM features WHERE id = :id AND layer_id = :layer"),
        {"id": zone, "layer": zones_id},
    ):
        raise UnknownFeature(
            msg("feature.unknown", id=zone, layer=zone_layer),
            where={"zone_layer": zone_layer, "zone": zone},
        )
    day = as_of or date.today()
    readable, access = visible(who, "l")
    mask = mask_for(permits, who, "permit")
    sql = _FLAGS.format(
        visible=readable,
        name=mask.name("f.name"),
        props=mask.properties("f.properties"),
        geom=mask.geometry("f.geom"),
    )
    rows = session.execute(
        text(sql),
        {**access, **mask.params(), "layer": permits.id, "as_of": day, "zone": zone,
         "zone_layer": zones_id, "level": clearance(who).value,
         "below": generalised_layers(session, who)},
    ).all()  # fmt: skip
    out = []
    for pid, name, props, zid, zname, zslug, is_mining, expired in rows:
        flags = []
        if is_mining and zid is None:
            flags.append({"code": "outside_gazetted_zone", "reason": msg("permit.flag_outside")})
        if expired:
            flags.append(
                {"code": "past_expiry",
                 "reason": msg("permit.flag_expired", expires=props.get("expires"),
                               as_of=day.isoformat())}
            )  # fmt: skip
        if flagged_only and not flags:
            continue
        carried = {"number": None, "category": None, "holder": None, "status": "active",
                   "expires": None}  # fmt: skip
        out.append(
            {
                "id": pid,
                "name": name,
                **{k: props.get(k, v) for k, v in carried.items() if k not in mask.hidden},
                "zone": None if zid is None else {"id": zid, "name": zname, "layer": zslug},
                "flags": flags,
            }
        )
    counts = {
        code: sum(1 for r in out if any(f["code"] == code for f in r["flags"]))
        for code in ("outside_gazetted_zone", "past_expiry")
    }
    return {"layer": layer, "as_of": day.isoformat(), "counts": counts, "rows": out}
