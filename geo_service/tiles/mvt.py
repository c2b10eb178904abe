"""Mapbox Vector Tiles from PostGIS: one parameterised statement per tile, for one or more layers.

Web Mercator (EPSG:3857) tiles of 4096 units with a 256-unit buffer. A feature is in a tile when
its geometry (in EPSG:3857, as the tile draws it) intersects the tile's square; it is simplified
to one tile unit (Douglas-Peucker, a sixteenth of a screen pixel at 256 px), which keeps shapes
exact on screen while dropping the vertices nobody can see, then clipped to the square plus the
buffer and snapped to the tile grid by ST_AsMVTGeom.
Features smaller than a tile unit may vanish at low zooms, as in every MVT server.

Features of more than 1,000 vertices up to zoom 12 are drawn from their simplified copy in
`feature_simplified` (migration 0003_tiles), already in EPSG:3857 and within one unit of the
tile's zoom of the feature, so a national park is neither read whole nor reprojected per tile.
Which features a tile holds is still decided on their own geometry: a copy that crosses the tile
shrunk by a unit, or that stays farther than a unit from it, answers for its feature; only a
copy within a unit of the tile's edge has the feature itself tested.

Each feature carries `id` (also the MVT feature id), `name` and its kind's styling fields;
arrays (minerals, hazards) become comma-separated strings, since MVT values are scalars, and
empty arrays are left out.

Features are selected by the one filter compiler (store/cql2.py): `filter` (CQL2 text or JSON)
and `property=value` equalities mean on a tile what they mean on items and exports.

    >>> tile_query({"properties": "code,holder", "status": "active"}).equalities
    (('status', 'active'),)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection

from geo_service.domain.access import Principal
from geo_service.domain.registry import KINDS, LIST_FIELDS
from geo_service.errors import InvalidInput, NotFound
from geo_service.problems import msg
from geo_service.store import cql2
from geo_service.store.catalog import LayerRecord
from geo_service.store.crs import STORAGE, Crs, parse_crs
from geo_service.store.queryables import queryables, typed_value, unknown_parameters
from geo_service.store.sensitivity import EXACT, Mask, mask_for

EXTENT = 4096
BUFFER = 256
WORLD_M = 40075016.68557849  # width of the Web Mercator square, in metres

# What a map needs to colour and label each kind (the registry's styling fields); always in the
# tile, whatever is selected.
STYLE_FIELDS: dict[str, tuple[str, ...]] = {
    kind: spec.style_fields for kind, spec in KINDS.items() if spec.style_fields
}

# Query parameters that are not property filters.
# `v` is a cache-buster a client may add to a tile URL (the app adds the layer version); `lang`
# is the language of error messages (api/errors.py).
# `as_of` (a date or an RFC 3339 instant) draws the layers as they stood then, from their history.
RESERVED = frozenset({"properties", "f", "colormap", "key", "access_token", "v", "lang",
                      "filter", "filter-lang", "filter-crs", "as_of"})  # fmt: skip

_HIDDEN = "'{id,fid,name,geom}'::text[]"


def _text(key: str) -> str:
    """A styling field as a text column; keys are our own constants, never user input."""
    if key in LIST_FIELDS:
        return (
            f"nullif(array_to_string(ARRAY(SELECT jsonb_array_elements_text("
            f"CASE jsonb_typeof(c.properties -> '{key}') WHEN 'array' "
            f"THEN c.properties -> '{key}' END)), ', '), '') AS \"{key}\""
        )
    return f"c.properties ->> '{key}' AS \"{key}\""


def _columns(i: int, kind: str, properties: tuple[str, ...] | None) -> str:
    """The property columns of layer `i`: plain columns for a kind's styling fields (fast: no
    per-feature aggregate), the whole JSON object of a reference layer (ST_AsMVT spreads it),
    or, for a chosen list of keys, an object rebuilt key by key with lists made text."""
    style = STYLE_FIELDS.get(kind)
    everything = properties is not None and "*" in properties
    if properties is None and style is not None:
        return ", ".join(_text(key) for key in style)
    if style is None and (properties is None or everything):
        return f"c.properties - {_HIDDEN} AS properties"
    return f"""(SELECT coalesce(jsonb_object_agg(e.key,
                        CASE jsonb_typeof(e.value)
                          WHEN 'array' THEN to_jsonb(array_to_string(ARRAY(
                               SELECT jsonb_array_elements_text(e.value)), ', '))
                          WHEN 'object' THEN to_jsonb(e.value::text)
                          ELSE e.value END), '{{}}'::jsonb)
                FROM jsonb_each(c.properties) e
               WHERE e.key <> ALL({_HIDDEN}) AND e.value <> '[]'
                 AND (%(keys{i})s::jsonb IS NULL OR %(keys{i})s::jsonb ? e.key)) AS properties"""


# One MVT layer of the tile, its features in id order (the same data gives the same bytes
# whatever plan the database picks, so a PMTiles export and a live tile agree). The inner
# OFFSET 0 keeps the subquery apart, so each geometry is reprojected or looked up only once;
# the bounding-box test uses the GiST index on geom. The
# copy is looked up only for features not `whole` (0002: at most 256 vertices), so a small
# feature costs no index probe. The tile test is exact: a copy lies within its tolerance (at
# most one unit here) of the feature, so crossing the square shrunk by a unit proves the feature
# is in and staying over a unit away proves it out; in between, the feature itself decides.
_LAYER_SQL = """
coalesce((
  SELECT ST_AsMVT(m.*, %(slug{i})s, {extent}, 'geom', 'fid' ORDER BY m.fid)
    FROM (
      SELECT c.id AS fid, c.id, c.name, {columns},
             ST_AsMVTGeom(ST_Simplify(c.g, %(tolerance)s, true),
                          ST_TileEnvelope(%(z)s, %(x)s, %(y)s), {extent}, {buffer}, true) AS geom
        FROM (
          SELECT f.id, f.name, f.properties, f.geom, s.geom IS NOT NULL AS simplified,
                 coalesce(s.geom, ST_Transform(f.geom, 3857)) AS g
            FROM features f
            LEFT JOIN LATERAL (
                   SELECT fs.geom FROM feature_simplified fs
                    WHERE NOT f.whole AND fs.feature_id = f.id AND fs.maxzoom >= %(z)s
                    ORDER BY fs.maxzoom LIMIT 1) s ON true
           WHERE f.layer_id = %(layer{i})s
             AND f.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326)
             AND {where}
          OFFSET 0
        ) c
       WHERE CASE
               WHEN NOT c.simplified
                 THEN ST_Intersects(c.g, ST_TileEnvelope(%(z)s, %(x)s, %(y)s))
               WHEN ST_Intersects(c.g, ST_TileEnvelope(%(z)s, %(x)s, %(y)s,
                                                       margin => -1.0 / {extent}))
                 THEN true
               WHEN ST_DWithin(c.g, ST_TileEnvelope(%(z)s, %(x)s, %(y)s), %(tolerance)s)
                 THEN ST_Intersects(ST_Transform(c.geom, 3857),
                                    ST_TileEnvelope(%(z)s, %(x)s, %(y)s))
               ELSE false
             END
    ) m
   WHERE m.geom IS NOT NULL
), ''::bytea)"""


_FROM_FEATURES = """            FROM features f
           WHERE f.layer_id = %(layer{i})s AND {where}
          OFFSET 0"""
# One MVT layer of a layer its reader sees generalised (store/sensitivity.py): which tiles hold
# a feature is decided on the geometry it is shown with, never on the exact one, so that a
# tile at zoom 18 does not place it better than its grid does.
_MASKED_SQL = """
coalesce((
  SELECT ST_AsMVT(m.*, %(slug{i})s, {extent}, 'geom', 'fid' ORDER BY m.fid)
    FROM (
      SELECT c.id AS fid, c.id, c.name, {columns},
             ST_AsMVTGeom(c.g, ST_TileEnvelope(%(z)s, %(x)s, %(y)s), {extent}, {buffer}, true)
             AS geom
        FROM (
          SELECT f.id, {name} AS name, {properties} AS properties,
                 ST_Transform({geom}, 3857) AS g
            FROM features f
           WHERE f.layer_id = %(layer{i})s AND {where}
          OFFSET 0
        ) c
       WHERE ST_Intersects(c.g, ST_TileEnvelope(%(z)s, %(x)s, %(y)s))
    ) m
   WHERE m.geom IS NOT NULL
), ''::bytea)"""


# A layer as it stood just before the instant %(as_of)s: its current rows already in force then
# and its earlier versions in force then (feature_history, kept by the trigger of migration
# 0001 on every update and delete: a deleted feature is drawn on the days it existed). History
# has no spatial index; the tile's box still spares the clipping of what lies elsewhere.
_AS_OF_SQL = _MASKED_SQL.replace(
    _FROM_FEATURES,
    """            FROM (
              SELECT f.id, f.name, f.properties, f.geom FROM features f
               WHERE f.layer_id = %(layer{i})s AND f.updated_at < %(as_of)s
              UNION ALL
              SELECT h.feature_id, h.name, h.properties, h.geom FROM feature_history h
               WHERE h.layer_id = %(layer{i})s AND h.valid_from < %(as_of)s
                 AND h.valid_to >= %(as_of)s
            ) f
           WHERE {where} AND {near}
          OFFSET 0""",
)


def _layer_sql(i: int, kind: str, properties: tuple[str, ...] | None, where: str,
               mask: Mask, as_of: bool = False) -> str:  # fmt: skip
    columns = _columns(i, kind, properties)
    ph = "%({})s"
    if as_of:
        near = (
            "f.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.01), 4326)"
            if mask.grid_m is None
            else "true"
        )
        return _AS_OF_SQL.replace("{i}", str(i)).format(
            extent=EXTENT, buffer=BUFFER, columns=columns, where=where, near=near,
            name=mask.name("f.name"), properties=mask.properties("f.properties", ph),
            geom=mask.geometry("f.geom", ph),
        )  # fmt: skip
    if mask.exact:
        return _LAYER_SQL.replace("{i}", str(i)).format(
            extent=EXTENT, buffer=BUFFER, columns=columns, where=where
        )
    return _MASKED_SQL.replace("{i}", str(i)).format(
        extent=EXTENT, buffer=BUFFER, columns=columns, where=where, name=mask.name("f.name"),
        properties=mask.properties("f.properties", ph), geom=mask.geometry("f.geom", ph),
    )  # fmt: skip


@lru_cache(maxsize=256)
def tile_sql(
    shape: tuple[tuple[str, tuple[str, ...] | None, str, Mask], ...], as_of: bool = False
) -> str:
    """The statement for layers of these (kind, properties, filter SQL, mask), now or as they
    stood at `%(as_of)s`: its text depends only on them (values are parameters), so psycopg
    prepares it once per connection and reuses the plan."""
    parts = [
        _layer_sql(i, kind, properties, where, mask, as_of)
        for i, (kind, properties, where, mask) in enumerate(shape)
    ]
    return "SELECT " + "\n || ".join(parts)


@dataclass(frozen=True, slots=True)
class TileQuery:
    """Which properties to include (None: the default set, ('*',): all) and which features:
    a CQL2 filter (its geometries in `filter_crs`) and `property=value` equalities."""

    properties: tuple[str, ...] | None = None
    equalities: tuple[tuple[str, Any], ...] = ()
    filter: str | None = None  # CQL2 JSON, canonical text (part of the cache key)
    filter_crs: Crs = STORAGE
    as_of: datetime | None = None  # the layers as they stood just before this instant

    @property
    def cache_part(self) -> str:
        props = "" if self.properties is None else ",".join(self.properties)
        moment = "" if self.as_of is None else f"&t={self.as_of.isoformat()}"
        return f"p={props}&f={self.condition_text}&c={self.filter_crs.uri}{moment}"

    @property
    def condition_text(self) -> str:
        return orjson.dumps(self.condition, option=orjson.OPT_SORT_KEYS).decode()

    @property
    def condition(self) -> dict[str, Any] | None:
        """The whole selection as one CQL2 JSON expression (None: every feature)."""
        given = None if self.filter is None else orjson.loads(self.filter)
        return cql2.both(cql2.equalities(dict(self.equalities)), given)

    def typed(self, schemas: Mapping[str, Any]) -> TileQuery:
        """The query with each equality's value read as its queryable's type."""
        equalities = tuple((k, typed_value(v, schemas.get(k))) for k, v in self.equalities)
        return replace(self, equalities=equalities)


def tile_query(params: Mapping[str, str]) -> TileQuery:
    """Read `?properties=a,b` (or `*`), `filter` (with `filter-lang`, `filter-crs`) and
    `property=value` equalities from query parameters."""
    raw = params.get("properties")
    properties = None
    if raw is not None:
        properties = tuple(sorted({p.strip() for p in raw.split(",") if p.strip()}))
    equalities = tuple(sorted((k, v) for k, v in params.items() if k not in RESERVED))
    given = params.get("filter")
    expr = None if given is None else cql2.parse(given, params.get("filter-lang"))
    return TileQuery(
        properties=properties,
        equalities=equalities,
        filter=None if expr is None else orjson.dumps(expr, option=orjson.OPT_SORT_KEYS).decode(),
        filter_crs=parse_crs(params.get("filter-crs"), "filter-crs"),
        as_of=as_of_instant(params.get("as_of")),
    )


def as_of_instant(value: str | None) -> datetime | None:
    """The exclusive end of `as_of` (a date: the end of that day, UTC; an instant: just after
    it); None when not given. InvalidInput for anything else, or a moment still to come."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) + timedelta(
                microseconds=1
            )
    except ValueError:
        moment = None
    if moment is None or moment > datetime.now(UTC) + timedelta(days=1):
        raise InvalidInput(msg("tiles.as_of", value=value[:40]), where={"as_of": value[:40]})
    return moment


def checked_query(conn: Connection, layers: list[LayerRecord], query: TileQuery) -> TileQuery:
    """The query with its property names checked against the layers' queryables (any of
    them: a tile of several layers filters each on what it holds) and its equalities typed.
    InvalidInput names a property no layer has."""
    if query.filter is None and not query.equalities:
        return query
    schemas: dict[str, Any] = {}
    for layer in reversed(layers):
        schemas |= queryables(conn, layer.id, layer.version, layer.kind)
    unknown = [key for key, _ in query.equalities if key not in schemas]
    if unknown:
        raise unknown_parameters(unknown, sorted(schemas) + sorted(RESERVED - {"f", "colormap"}))
    typed = query.typed(schemas)
    cql2.compile_filter(typed.condition, queryables=schemas)
    return typed


def property_keys(kind: str, properties: tuple[str, ...] | None) -> list[str] | None:
    """The property keys a layer's features carry in a tile; None means all of them."""
    style = STYLE_FIELDS.get(kind)
    if properties is not None and "*" in properties:
        return None
    if properties is None:
        return list(style) if style is not None else None
    return sorted({*(style or ()), *properties})


def check_tile(z: int, x: int, y: int, maxzoom: int) -> None:
    """Tile coordinates inside the WebMercatorQuad matrix at zoom `z` (else 404, as OGC API
    Tiles asks for a tile outside the tile matrix set limits)."""
    if not 0 <= z <= maxzoom:
        raise NotFound(msg("tiles.zoom", z=z, maxzoom=maxzoom), where={"z": z})
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(
            msg("tiles.outside", z=z, x=x, y=y, last=2**z - 1), where={"z": z, "x": x, "y": y}
        )


def masks(layers: list[LayerRecord], who: Principal) -> list[Mask]:
    """What `who` may see of each layer of a tile (store/sensitivity.py)."""
    return [mask_for(layer, who, prefix=f"m{i}") for i, layer in enumerate(layers)]


def render(
    conn: Connection,
    layers: list[LayerRecord],
    z: int,
    x: int,
    y: int,
    query: TileQuery,
    seen: list[Mask] | None = None,
) -> bytes:
    """The MVT bytes of tile z/x/y (XYZ, origin top-left) holding one MVT layer per layer,
    named by slug, each as its mask in `seen` shows it (exact when None); b"" when no feature
    intersects the tile. A property hidden by a layer's mask is unknown to its filter."""
    condition = query.condition
    seen = seen or [EXACT] * len(layers)
    wheres = []
    params: dict[str, object] = {}
    for i, mask in enumerate(seen):
        where, bound = cql2.compile_filter(
            condition, prefix=f"q{i}_", placeholder="%({})s", crs=query.filter_crs,
            hidden=mask.hidden,
            geometry=None if mask.grid_m is None else mask.geometry("f.geom", "%({})s"),
        )  # fmt: skip
        wheres.append(where)
        params |= bound | mask.params()
    shape = tuple(
        (layer.kind, query.properties, where, mask)
        for layer, where, mask in zip(layers, wheres, seen, strict=True)
    )
    params |= {
        "z": z,
        "x": x,
        "y": y,
        "tolerance": WORLD_M / 2**z / EXTENT,
    }
    for i, layer in enumerate(layers):
        keys = property_keys(layer.kind, query.properties)
        params |= {f"layer{i}": layer.id, f"slug{i}": layer.slug,
                   f"keys{i}": None if keys is None else json.dumps(keys)}  # fmt: skip
    if query.as_of is not None:
        params["as_of"] = query.as_of
    tile = conn.exec_driver_sql(tile_sql(shape, query.as_of is not None), params).scalar()
    return bytes(tile) if tile else b""
