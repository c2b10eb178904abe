"""The offline basemap: light 256 px PNG tiles drawn by us from Natural Earth (public domain).

Land over a pale sea, country borders and (from zoom 3) rivers, from the 1:110m countries and
1:50m rivers under data/naturalearth. Drawn at twice the size and averaged down, so that edges
are smooth. No labels: the basemap stays quiet under the mining layers.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from pathlib import Path

import morecantile
import numpy as np
import pyogrio
import rasterio
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import rasterize
from rasterio.transform import from_bounds
from shapely import STRtree, box, clip_by_rect, transform
from shapely.geometry.base import BaseGeometry

NATURAL_EARTH = Path(__file__).resolve().parents[2] / "data" / "naturalearth"
COUNTRIES = NATURAL_EARTH / "ne_110m_admin_0_countries.zip"
RIVERS = NATURAL_EARTH / "ne_50m_rivers_lake_centerlines.zip"
VERSION = "ne-1"  # bump when the drawing changes, so cached tiles are redrawn
TILE = 256
SUPERSAMPLE = 2
RIVERS_FROM_ZOOM = 3
MAX_LAT = 85.05112878  # where the Web Mercator square ends

SEA = np.array([214, 230, 242], dtype=np.float32)
LAND = np.array([245, 243, 238], dtype=np.float32)
BORDER = np.array([176, 168, 156], dtype=np.float32)
RIVER = np.array([150, 190, 222], dtype=np.float32)

_TMS = morecantile.tms.get("WebMercatorQuad")


class _Layer:
    """Geometries in EPSG:3857 metres with a spatial index."""

    def __init__(self, geometries: list[BaseGeometry]) -> None:
        self.geometries = np.array(geometries, dtype=object)
        self.index = STRtree(self.geometries)

    def within(self, bounds: tuple[float, float, float, float]) -> list[BaseGeometry]:
        hits = self.geometries[self.index.query(box(*bounds))]
        return [g for g in (clip_by_rect(h, *bounds) for h in hits) if not g.is_empty]


def _read(path: Path) -> list[BaseGeometry]:
    frame = pyogrio.read_dataframe(path, columns=[])
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = to_mercator.transform(coords[:, 0], np.clip(coords[:, 1], -MAX_LAT, MAX_LAT))
        return np.column_stack([x, y])

    return [transform(g, project) for g in frame.geometry if g is not None and not g.is_empty]


@lru_cache(maxsize=1)
def _data() -> tuple[_Layer, _Layer, _Layer]:
    """Land polygons, their outlines and rivers, read once per process."""
    land = _read(COUNTRIES)
    return _Layer(land), _Layer([g.boundary for g in land]), _Layer(_read(RIVERS))


def _coverage(shapes: list[BaseGeometry], transform_, all_touched: bool) -> np.ndarray:
    """Share of each output pixel covered by `shapes`, 0..1 (from the supersampled burn)."""
    size = TILE * SUPERSAMPLE
    if not shapes:
        return np.zeros((TILE, TILE), dtype=np.float32)
    burnt = rasterize(
        shapes, out_shape=(size, size), transform=transform_, all_touched=all_touched, dtype="uint8"
    ).astype(np.float32)
    return burnt.reshape(TILE, SUPERSAMPLE, TILE, SUPERSAMPLE).mean(axis=(1, 3))


def render(z: int, x: int, y: int) -> bytes:
    """The PNG of basemap tile z/x/y (XYZ, origin top-left), 256 x 256 px, RGB."""
    land, borders, rivers = _data()
    bounds = _TMS.xy_bounds(morecantile.Tile(x, y, z))
    pixel = (bounds.right - bounds.left) / TILE
    area = (bounds.left - pixel, bounds.bottom - pixel, bounds.right + pixel, bounds.top + pixel)
    size = TILE * SUPERSAMPLE
    where = from_bounds(bounds.left, bounds.bottom, bounds.right, bounds.top, size, size)

    image = np.broadcast_to(SEA, (TILE, TILE, 3)).astype(np.float64)
    layers = [(land.within(area), LAND, False, 1.0), (borders.within(area), BORDER, True, 0.9)]
    if z >= RIVERS_FROM_ZOOM:
        layers.append((rivers.within(area), RIVER, True, 0.8))
    for shapes, colour, touched, opacity in layers:
        alpha = _coverage(shapes, where, touched)[..., None] * opacity
        image = image * (1 - alpha) + colour * alpha
    return _png(np.round(image).astype(np.uint8))


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.MemoryFile() as memory:
            with memory.open(driver="PNG", width=TILE, height=TILE, count=3, dtype="uint8") as dst:
                dst.write(np.moveaxis(rgb, -1, 0))
            buffer.write(memory.read())
    return buffer.getvalue()
