"""TileJSON 3.0.0 documents for one layer or several (one vector tile source, one MVT layer each).

>>> zoom_to_fit([-9.6, 11.4, -7.4, 13.0])
7
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from rio_tiler.io import Reader
from sqlalchemy import Connection

from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.settings import TileSettings
from geo_service.tiles import catalog
from geo_service.tiles.mvt import STYLE_FIELDS, TileQuery, property_keys

WORLD = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
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
    fields = {"id": "Number", "name": "String"}
    for name in names:
        if name not in fields:
            fields[name] = _JSON_TYPES.get(seen.get(name, "string"), "String")
    return fields


def _raster_bounds(path: str | None) -> list[float] | None:
    if not path:
        return None
    with Reader(path) as src:
        return [float(v) for v in src.get_geographic_bounds(src.tms.rasterio_geographic_crs)]


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
    layers = catalog.lookup(conn, slugs, who, settings)
    storages = {layer.storage for layer in layers}
    if len(storages) > 1:
        raise InvalidInput(msg("tiles.mixed"))
    storage = storages.pop()
    info = catalog.details(conn, slugs)
    described = [info[s] for s in slugs]
    path = quote(",".join(slugs), safe=",")
    suffix = "png" if storage == "raster" else "mvt"
    url = f"{base_url.rstrip('/')}/tiles/{path}/{{z}}/{{x}}/{{y}}.{suffix}"
    if query_string:
        url += f"?{query_string}"

    found = [
        _raster_bounds(d["raster_path"]) if storage == "raster" else d["extent"] for d in described
    ]
    extents: list[list[float]] = [list(e) for e in found if e]
    bounds = (
        [
            max(WORLD[0], min(e[0] for e in extents)),
            max(WORLD[1], min(e[1] for e in extents)),
            min(WORLD[2], max(e[2] for e in extents)),
            min(WORLD[3], max(e[3] for e in extents)),
        ]
        if extents
        else WORLD
    )
    center_zoom = zoom_to_fit(bounds) if extents else 0
    attributions = list(dict.fromkeys(d["attribution"] for d in described if d["attribution"]))
    document: dict[str, Any] = {
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
        document["vector_layers"] = [
            {
                "id": d["slug"],
                "description": d["title"],
                "minzoom": 0,
                "maxzoom": settings.tile_maxzoom,
                "fields": _fields(d, query),
                "geometry_types": d["geometry_types"],
                "kind": d["kind"],
                "theme": d["theme"],
                "style_fields": list(STYLE_FIELDS.get(d["kind"], ())),
            }
            for d in described
        ]
    return {k: v for k, v in document.items() if v is not None}
