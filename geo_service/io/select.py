"""Which features, as what: the one source of SQL for reading features of a layer.

A `Selection` (layer, bbox, property filters, time interval) becomes one parameterised WHERE
clause; `page` turns a page of it into GeoJSON inside PostGIS (ST_AsGeoJSON, json_agg) in one
statement, `rows` streams it for exports, `search` finds features by name or code.
Property names and values are always bind parameters, never formatted into the SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput, UnknownFeature
from geo_service.problems import msg

# The display name is the fallback for properties.name; an attribute "name" of its own wins.
_FEATURE_MEMBERS = """'type', 'Feature', 'id', f.id,
    'geometry', ST_AsGeoJSON(f.geom, :digits)::json,
    'properties', jsonb_build_object('name', f.name) || f.properties"""
FEATURE_JSON = f"json_build_object({_FEATURE_MEMBERS})"
# One feature's answer also measures it on the WGS84 spheroid (a foreign member, RFC 7946 6.1):
# area (ha) and perimeter (m) of a polygon, length (m) of a line; nothing for a point.
GEODESIC_JSON = """CASE ST_Dimension(f.geom)
    WHEN 2 THEN json_build_object('area_ha', ST_Area(f.geom::geography) / 10000,
                                  'perimeter_m', ST_Perimeter(f.geom::geography))
    WHEN 1 THEN json_build_object('length_m', ST_Length(f.geom::geography))
    END"""
MEASURED_FEATURE_JSON = f"json_build_object({_FEATURE_MEMBERS}, 'geodesic', {GEODESIC_JSON})"
DIGITS = 7  # decimal places of degrees in GeoJSON: about 1 cm on the ground


@dataclass
class Selection:
    """Features of one layer in `bbox` (lon/lat), with `properties` equal to the given text
    values (`name` is the display name), last updated within `updated` [start, end)."""

    layer_id: int
    bbox: tuple[float, float, float, float] | None = None
    properties: dict[str, str] = field(default_factory=dict)
    updated: tuple[datetime | None, datetime | None] | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        clauses = ["f.layer_id = :layer_id"]
        params: dict[str, Any] = {"layer_id": self.layer_id}
        if self.bbox is not None:
            clauses.append(
                "f.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AND "
                "ST_Intersects(f.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))"
            )
            params.update(zip(("minx", "miny", "maxx", "maxy"), self.bbox, strict=True))
        for n, (key, value) in enumerate(self.properties.items()):
            if key == "name":
                clauses.append(f"f.name = :v{n}")
            else:
                clauses.append(f"f.properties ->> :k{n} = :v{n}")
                params[f"k{n}"] = key
            params[f"v{n}"] = value
        if self.updated is not None:
            start, end = self.updated
            if start is not None:
                clauses.append("f.updated_at >= :start")
                params["start"] = start
            if end is not None:
                clauses.append("f.updated_at < :end")
                params["end"] = end
        return " AND ".join(clauses), params


def _parse_instant(value: str, end: bool) -> datetime | None:
    if value in ("", ".."):
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(msg("select.datetime", value=value), where={"datetime": value}) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment + timedelta(microseconds=1) if end else moment


def _instant(value: str, end: bool) -> datetime | None:
    """The start of `value`, or with `end` the instant just after it; None for an open end
    (also for an end past the last representable day, 9999-12-31, which is open in effect)."""
    try:
        return _parse_instant(value, end)
    except OverflowError:
        return None


def interval(value: str) -> tuple[datetime | None, datetime | None]:
    """An OGC `datetime` (instant, date, or start/end with '..' open) as [start, end).

    >>> interval("2024-05-01")[1].isoformat()
    '2024-05-02T00:00:00+00:00'
    """
    if "/" in value:
        start, _, end = value.partition("/")
        return _instant(start, end=False), _instant(end, end=True)
    return _instant(value, end=False), _instant(value, end=True)


@dataclass
class Page:
    matched: int
    returned: int
    features: bytes  # a JSON array of GeoJSON Features


def page(session: Session, selection: Selection, limit: int, offset: int) -> Page:
    """One page of features (ordered by id) as GeoJSON built by PostGIS, with the count of all
    matching features, in one statement."""
    where, params = selection.where()
    row = session.execute(
        text(
            f"""
            SELECT (SELECT count(*) FROM features f WHERE {where}),
                   count(*),
                   coalesce(json_agg(p.feature ORDER BY p.id), '[]')::text
              FROM (SELECT f.id, {FEATURE_JSON} AS feature
                      FROM features f WHERE {where}
                     ORDER BY f.id LIMIT :limit OFFSET :offset) p
            """
        ),
        {**params, "limit": limit, "offset": offset, "digits": DIGITS},
    ).one()
    return Page(matched=row[0], returned=row[1], features=row[2].encode())


def feature(session: Session, layer_id: int, feature_id: int, slug: str) -> tuple[bytes, int]:
    """One feature as GeoJSON bytes with its geodesic measures (`geodesic`: area_ha and
    perimeter_m, or length_m), and its version (for the ETag)."""
    row = session.execute(
        text(
            f"SELECT {MEASURED_FEATURE_JSON}::text, f.version FROM features f "
            "WHERE f.layer_id = :layer_id AND f.id = :id"
        ),
        {"layer_id": layer_id, "id": feature_id, "digits": DIGITS},
    ).first()
    if row is None:
        raise UnknownFeature(
            msg("feature.unknown", id=feature_id, layer=slug),
            where={"layer": slug, "id": feature_id},
        )
    return row[0].encode(), row[1]


@dataclass
class Row:
    id: int
    name: str | None
    properties: dict[str, Any]
    wkb: bytes


def rows(
    session: Session, selection: Selection, limit: int | None = None, offset: int = 0
) -> Iterator[Row]:
    """Matching features ordered by id, streamed from a server-side cursor (for exports)."""
    where, params = selection.where()
    result = session.execute(
        text(
            f"SELECT f.id, f.name, f.properties, ST_AsBinary(f.geom) FROM features f "
            f"WHERE {where} ORDER BY f.id LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
        execution_options={"stream_results": True, "yield_per": 2000},
    )
    for fid, name, props, wkb in result:
        yield Row(fid, name, props, bytes(wkb))


# Accents folded without an extension: the letters of French, Portuguese and the Sahel's
# romanised names; enough for "Siguiri" to find "Sìguiri" and "Kéniéba" to find "Kenieba".
_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿœ"
_PLAIN = "aaaaaaceeeeiiiinooooouuuuyyo"
_FOLD = f"translate(lower({{}}), '{_ACCENTED}', '{_PLAIN}')"


def search(session: Session, query: str, who: Principal, limit: int = 20) -> list[dict[str, Any]]:
    """Features of the layers `who` may read whose name or code contains `query` (case and
    accents ignored); names starting with it come first. bbox and center are lon/lat."""
    pattern = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if not pattern:
        return []
    readable, access = visible(who, "l")
    name = _FOLD.format("coalesce(f.name, '')")
    code = _FOLD.format("coalesce(f.properties ->> 'code', '')")
    needle = _FOLD.format(":q")
    result = session.execute(
        text(
            f"""
            SELECT l.slug, l.title, l.kind, f.id, f.name, f.properties ->> 'code',
                   ST_XMin(f.geom), ST_YMin(f.geom), ST_XMax(f.geom), ST_YMax(f.geom),
                   ST_X(ST_PointOnSurface(f.geom)), ST_Y(ST_PointOnSurface(f.geom))
              FROM features f JOIN layers l ON l.id = f.layer_id
             WHERE ({name} LIKE '%' || {needle} || '%' OR {code} LIKE '%' || {needle} || '%')
               AND {readable}
             ORDER BY ({name} LIKE {needle} || '%' OR {code} LIKE {needle} || '%') DESC,
                      length(f.name), f.id
             LIMIT :limit
            """
        ),
        {"q": pattern, "limit": limit, **access},
    )
    return [
        {
            "layer": r[0],
            "layer_title": r[1],
            "kind": r[2],
            "id": r[3],
            "name": r[4],
            "code": r[5],
            "bbox": [r[6], r[7], r[8], r[9]],
            "center": [r[10], r[11]],
        }
        for r in result
    ]
