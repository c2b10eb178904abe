"""Which features, as what: the one source of SQL for reading features of a layer.

A `Selection` (layer, bbox in any CRS, CQL2 filter, time interval, order, properties, output
CRS) becomes one parameterised WHERE and ORDER BY; `page` turns a page of it into GeoJSON inside
PostGIS (ST_AsGeoJSON, json_agg) in one statement, `rows` streams it for exports, `search` finds
features by name or code. Property names and values are always bind parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.domain.sensitivity import clearance
from geo_service.errors import InvalidInput, UnknownFeature
from geo_service.problems import msg
from geo_service.store.cql2 import compile_filter
from geo_service.store.crs import STORAGE, Crs, from_storage, to_storage
from geo_service.store.sensitivity import EXACT, Mask, of_layers

GEODESIC_JSON = """CASE ST_Dimension(f.geom)
    WHEN 2 THEN json_build_object('area_ha', ST_Area(f.geom::geography) / 10000,
                                  'perimeter_m', ST_Perimeter(f.geom::geography))
    WHEN 1 THEN json_build_object('length_m', ST_Length(f.geom::geography))
    END"""
DIGITS = 7  # decimal places of degrees in GeoJSON: about 1 cm on the ground
METRIC_DIGITS = 3  # of metres, in a projected CRS: a millimetre


def feature_json(
    crs: Crs = STORAGE, measured: bool = False, picked: bool = False, mask: Mask = EXACT
) -> str:
    """SQL of a GeoJSON Feature of `f` with coordinates in `crs`; `measured` adds its geodesic
    measures (a foreign member, RFC 7946 6.1): area (ha) and perimeter (m) of a polygon,
    length (m) of a line; `picked` keeps only the properties named in :picked (a text[]).
    `mask` (store/sensitivity.py) generalises the geometry and drops hidden attributes; a
    generalised feature has no measures."""
    digits = DIGITS if crs.srid == 4326 else METRIC_DIGITS
    # The display name is the fallback for properties.name; an attribute "name" of its own wins.
    properties = mask.properties(
        f"jsonb_build_object('name', {mask.name('f.name')}) || f.properties"
    )
    if picked:
        properties = (
            f"(SELECT coalesce(jsonb_object_agg(e.key, e.value), '{{}}'::jsonb) "
            f"FROM jsonb_each({properties}) e WHERE e.key = ANY(CAST(:picked AS text[])))"
        )
    members = (
        f"'type', 'Feature', 'id', f.id, "
        f"'geometry', ST_AsGeoJSON({from_storage(mask.geometry('f.geom'), crs)}, {digits})::json, "
        f"'properties', {properties}"
    )
    if measured and mask.grid_m is None:
        members += f", 'geodesic', {GEODESIC_JSON}"
    return f"json_build_object({members})"


@dataclass
class Selection:
    """Features of one layer: in `bbox` (given in `bbox_crs`), matching `filter` (CQL2 JSON,
    geometries in `filter_crs`, properties among `queryables` when given), last updated within
    `updated` [start, end); ordered by `sortby` ((name, descending) pairs, then id)."""

    layer_id: int
    bbox: tuple[float, float, float, float] | None = None
    filter: dict[str, Any] | None = None
    updated: tuple[datetime | None, datetime | None] | None = None
    sortby: tuple[tuple[str, bool], ...] = ()
    bbox_crs: Crs = STORAGE
    filter_crs: Crs = STORAGE
    queryables: Iterable[str] | None = None
    mask: Mask = EXACT

    def where(self, placeholder: str = ":{}") -> tuple[str, dict[str, Any]]:
        clauses = [f"f.layer_id = {placeholder.format('layer_id')}"]
        params: dict[str, Any] = {"layer_id": self.layer_id}
        # A layer the caller sees generalised is selected by the geometry it is shown with.
        shown = None if self.mask.grid_m is None else self.mask.geometry("f.geom", placeholder)
        if shown is not None:
            params.update(self.mask.params())
        if self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            if self.bbox_crs.north_first:
                minx, miny, maxx, maxy = miny, minx, maxy, maxx
            params.update(minx=minx, miny=miny, maxx=maxx, maxy=maxy)
            env = "ST_MakeEnvelope({}, {}, {}, {})".format(
                *(placeholder.format(k) for k in ("minx", "miny", "maxx", "maxy"))
            )
            plain = Crs(self.bbox_crs.uri, self.bbox_crs.srid, north_first=False)
            box = to_storage(env, plain)
            if shown is None:
                clauses.append(f"f.geom && {box} AND ST_Intersects(f.geom, {box})")
            else:  # where the caller sees the feature, never where it is
                clauses.append(f"ST_Intersects({shown}, {box})")
        if self.filter is not None:
            sql, filter_params = compile_filter(
                self.filter, placeholder=placeholder, queryables=self.queryables,
                crs=self.filter_crs, hidden=self.mask.hidden, geometry=shown,
            )  # fmt: skip
            clauses.append(sql)
            params.update(filter_params)
        if self.updated is not None:
            start, end = self.updated
            if start is not None:
                clauses.append(f"f.updated_at >= {placeholder.format('start')}")
                params["start"] = start
            if end is not None:
                clauses.append(f"f.updated_at < {placeholder.format('end')}")
                params["end"] = end
        return " AND ".join(clauses), params

    def order(self) -> tuple[list[tuple[str, str]], dict[str, Any]]:
        """The ORDER BY terms as (expression, direction), id last so that pages never
        overlap, and their parameters."""
        terms: list[tuple[str, str]] = []
        params: dict[str, Any] = {}
        for n, (name, descending) in enumerate(self.sortby):
            if name in self.mask.hidden:
                raise InvalidInput(
                    msg("filter.unknown_property", name=name[:100], queryables="-"),
                    where={"sortby": name[:100]},
                )
            if name == "id":
                expr = "f.id"
            elif name == "name":
                expr = "f.name"
            else:
                expr = f"(f.properties -> CAST(:s{n} AS text))"
                params[f"s{n}"] = name
            terms.append((expr, "DESC NULLS LAST" if descending else "ASC NULLS LAST"))
        if not any(name == "id" for name, _ in self.sortby):
            terms.append(("f.id", "ASC"))
        return terms, params


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


def page(
    session: Session,
    selection: Selection,
    limit: int,
    offset: int,
    crs: Crs = STORAGE,
    properties: list[str] | None = None,
) -> Page:
    """One page of features (in the selection's order) as GeoJSON built by PostGIS, with the
    count of all matching features, in one statement; coordinates in `crs`, properties only
    those named in `properties` when given."""
    where, params = selection.where()
    terms, order_params = selection.order()
    keys = ", ".join(f"{expr} AS k{n}" for n, (expr, _) in enumerate(terms))
    inner = ", ".join(f"{expr} {direction}" for expr, direction in terms)
    outer = ", ".join(f"p.k{n} {direction}" for n, (_, direction) in enumerate(terms))
    row = session.execute(
        text(
            f"""
            SELECT (SELECT count(*) FROM features f WHERE {where}),
                   count(*),
                   coalesce(json_agg(p.feature ORDER BY {outer}), '[]')::text
              FROM (SELECT {keys},
                           {feature_json(crs, picked=properties is not None, mask=selection.mask)}
                           AS feature
                      FROM features f WHERE {where}
                     ORDER BY {inner} LIMIT :limit OFFSET :offset) p
            """
        ),
        {
            **params,
            **order_params,
            **selection.mask.params(),
            "limit": limit,
            "offset": offset,
            "picked": properties,
        },
    ).one()
    return Page(matched=row[0], returned=row[1], features=row[2].encode())


def feature(
    session: Session,
    layer_id: int,
    feature_id: int,
    slug: str,
    crs: Crs = STORAGE,
    mask: Mask = EXACT,
) -> tuple[bytes, int]:
    """One feature as GeoJSON bytes (coordinates in `crs`) with its geodesic measures
    (`geodesic`: area_ha and perimeter_m, or length_m), and its version (for the ETag);
    as `mask` lets its reader see it."""
    row = session.execute(
        text(
            f"SELECT {feature_json(crs, measured=True, mask=mask)}::text, f.version FROM features f "
            "WHERE f.layer_id = :layer_id AND f.id = :id"
        ),
        {"layer_id": layer_id, "id": feature_id, **mask.params()},
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
    """Matching features in the selection's order, streamed from a server-side cursor (for
    exports and CSV pages); geometries in EPSG:4326, as the selection's mask shows them."""
    where, params = selection.where()
    terms, order_params = selection.order()
    mask = selection.mask
    result = session.execute(
        text(
            f"SELECT f.id, {mask.name('f.name')}, {mask.properties('f.properties')},"
            f" ST_AsBinary({mask.geometry('f.geom')}) FROM features f "
            f"WHERE {where} ORDER BY {', '.join(f'{e} {d}' for e, d in terms)} "
            "LIMIT :limit OFFSET :offset"
        ),
        {**params, **order_params, **mask.params(), "limit": limit, "offset": offset},
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
    geom, props, shown = of_layers("f.geom", "f.properties", "f.name", "l", ":level")
    name = _FOLD.format(f"coalesce({shown}, '')")
    code = _FOLD.format(f"coalesce({props} ->> 'code', '')")
    needle = _FOLD.format(":q")
    result = session.execute(
        text(
            f"""
            SELECT l.slug, l.title, l.kind, f.id, {shown}, {props} ->> 'code',
                   ST_XMin(g.geom), ST_YMin(g.geom), ST_XMax(g.geom), ST_YMax(g.geom),
                   ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))
              FROM features f JOIN layers l ON l.id = f.layer_id
              CROSS JOIN LATERAL (SELECT {geom} AS geom) g
             WHERE ({name} LIKE '%' || {needle} || '%' OR {code} LIKE '%' || {needle} || '%')
               AND {readable}
             ORDER BY ({name} LIKE {needle} || '%' OR {code} LIKE {needle} || '%') DESC,
                      length({shown}), f.id
             LIMIT :limit
            """
        ),
        {"q": pattern, "limit": limit, "level": clearance(who).value, **access},
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
