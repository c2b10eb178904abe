"""TileJSON 3.0.0 documents for one layer or several (one vector tile source, one MVT layer each),
and the same extent as OGC tile set metadata (bounding box, centre, tile matrix set limits).

>>> zoom_to_fit([-9.6, 11.4, -7.4, 13.0])
8
>>> tile_limits([-9.6, 11.4, -7.4, 13.0], 7)[-1]
{'tileMatrix': '7', 'minTileRow': 59, 'maxTileRow': 59, 'minTileCol': 60, 'maxTileCol': 61}
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import morecantile
from rio_tiler.io import Reader
from sqlalchemy import Connection

from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.settings import TileSettings
from geo_service.store import catalog
from geo_service.store.sensitivity import Mask, described, mask_for
from geo_service.tiles.mvt import STYLE_FIELDS, TileQuery, property_keys

WORLD = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TMS = morecantile.tms.get("WebMercatorQuad")
# Nudged inwards (degrees), so that an extent ending on a tile's edge does not take the next tile.
_EDGE = 1e-11
_JSON_TYPES = {"number": "Number", "boolean": "Boolean"}


def zoom_to_fit(bounds: list[float], pixels: int = 512) -> int:
    """The deepest zoom at which `bounds` (degrees) fits in about `pixels` screen pixels."""
    span = max(bounds[2] - bounds[0], (bounds[3] - bounds[1]) * 1.2, 1e-6)
    return max(0, min(18, int(math.log2(360.0 * pixels / 256 / span))))


def _fields(layer: dict[str, Any], query: TileQuery) -> dict[str, str]:
    """MVT attribute names and types, as vector_layers[].fields wants them."""
    keys = property_keys(layer["kind"], query.properties)
    seen = layer["attributes"]
    names = keys if keys is not None else sorted(seen)
    hidden = layer.get("hidden", ())
    fields = {"id": "Number"} | ({} if "name" in hidden else {"name": "String"})
    for name in names:
        if name not in fields and name not in hidden:
            fields[name] = _JSON_TYPES.get(seen.get(name, "string"), "String")
    return fields


def _raster_bounds(path: str | None) -> list[float] | None:
    if not path:
        return None
    with Reader(path) as src:
        return [float(v) for v in src.get_geographic_bounds(src.tms.rasterio_geographic_crs)]


def extent(described: list[dict[str, Any]]) -> list[float] | None:
    """The extent (degrees, west, south, east, north) of layers described by catalog.details,
    within Web Mercator's latitudes; None when none of them holds anything."""
    found = [
        _raster_bounds(d["raster_path"]) if d["storage"] == "raster" else d["extent"]
        for d in described
    ]
    extents = [e for e in found if e]
    if not extents:
        return None
    return [
        max(WORLD[0], min(e[0] for e in extents)),
        max(WORLD[1], min(e[1] for e in extents)),
        min(WORLD[2], max(e[2] for e in extents)),
        min(WORLD[3], max(e[3] for e in extents)),
    ]


def tile_limits(bounds: list[float], maxzoom: int) -> list[dict[str, Any]]:
    """The rows and columns of WebMercatorQuad tiles that `bounds` (degrees) touches, at each
    zoom from 0 to `maxzoom`: the tileMatrixSetLimits of OGC API Tiles (rows from the north)."""
    west, south, east, north = bounds
    limits = []
    for z in range(maxzoom + 1):
        first = TMS.tile(west + _EDGE, north - _EDGE, z)
        last = TMS.tile(max(west, east - _EDGE), min(north, south + _EDGE), z)
        limits.append(
            {
                "tileMatrix": str(z),
                "minTileRow": min(first.y, last.y),
                "maxTileRow": max(first.y, last.y),
                "minTileCol": min(first.x, last.x),
                "maxTileCol": max(first.x, last.x),
            }
        )
    return limits


def tileset_extent(bounds: list[float], maxzoom: int) -> dict[str, Any]:
    """`bounds` (degrees) as OGC tile set metadata (OGC 17-083r4 JSON): boundingBox in CRS84,
    centerPoint with the zoom at which it fits the screen, tileMatrixSetLimits."""
    zoom = min(zoom_to_fit(bounds), maxzoom)
    matrix = TMS.matrix(zoom)
    return {
        "boundingBox": {"lowerLeft": bounds[:2], "upperRight": bounds[2:], "crs": CRS84},
        "centerPoint": {
            "coordinates": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2],
            "crs": CRS84,
            "tileMatrix": matrix.id,
            "scaleDenominator": matrix.scaleDenominator,
            "cellSize": matrix.cellSize,
        },
        "tileMatrixSetLimits": tile_limits(bounds, maxzoom),
    }


def build(
    conn: Connection,
    slugs: list[str],
    base_url: str,
    query: TileQuery,
    query_string: str,
    settings: TileSettings,
    who: Principal,
) -> dict[str, Any]:
    """The TileJSON of `slugs` (layers `who` may read) served from `base_url`; `query_string`
    is passed to tile URLs."""
    return document(describe(conn, slugs, who, settings), base_url, query, query_string, settings)


def describe(
    conn: Connection, slugs: list[str], who: Principal, settings: TileSettings
) -> list[dict[str, Any]]:
    """catalog.details of `slugs`, in their order, once `who` may read them all (else
    UnknownLayer), as `who` may read them (store/sensitivity.described: no hidden attribute,
    an extent no finer than the grid); `hidden` lists the attributes its tiles leave out."""
    records = catalog.lookup(conn, slugs, who, settings)
    info = catalog.details(conn, slugs)
    return [seen(info[record.slug], mask_for(record, who)) for record in records]


def seen(description: dict[str, Any], mask: Mask) -> dict[str, Any]:
    """A layer's catalog.details as the caller behind `mask` reads it, `hidden` naming the
    attributes its tiles leave out (for `fields`, never shown)."""
    return described(description, mask) | {"hidden": mask.hidden}


def document(
    described: list[dict[str, Any]],
    base_url: str,
    query: TileQuery,
    query_string: str,
    settings: TileSettings,
) -> dict[str, Any]:
    """The TileJSON of layers described by catalog.details (all vector or all raster)."""
    storages = {d["storage"] for d in described}
    if len(storages) > 1:
        raise InvalidInput(msg("tiles.mixed"))
    storage = storages.pop()
    slugs = [d["slug"] for d in described]
    path = quote(",".join(slugs), safe=",")
    suffix = "png" if storage == "raster" else "mvt"
    url = f"{base_url.rstrip('/')}/tiles/{path}/{{z}}/{{x}}/{{y}}.{suffix}"
    if query_string:
        url += f"?{query_string}"

    found = extent(described)
    bounds = found or WORLD
    center_zoom = zoom_to_fit(found) if found else 0
    attributions = list(dict.fromkeys(d["attribution"] for d in described if d["attribution"]))
    doc: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": ", ".join(d["title"] for d in described),
        "description": " | ".join(d["description"] for d in described if d["description"]) or None,
        "version": "1.0.0",
        "attribution": "; ".join(attributions) or None,
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": 0,
        "maxzoom": settings.tile_maxzoom,
        "bounds": bounds,
        "center": [
            (bounds[0] + bounds[2]) / 2,
            (bounds[1] + bounds[3]) / 2,
            center_zoom,
        ],
    }
    if storage == "vector":
        doc["vector_layers"] = [
            {
                "id": d["slug"],
                "description": d["title"],
                "minzoom": 0,
                "maxzoom": settings.tile_maxzoom,
                "fields": _fields(d, query),
                "geometry_types": d["geometry_types"],
                "kind": d["kind"],
                "theme": d["theme"],
                "style_fields": [
                    f for f in STYLE_FIELDS.get(d["kind"], ()) if f not in d.get("hidden", ())
                ],
            }
            for d in described
        ]
    return {k: v for k, v in doc.items() if v is not None}
