"""Raster tiles (PNG or WebP, 256 px, Web Mercator) from a layer's GeoTIFF, through rio-tiler.

A single-band raster is stretched between its 2nd and 98th percentiles (computed once per file
on an overview) and coloured with a named colormap; a raster of three or more bands is shown as
RGB from its first three bands. Pixels outside the data or at nodata are transparent.
"""

from __future__ import annotations

import os
from functools import lru_cache

from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from geo_service.errors import BrokenFile, InvalidInput
from geo_service.problems import msg

FORMATS = {"png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp")}
DEFAULT_COLORMAP = "viridis"
TILE_SIZE = 256


def colormap_names() -> list[str]:
    return sorted(cmap.list())


def check_colormap(name: str) -> str:
    name = name.lower()
    if name not in cmap.list():
        raise InvalidInput(msg("tiles.colormap", colormap=name), where={"colormap": name})
    return name


def file_stamp(path: str | None) -> str:
    """Size and modification time of the raster file: part of the cache key."""
    if not path:
        raise BrokenFile(msg("tiles.no_raster_file"), where={"raster_path": path})
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise BrokenFile(msg("tiles.raster_unreadable", reason=exc.strerror)) from None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


@lru_cache(maxsize=64)
def _stretch(path: str, stamp: str) -> tuple[tuple[float, float], ...]:
    """Per-band (2nd, 98th) percentiles of the file at `path` as of `stamp`."""
    with Reader(path) as src:
        stats = src.statistics()
    return tuple((s.percentile_2, s.percentile_98) for s in stats.values())


def render(path: str, stamp: str, z: int, x: int, y: int, colormap: str, fmt: str) -> bytes:
    """The image of tile z/x/y in format `fmt` (png or webp); b"" when the raster misses it."""
    driver, _ = FORMATS[fmt]
    stretch = _stretch(path, stamp)
    try:
        with Reader(path) as src:
            count = src.dataset.count
            indexes = (1, 2, 3) if count >= 3 else (1,)
            image = src.tile(x, y, z, tilesize=TILE_SIZE, indexes=indexes)
    except TileOutsideBounds:
        return b""
    if not image.mask.any():
        return b""
    ranges = [(lo, hi if hi > lo else lo + 1) for lo, hi in (stretch[i - 1] for i in indexes)]
    if image.data.dtype != "uint8" or count < 3:
        image = image.rescale(in_range=ranges)
    colors = cmap.get(colormap) if count < 3 else None
    return image.render(img_format=driver, colormap=colors)
