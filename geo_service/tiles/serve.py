"""Answering a tile request: layer versions, ETag and 304, cache, then (only on a miss) drawing.

Every answer carries a strong ETag and Cache-Control. The order matters for speed: the layers'
versions are read first (one indexed query), which is all a revalidation (304) or a cache hit
needs; the tile statement runs only on a miss. Empty tiles are 204 with no body, everywhere.
Vector tiles are kept gzip-compressed and sent so when the client accepts gzip (the ETag then
differs from the uncompressed variant's, as a strong validator must).
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine

from geo_service.domain.access import Principal
from geo_service.settings import Settings
from geo_service.store import catalog
from geo_service.tiles import basemap, mvt, raster
from geo_service.tiles.cache import TileCache, etag, matches

MVT_TYPE = "application/vnd.mapbox-vector-tile"
PNG_TYPE = "image/png"

_caches: dict[int, TileCache] = {}
_caches_lock = threading.Lock()


@dataclass(slots=True)
class TileAnswer:
    """Status, body and headers of a tile response, ready for any HTTP framework."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None


def cache_for(settings: Settings) -> TileCache:
    """The process's tile cache for these settings (memory LRU + files under <home>/tiles)."""
    with _caches_lock:
        cache = _caches.get(id(settings))
        if cache is None:
            root = settings.db.home_path / "tiles" if settings.tiles.tile_disk_cache else None
            cache = TileCache(root, settings.tiles.tile_cache_mb * 1024 * 1024)
            _caches[id(settings)] = cache
        return cache


def _answer(
    cache: TileCache,
    family: str,
    group: str,
    key: str,
    produce: Callable[[], bytes],
    if_none_match: str | None,
    media_type: str,
    max_age: int,
    compressed: bool = False,
    accept_gzip: bool = False,
    cache_control: str | None = None,
) -> TileAnswer:
    """304 when the client holds this key's tile, else the cached or freshly drawn bytes."""
    tag = etag(key)
    gz_tag = f'"{tag[1:-1]}-gz"'
    sent_tag = gz_tag if compressed and accept_gzip else tag
    headers = {"ETag": sent_tag, "Cache-Control": cache_control or f"public, max-age={max_age}"}
    if compressed:
        headers["Vary"] = "Accept-Encoding"
    if matches(if_none_match, (tag, gz_tag) if compressed else (tag,)):
        return TileAnswer(304, headers=headers)
    data = cache.get(family, group, key)
    if data is None:
        data = produce()
        if compressed and data:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        cache.put(family, group, key, data)
    if not data:
        return TileAnswer(204, headers=headers)
    if compressed:
        if accept_gzip:
            headers["Content-Encoding"] = "gzip"
        else:
            data = gzip.decompress(data)
    return TileAnswer(200, data, headers, media_type)


def vector_tile(
    engine: Engine,
    settings: Settings,
    slugs: list[str],
    z: int,
    x: int,
    y: int,
    params: Mapping[str, str],
    who: Principal,
    if_none_match: str | None = None,
    accept_gzip: bool = False,
) -> TileAnswer:
    """The MVT tile z/x/y of one or more vector layers (one MVT layer per slug) that `who`
    may read."""
    mvt.check_tile(z, x, y, settings.tiles.tile_maxzoom)
    query = mvt.tile_query(params)
    # Autocommit: a read needs no BEGIN/ROLLBACK round trips around it.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        layers = catalog.lookup(conn, slugs, who, settings.tiles)
        catalog.check_storage(layers, "vector")
        query = mvt.checked_query(conn, layers, query)
        seen = mvt.masks(layers, who)
        group = "|".join(layer.cache_part for layer in layers)
        # What the caller may see of each layer is part of the key (and so of the ETag): a
        # generalised tile and an exact one never stand for each other.
        sees = "|".join(mask.cache_part for mask in seen)
        key = f"mvt|{group}|{z}/{x}/{y}|{query.cache_part}|{sees}"
        return _answer(
            cache_for(settings),
            ",".join(slugs),
            group,
            key,
            lambda: mvt.render(conn, layers, z, x, y, query, seen),
            if_none_match,
            MVT_TYPE,
            settings.tiles.tile_max_age,
            compressed=True,
            accept_gzip=accept_gzip,
            cache_control=catalog.cache_control(layers, settings.tiles.tile_max_age),
        )


def raster_tile(
    engine: Engine,
    settings: Settings,
    slug: str,
    z: int,
    x: int,
    y: int,
    colormap: str = raster.DEFAULT_COLORMAP,
    fmt: str = "png",
    if_none_match: str | None = None,
    *,
    who: Principal,
) -> TileAnswer:
    """The PNG or WebP tile z/x/y of a raster layer `who` may read, coloured with `colormap`."""
    mvt.check_tile(z, x, y, settings.tiles.tile_maxzoom)
    colormap = raster.check_colormap(colormap)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        (layer,) = catalog.lookup(conn, [slug], who, settings.tiles)
    catalog.check_storage([layer], "raster")
    stamp = raster.file_stamp(layer.raster_path)
    path = str(layer.raster_path)
    group = f"{layer.cache_part}:{stamp}"
    return _answer(
        cache_for(settings),
        slug,
        group,
        f"{fmt}|{group}|{z}/{x}/{y}|{colormap}",
        lambda: raster.render(path, stamp, z, x, y, colormap, fmt),
        if_none_match,
        raster.FORMATS[fmt][1],
        settings.tiles.tile_max_age,
        cache_control=catalog.cache_control([layer], settings.tiles.tile_max_age),
    )


def basemap_tile(
    settings: Settings,
    z: int,
    x: int,
    y: int,
    if_none_match: str | None = None,
    lang: str = "en",
) -> TileAnswer:
    """The offline basemap tile z/x/y (PNG), its country names and figures in `lang`."""
    mvt.check_tile(z, x, y, settings.tiles.tile_maxzoom)
    return _answer(
        cache_for(settings),
        "basemap",
        basemap.VERSION,
        f"basemap|{basemap.VERSION}|{lang}|{z}/{x}/{y}",
        lambda: basemap.render(z, x, y, lang),
        if_none_match,
        PNG_TYPE,
        settings.tiles.basemap_max_age,
    )
