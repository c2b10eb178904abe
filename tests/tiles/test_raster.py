"""Raster tiles through rio-tiler from a GeoTIFF in any CRS."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from geo_service.errors import InvalidInput
from geo_service.tiles import raster


def write_utm_raster(path) -> None:
    """A 200 x 200 float raster of 100 m cells in UTM zone 29N (EPSG:32629) near Bamako-West,
    a gradient from west to east, with a nodata square in the north-west corner."""
    data = np.tile(np.linspace(0, 100, 200, dtype="float32"), (200, 1))
    data[:50, :50] = -9999
    profile = {
        "driver": "GTiff", "width": 200, "height": 200, "count": 1, "dtype": "float32",
        "crs": "EPSG:32629", "transform": from_origin(600000, 1360000, 100, 100), "nodata": -9999,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


@pytest.fixture
def geotiff(tmp_path):
    path = tmp_path / "gradient.tif"
    write_utm_raster(path)
    return str(path)


def decode(data: bytes) -> np.ndarray:
    with MemoryFile(data) as memory, memory.open() as image:
        return image.read()


def test_png_tile_is_coloured_with_the_chosen_colormap(geotiff):
    stamp = raster.file_stamp(geotiff)
    # Tile 12/1957/1908 holds the raster's centre (lon -7.99, lat 12.21).
    png = raster.render(geotiff, stamp, 12, 1957, 1908, "viridis", "png")
    bands = decode(png)
    assert bands.shape == (4, 256, 256)  # RGB + alpha
    visible = bands[3] == 255
    assert visible.mean() > 0.2
    # viridis runs from purple (low, west) to yellow (high, east): red grows to the east.
    rows, cols = np.nonzero(visible)
    west = bands[0][visible & (np.arange(256)[None, :] < np.percentile(cols, 20))].mean()
    east = bands[0][visible & (np.arange(256)[None, :] > np.percentile(cols, 80))].mean()
    assert east > west + 50
    greys = decode(raster.render(geotiff, stamp, 12, 1957, 1908, "greys", "png"))
    assert not np.array_equal(greys[:3], bands[:3])


def test_webp_tile_and_tiles_outside_the_raster(geotiff):
    stamp = raster.file_stamp(geotiff)
    assert raster.render(geotiff, stamp, 12, 1957, 1908, "viridis", "webp")[8:12] == b"WEBP"
    assert raster.render(geotiff, stamp, 12, 0, 0, "viridis", "png") == b""


def test_unknown_colormap_is_refused():
    with pytest.raises(InvalidInput):
        raster.check_colormap("rainbow-unicorn")
    assert raster.check_colormap("Viridis") == "viridis"
