"""Which layers a tile request names, their versions, and whether the caller may see them.

This is read on every tile request (one indexed query on `layers`), so that the cache key and
ETag always carry the current `layers.version`: an edit anywhere makes older tiles unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput, UnknownLayer
from geo_service.problems import msg
from geo_service.settings import TileSettings

_LOOKUP = """
SELECT slug, id, version, kind, storage, visibility, raster_path,
       extract(epoch FROM created_at)::text
  FROM layers l
 WHERE slug = ANY(%(slugs)s) AND {visible}
"""

_DETAILS = """
SELECT l.slug, l.title, l.description, l.kind, l.theme, l.storage, l.attribution,
       l.property_schema, l.raster_path,
       (SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)]
          FROM (SELECT ST_Extent(geom)::geometry AS e FROM features WHERE layer_id = l.id) x
         WHERE e IS NOT NULL),
       (SELECT array_agg(DISTINCT GeometryType(geom))
          FROM (SELECT geom FROM features WHERE layer_id = l.id LIMIT 1000) g),
       (SELECT jsonb_object_agg(key, t)
          FROM (SELECT key, min(jsonb_typeof(value)) AS t
                  FROM (SELECT properties FROM features WHERE layer_id = l.id LIMIT 1000) f,
                       jsonb_each(f.properties)
                 WHERE jsonb_typeof(value) <> 'null'
                 GROUP BY key) k),
       l.id, l.title_fr, l.title_en, l.style
  FROM layers l
 WHERE l.slug = ANY(%(slugs)s)
"""


@dataclass(frozen=True, slots=True)
class TileLayer:
    """What a tile needs to know about a layer; `stamp` tells two layers of one slug apart."""

    slug: str
    id: int
    version: int
    kind: str
    storage: str
    visibility: str
    raster_path: str | None
    stamp: str

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
) -> list[TileLayer]:
    """The named layers `who` may read, in the order given; UnknownLayer names any other (one
    that does not exist and one `who` may not read look alike). Anonymous callers are also
    held to `settings.public_layers` when that list is set."""
    readable, params = visible(who, "l", driver=True)
    rows = conn.exec_driver_sql(_LOOKUP.format(visible=readable), {"slugs": slugs, **params})
    found = {row[0]: TileLayer(*row) for row in rows.all()}
    if not who.authenticated and settings is not None and settings.public_layers is not None:
        found = {s: layer for s, layer in found.items() if s in settings.public_layers}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise UnknownLayer(
            msg("layers.unknown", layers=", ".join(missing)), where={"layers": missing}
        )
    return [found[s] for s in slugs]


def cache_control(layers: list[TileLayer], max_age: int) -> str:
    """Shared caches (a CDN, a proxy) may keep tiles of public layers only."""
    scope = "public" if all(layer.visibility == "public" for layer in layers) else "private"
    return f"{scope}, max-age={max_age}"


def check_storage(layers: list[TileLayer], storage: str) -> None:
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
    """Titles, attribution, extent (EPSG:4326 degrees), geometry types, attribute types and
    the layer's own style."""
    rows = conn.exec_driver_sql(_DETAILS, {"slugs": slugs}).all()
    return {
        row[0]: {
            "slug": row[0],
            "title": row[1],
            "description": row[2],
            "kind": row[3],
            "theme": row[4],
            "storage": row[5],
            "attribution": row[6],
            "property_schema": row[7] or {},
            "raster_path": row[8],
            "extent": [float(v) for v in row[9]] if row[9] else None,
            "geometry_types": sorted(row[10] or []),
            "attributes": row[11] or {},
            "id": row[12],
            "title_fr": row[13],
            "title_en": row[14],
            "style": row[15] or {},
        }
        for row in rows
    }
