"""Flags on ASM permits: a mining permit outside every gazetted ASM zone, a permit past its
expiry. One SQL statement over the permit layer; zones are every asm_zone feature with status
gazetted in the zone layers the caller may read.

"Outside" means not covered: a permit polygon must lie wholly within one gazetted zone
(ST_Covers, so a permit sharing the zone's edge is inside), a point must lie in or on one.
Cancelled permits are not flagged: they bind nothing any more. Expiry is against `as_of`
(today by default): a permit whose `expires` is before it is past expiry.

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
from geo_service.errors import InvalidInput, UnknownFeature
from geo_service.problems import msg

_FLAGS = """
WITH p AS (
  SELECT f.id, COALESCE(NULLIF(f.name, ''), f.properties ->> 'number', f.id::text) AS name,
         f.properties AS props, f.geom,
         (f.properties ->> 'category') = 'mining'
           AND coalesce(f.properties ->> 'status', 'active') <> 'cancelled' AS is_mining,
         CASE WHEN coalesce(f.properties ->> 'status', 'active') <> 'cancelled'
                   AND (f.properties ->> 'expires') ~ '^\\d{4}-\\d{2}-\\d{2}$'
              THEN CAST(f.properties ->> 'expires' AS date) < :as_of END AS expired
    FROM features f
   WHERE f.layer_id = :layer
     AND (CAST(:zone AS bigint) IS NULL OR EXISTS (
          SELECT FROM features z WHERE z.id = :zone AND z.layer_id = :zone_layer
             AND z.geom && f.geom AND ST_Intersects(z.geom, f.geom)))
)
SELECT p.id, p.name, p.props, z.id AS zone_id, z.name AS zone_name, z.slug AS zone_layer,
       p.is_mining, coalesce(p.expired, false)
  FROM p
  LEFT JOIN LATERAL (
    SELECT zf.id, COALESCE(NULLIF(zf.name, ''), zf.properties ->> 'name',
                           zf.properties ->> 'code', zf.id::text) AS name, l.slug
      FROM features zf JOIN layers l ON l.id = zf.layer_id
     WHERE l.kind = 'asm_zone' AND {visible}
       AND zf.properties ->> 'status' = 'gazetted'
       AND zf.geom && p.geom AND ST_Covers(zf.geom, p.geom)
     ORDER BY zf.id LIMIT 1
  ) z ON TRUE
 ORDER BY p.id
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
    rows = session.execute(
        text(_FLAGS.replace("{visible}", readable)),
        {**access, "layer": permits.id, "as_of": day, "zone": zone, "zone_layer": zones_id},
    ).all()
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
        out.append(
            {
                "id": pid,
                "name": name,
                "number": props.get("number"),
                "category": props.get("category"),
                "holder": props.get("holder"),
                "status": props.get("status", "active"),
                "expires": props.get("expires"),
                "zone": None if zid is None else {"id": zid, "name": zname, "layer": zslug},
                "flags": flags,
            }
        )
    counts = {
        code: sum(1 for r in out if any(f["code"] == code for f in r["flags"]))
        for code in ("outside_gazetted_zone", "past_expiry")
    }
    return {"layer": layer, "as_of": day.isoformat(), "counts": counts, "rows": out}
