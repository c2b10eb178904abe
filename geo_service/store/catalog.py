"""The one layer lookup and description of the service: which layers a request names, whether
the caller may read them, their versions; what they hold (count, extent, geometry types,
attributes).

Tiles, TileJSON, styles, analyses and the collections all find layers with `lookup` (one
indexed query on `layers`, so that a tile's cache key and ETag always carry the current
`layers.version`: an edit anywhere makes older tiles unreachable) and describe them with
`details`. Editing goes through the ORM (store/layers.py) under the same visibility rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput, UnknownLayer
from geo_service.problems import msg
from geo_service.settings import TileSettings
from geo_service.store.queryables import found_attributes

_LOOKUP = """
SELECT slug, id, version, kind, storage, visibility, raster_path,
       extract(epoch FROM created_at)::text, theme,
       sensitivity, attribute_sensitivity, generalise, generalise_m
  FROM layers l
 WHERE slug = ANY(%(slugs)s) AND {visible}
"""

# What a layer holds, in one pass over its features (GiST-indexed by layer): count, extent,
# geometry types; its attributes come from store/queryables.py (read once per version).
_DETAILS = """
SELECT l.slug, l.title, l.description, l.kind, l.theme, l.storage, l.attribution,
       l.property_schema, l.raster_path, l.id, l.title_fr, l.title_en, l.style, l.version,
       s.n, ST_XMin(s.e), ST_YMin(s.e), ST_XMax(s.e), ST_YMax(s.e), s.types
  FROM layers l
  LEFT JOIN LATERAL (
       SELECT count(*) AS n, ST_Extent(geom)::geometry AS e,
              array_agg(DISTINCT GeometryType(geom)) AS types
         FROM features WHERE layer_id = l.id) s ON true
 WHERE l.slug = ANY(%(slugs)s)
"""
_TYPE_NAMES = {
    "POINT": "Point",
    "MULTIPOINT": "MultiPoint",
    "LINESTRING": "LineString",
    "MULTILINESTRING": "MultiLineString",
    "POLYGON": "Polygon",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}


def geometry_type_name(postgis_type: str) -> str:
    """A PostGIS GeometryType() as GeoJSON names it: POLYGON -> Polygon."""
    return _TYPE_NAMES.get(postgis_type.upper(), postgis_type)


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """What a reader needs to know about a layer; `stamp` tells two layers of one slug apart."""

    slug: str
    id: int
    version: int
    kind: str
    storage: str
    visibility: str
    raster_path: str | None
    stamp: str
    theme: str | None = None
    # How sensitive it is (0013, store/sensitivity.py).
    sensitivity: str = "public"
    attribute_sensitivity: dict[str, str] = field(default_factory=dict)
    generalise: str = "grid"
    generalise_m: int = 10000

    @property
    def cache_part(self) -> str:
        """The layer's share of a cache key: changes with every edit, import or re-creation."""
        return f"{self.slug}:{self.id}:{self.stamp}:{self.version}"


def parse_slugs(value: str) -> list[str]:
    """`a,b` -> ['a', 'b'], in order, without repeats; at least one."""
    slugs = list(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    if not slugs:
        raise InvalidInput(msg("tiles.no_layer"), where={"layers": value})
    return slugs


def lookup(
    conn: Connection, slugs: list[str], who: Principal, settings: TileSettings | None = None
) -> list[LayerRecord]:
    """The named layers `who` may read, in the order given; UnknownLayer names any other (one
    that does not exist and one `who` may not read look alike). Anonymous callers are also
    held to `settings.public_layers` when that list is set."""
    readable, params = visible(who, "l", driver=True)
    rows = conn.exec_driver_sql(_LOOKUP.format(visible=readable), {"slugs": slugs, **params})
    found = {row[0]: LayerRecord(*row) for row in rows.all()}
    if not who.authenticated and settings is not None and settings.public_layers is not None:
        found = {s: layer for s, layer in found.items() if s in settings.public_layers}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise UnknownLayer(
            msg("layers.unknown", layers=", ".join(missing)), where={"layers": missing}
        )
    return [found[s] for s in slugs]


def cache_control(layers: list[LayerRecord], max_age: int) -> str:
    """Shared caches (a CDN, a proxy) may keep tiles of public layers only."""
    scope = "public" if all(layer.visibility == "public" for layer in layers) else "private"
    return f"{scope}, max-age={max_age}"


def check_storage(layers: list[LayerRecord], storage: str) -> None:
    """Vector tiles come from vector layers and image tiles from raster layers."""
    for layer in layers:
        if layer.storage != storage:
            raise InvalidInput(
                msg("tiles.raster_layer", layer=layer.slug)
                if layer.storage == "raster"
                else msg("tiles.vector_layer", layer=layer.slug),
                where={"layer": layer.slug},
            )


def details(conn: Connection, slugs: list[str]) -> dict[str, dict[str, Any]]:
    """Titles, attribution, the layer's own style, feature count, extent (EPSG:4326 degrees),
    geometry types (as GeoJSON names them) and attributes (JSON type, "mixed" when features
    disagree), by slug: the one description of a layer, for collections and tiles alike."""
    rows = conn.exec_driver_sql(_DETAILS, {"slugs": slugs}).all()
    described = {}
    for row in rows:
        layer_id, version = row[9], row[13]
        described[row[0]] = {
            "slug": row[0],
            "title": row[1],
            "description": row[2],
            "kind": row[3],
            "theme": row[4],
            "storage": row[5],
            "attribution": row[6],
            "property_schema": row[7] or {},
            "raster_path": row[8],
            "id": layer_id,
            "title_fr": row[10],
            "title_en": row[11],
            "style": row[12] or {},
            "version": version,
            "feature_count": row[14] or 0,
            "extent": None if row[15] is None else [float(v) for v in row[15:19]],
            "geometry_types": sorted({geometry_type_name(t) for t in row[19] or [] if t}),
            "attributes": found_attributes(conn, layer_id, version),
        }
    return described
