"""PMTiles export: every non-empty vector tile of a layer up to a zoom, in one file for static
hosting (object storage, a CDN, GitHub Pages) read with the pmtiles JavaScript library.

Tiles are drawn by the same statement as the live service (`mvt.render`) and stored gzip-
compressed, in tile-id order so the archive is clustered.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import morecantile
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from sqlalchemy import Connection

from geo_service.domain.access import OPERATOR, Principal
from geo_service.errors import Forbidden, InvalidInput
from geo_service.problems import msg
from geo_service.settings import TileSettings
from geo_service.store import catalog
from geo_service.tiles import mvt, tilejson

_TMS = morecantile.tms.get("WebMercatorQuad")


def _e7(value: float) -> int:
    return int(round(value * 10_000_000))


def export(
    conn: Connection,
    slug: str,
    out: Path,
    maxzoom: int,
    minzoom: int = 0,
    settings: TileSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_private: bool = False,
) -> dict[str, Any]:
    """Write `slug`'s tiles from `minzoom` to `maxzoom` to `out`; returns tile counts.

    >>> export(conn, "concessions", Path("concessions.pmtiles"), maxzoom=10)  # doctest: +SKIP
    {'layer': 'concessions', 'tiles': 412, 'empty': 37, ...}
    """
    settings = settings or TileSettings()
    if not 0 <= minzoom <= maxzoom <= settings.tile_maxzoom:
        raise InvalidInput(
            msg("pmtiles.zooms", maxzoom=settings.tile_maxzoom),
            where={"minzoom": minzoom, "maxzoom": maxzoom},
        )
    layers = catalog.lookup(conn, [slug], OPERATOR)
    catalog.check_storage(layers, "vector")
    # An archive is made to be hosted where anyone can read it: a layer that is not public goes
    # into one only when the operator says so.
    if layers[0].visibility != "public" and not allow_private:
        visibility = (
            msg("visibility.private")
            if layers[0].visibility == "private"
            else msg("visibility.internal")
        )
        raise Forbidden(
            msg("pmtiles.not_public", layer=slug, visibility=visibility), where={"layer": slug}
        )
    # Whoever may read the archive: its sensitive locations and attributes as anyone sees them,
    # in its metadata (fields, bounds) as in its tiles.
    anyone = mvt.masks(layers, Principal(None))
    described = tilejson.seen(catalog.details(conn, [slug])[slug], anyone[0])
    document = tilejson.document([described], "", mvt.TileQuery(), "", settings)
    west, south, east, north = document["bounds"]
    tiles = sorted(
        (zxy_to_tileid(t.z, t.x, t.y), t)
        for t in _TMS.tiles(west, south, east, north, list(range(minzoom, maxzoom + 1)))
    )
    if not document.get("vector_layers") or document["bounds"] == tilejson.WORLD:
        raise InvalidInput(msg("pmtiles.empty", layer=slug), where={"layer": slug})
    written = empty = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        writer = Writer(f)
        for done, (tile_id, tile) in enumerate(tiles, 1):
            data = mvt.render(conn, layers, tile.z, tile.x, tile.y, mvt.TileQuery(), anyone)
            if data:
                writer.write_tile(tile_id, gzip.compress(data, compresslevel=6, mtime=0))
                written += 1
            else:
                empty += 1
            if progress:
                progress(done, len(tiles))
        center_lon, center_lat, center_zoom = document["center"]
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": _e7(west),
                "min_lat_e7": _e7(south),
                "max_lon_e7": _e7(east),
                "max_lat_e7": _e7(north),
                "center_zoom": max(minzoom, min(maxzoom, center_zoom)),
                "center_lon_e7": _e7(center_lon),
                "center_lat_e7": _e7(center_lat),
            },
            {
                "name": document["name"],
                "attribution": document.get("attribution", ""),
                "vector_layers": [
                    {**vl, "maxzoom": maxzoom, "minzoom": minzoom}
                    for vl in document["vector_layers"]
                ],
            },
        )
    return {"layer": slug, "path": str(out), "tiles": written, "empty": empty,
            "minzoom": minzoom, "maxzoom": maxzoom}  # fmt: skip
