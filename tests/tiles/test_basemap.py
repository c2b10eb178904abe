"""The offline basemap: a light PNG with land, sea, borders and rivers where they are."""

from __future__ import annotations

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.io import MemoryFile

from geo_service.tiles import basemap


def pixels(data: bytes) -> np.ndarray:
    with MemoryFile(data) as memory, memory.open() as png:
        assert png.driver == "PNG"
        assert (png.width, png.height, png.count) == (256, 256, 3)
        return np.moveaxis(png.read(), 0, -1)


def close(colour, expected) -> bool:
    return bool(np.abs(colour.astype(int) - expected.astype(int)).max() <= 3)


def pixel_of(lon: float, lat: float) -> tuple[int, int]:
    """Row and column of (lon, lat) in the world tile (z0), through pyproj."""
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    half = 20037508.342789244
    return int((half - y) / (2 * half) * 256), int((x + half) / (2 * half) * 256)


def test_world_tile_shows_land_and_sea():
    image = pixels(basemap.render(0, 0, 0))
    assert close(image[pixel_of(-55, -10)], basemap.LAND)  # Mato Grosso, Brazil
    assert close(image[pixel_of(100, 62)], basemap.LAND)  # Siberia
    assert close(image[pixel_of(-140, 0)], basemap.SEA)  # Pacific
    assert image.mean() > 200  # a light basemap


def test_regional_tile_has_borders_and_rivers():
    # z6 tile over the Niger between Bamako and Segou: land, a border-coloured or river pixel.
    image = pixels(basemap.render(6, 30, 29)).reshape(-1, 3).astype(int)
    land = (np.abs(image - basemap.LAND).max(axis=1) <= 3).mean()
    river_like = (image[:, 2] - image[:, 0] > 20).mean()  # blue dominates: river pixels
    assert land > 0.8
    assert river_like > 0.001


def test_basemap_png_opens_with_rasterio_from_bytes():
    with rasterio.MemoryFile(basemap.render(2, 1, 1)) as memory, memory.open() as png:
        assert png.read().shape == (3, 256, 256)
