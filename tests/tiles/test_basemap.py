"""The offline basemap: land, water, borders and named places where they are, at every zoom.

Positions are computed here with pyproj (lon/lat -> Web Mercator -> pixels), independently of
the renderer; pixels are read back from the PNG with Pillow."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer

from geo_service.tiles import basemap

HALF = 20037508.342789244
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)
# Towns the planners of the demo region must find by name, as GeoNames (and our supplement)
# place them, lon/lat.
TOWNS = {
    "Bamako": (-7.97522, 12.60915),
    "Siguiri": (-9.16852, 11.42282),
    "Kédougou": (-12.18076, 12.55561),
    "Kéniéba": (-11.2333, 12.8333),
}
DEMO = (-9.6, 11.4, -7.4, 13.0)  # geo_service/demo.py's region, lon/lat


def world_pixel(lon: float, lat: float, z: int) -> tuple[float, float]:
    """(x, y) of lon/lat in the world's pixels at zoom z (origin top-left)."""
    x, y = TO_MERCATOR.transform(lon, lat)
    size = 256 * 2**z
    return (x + HALF) / (2 * HALF) * size, (HALF - y) / (2 * HALF) * size


def tile_and_pixel(lon: float, lat: float, z: int) -> tuple[int, int, int, int]:
    """Tile x, y holding lon/lat at zoom z, and the column and row inside it."""
    px, py = world_pixel(lon, lat, z)
    return int(px // 256), int(py // 256), int(px % 256), int(py % 256)


def pixels(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (256, 256)
    return np.asarray(image.convert("RGB")).astype(int)


def near(colour: np.ndarray, expected: tuple[int, int, int], tolerance: int = 3) -> np.ndarray:
    return np.abs(colour - np.array(expected)).max(axis=-1) <= tolerance


def dark(image: np.ndarray) -> np.ndarray:
    """Ink: the labels' text and the places' squares (every other colour is light)."""
    return image.max(axis=-1) < 120


def test_world_tile_shows_land_and_sea():
    image = pixels(basemap.render(0, 0, 0))
    for lon, lat in [(-60, -8), (100, 62), (134, -25)]:  # Amazonia, Siberia, Australia
        _, _, col, row = tile_and_pixel(lon, lat, 0)
        patch = image[row - 2 : row + 3, col - 2 : col + 3].reshape(-1, 3)
        assert near(np.median(patch, axis=0), basemap.LAND, 8)  # borders cross it at zoom 0
    _, _, col, row = tile_and_pixel(-140, 0, 0)  # the Pacific
    assert near(image[row, col], basemap.SEA)
    assert image.mean() > 200  # a light basemap


@pytest.mark.parametrize(
    ("lake", "lon", "lat", "z"),
    [
        ("Victoria", 33.0, -1.5, 6),
        ("Tanganyika", 29.6, -6.5, 8),
        ("Kivu", 29.22, -1.85, 9),
        ("Malawi", 34.5, -12.0, 7),
    ],
)
def test_water_where_a_lake_is(lake, lon, lat, z):
    # Borders run through some lakes: most of the pixels around the point are water.
    x, y, col, row = tile_and_pixel(lon, lat, z)
    image = pixels(basemap.render(z, x, y))
    around = image[max(row - 3, 0) : row + 4, max(col - 3, 0) : col + 4]
    assert near(around, basemap.SEA).mean() > 0.6, lake
    assert near(image, basemap.SEA).mean() > 0.1, lake


def test_reservoirs_of_the_demo_region_are_water():
    # Sélingué on the Sankarani, Manantali on the Bafing: missing from Natural Earth, taken
    # from OpenStreetMap. Water within 3 km of the dams' lakes' middles.
    for lon, lat in [(-8.25, 11.55), (-10.35, 13.1)]:
        x, y, col, row = tile_and_pixel(lon, lat, 10)
        image = pixels(basemap.render(10, x, y))
        around = image[max(row - 20, 0) : row + 20, max(col - 20, 0) : col + 20]
        assert near(around, basemap.SEA).mean() > 0.2


def test_regional_tile_has_borders_and_rivers():
    # z6 over the Niger between Bamako and Ségou: mostly land, some river and border pixels.
    image = pixels(basemap.render(6, 30, 29)).reshape(-1, 3)
    assert near(image, basemap.LAND, 3).mean() > 0.6
    assert near(image, basemap.RIVER, 12).mean() > 0.001
    assert near(image, basemap.BORDER, 12).mean() > 0.0005


def test_bamako_is_named_at_zoom_9():
    x, y, col, row = tile_and_pixel(*TOWNS["Bamako"], 9)
    image = pixels(basemap.render(9, x, y))
    assert dark(image[row - 2 : row + 3, col - 2 : col + 3]).any()  # its square
    # Its name: dark text within 80 px of it, beside or above or below.
    around = image[max(row - 25, 0) : row + 25, max(col - 80, 0) : col + 80]
    assert dark(around).sum() > 60


@pytest.mark.parametrize("z", range(9, 14))
@pytest.mark.parametrize("town", TOWNS)
def test_towns_of_the_region_are_named_from_zoom_9_to_13(town, z):
    lon, lat = TOWNS[town]
    px, py = world_pixel(lon, lat, z)
    tx, ty = int(px // 256), int(py // 256)
    (label,) = [lb for lb in basemap.labels(z, tx, ty) if lb.text == town]
    assert label.symbol is not None
    # Within 1.5 px: positions are kept to 4 decimals and squares sit on a pixel's centre.
    assert abs(label.symbol[0] - px) <= 1.5 and abs(label.symbol[1] - py) <= 1.5
    # The name is drawn: ink inside its box in the tile(s) it touches.
    left, top, right, bottom = label.box
    ink = 0
    for x in range(int(left // 256), int(right // 256) + 1):
        for y in range(int(top // 256), int(bottom // 256) + 1):
            image = pixels(basemap.render(z, x, y))
            rows = slice(max(int(top) - y * 256, 0), max(int(bottom) - y * 256 + 1, 0))
            cols = slice(max(int(left) - x * 256, 0), max(int(right) - x * 256 + 1, 0))
            ink += int(dark(image[rows, cols]).sum())
    assert ink > 20


@pytest.mark.parametrize(
    ("z", "lon", "lat"), [(3, 0, 15), (5, -9, 12), (9, -8.5, 12.2), (12, -8, 12.6)]
)
def test_labels_never_overlap(z, lon, lat):
    x, y, _, _ = tile_and_pixel(lon, lat, z)
    boxes = np.array([lb.box for lb in basemap.labels(z, x, y)])
    assert len(boxes) > 3
    left, top, right, bottom = (boxes[:, i][:, None] for i in range(4))
    overlap = (left < right.T) & (right > left.T) & (top < bottom.T) & (bottom > top.T)
    np.fill_diagonal(overlap, False)
    assert not overlap.any()


@pytest.mark.parametrize(("z", "lon", "lat"), [(6, -8.5, 12.2), (9, -8.5, 12.2), (12, -8, 12.6)])
def test_blocks_agree_with_one_placement_of_the_whole_region(z, lon, lat):
    """Labels are placed a block at a time, with the surroundings competing: the result is
    the placement of a wide window at once, label for label, near the demo region."""
    x, y, _, _ = tile_and_pixel(lon, lat, z)
    bx, by = x // basemap.BLOCK, y // basemap.BLOCK
    span = basemap.BLOCK * 256
    wide = ((bx - 3) * span, (by - 3) * span, (bx + 4) * span, (by + 4) * span)
    at_once = basemap._greedy(z, "en", wide)
    for i in range(bx - 1, bx + 2):
        for j in range(by - 1, by + 2):
            block = (i * span, j * span, (i + 1) * span, (j + 1) * span)
            expected = {
                lb
                for lb in at_once
                if block[0] <= basemap._anchor(lb)[0] < block[2]
                and block[1] <= basemap._anchor(lb)[1] < block[3]
            }
            assert set(basemap._labels(z, "en", i, j).labels) == expected


def test_ink_only_where_a_label_was_placed():
    """No stray text: every dark pixel of a tile lies in the box of a label that touches it."""
    x, y, _, _ = tile_and_pixel(*TOWNS["Bamako"], 9)
    for tx, ty in [(x, y), (x + 1, y), (x, y + 1), (x - 1, y - 1)]:
        image = pixels(basemap.render(9, tx, ty))
        allowed = np.zeros((256, 256), dtype=bool)
        around = [
            basemap.labels(9, tx + dx * 8, ty + dy * 8) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
        ]
        for lb in (lb for block in around for lb in block):
            left, top = int(lb.box[0]) - tx * 256 - 1, int(lb.box[1]) - ty * 256 - 1
            right, bottom = int(lb.box[2]) - tx * 256 + 2, int(lb.box[3]) - ty * 256 + 2
            allowed[max(top, 0) : max(bottom, 0), max(left, 0) : max(right, 0)] = True
        assert not (dark(image) & ~allowed).any()


def test_a_label_across_a_tile_edge_is_drawn_whole_by_the_two_tiles():
    x, y, _, _ = tile_and_pixel(-8.5, 12.2, 9)
    crossing = [
        lb
        for lb in basemap.labels(9, x, y)
        if int(lb.box[0] // 256) != int(lb.box[2] // 256)
        and int(lb.box[1] // 256) == int(lb.box[3] // 256)
    ]
    assert crossing, "some label of the block crosses a vertical tile edge"
    label = crossing[0]
    seam = int(label.box[2] // 256)  # the tile on the right of the edge
    ty = int(label.box[1] // 256)
    pair = np.hstack([pixels(basemap.render(9, seam - 1, ty)), pixels(basemap.render(9, seam, ty))])
    left, top = int(label.box[0]) - (seam - 1) * 256, int(label.box[1]) - ty * 256
    right, bottom = int(label.box[2]) - (seam - 1) * 256, int(label.box[3]) - ty * 256
    text = dark(pair[top : bottom + 1, left : right + 1])
    edge = 256 - left  # the seam's column inside the label's box
    assert text[:, :edge].any() and text[:, edge:].any()


@pytest.mark.parametrize("z", range(2, 14))
def test_tiles_over_the_demo_region_are_never_blank(z):
    west, south, east, north = DEMO
    x0, y1, _, _ = tile_and_pixel(west, south, z)
    x1, y0, _, _ = tile_and_pixel(east, north, z)
    # Up to 5 x 5 tiles spread over the region at each zoom.
    for x in np.unique(np.linspace(x0, x1, 5).round().astype(int)):
        for y in np.unique(np.linspace(y0, y1, 5).round().astype(int)):
            image = pixels(basemap.render(z, int(x), int(y)))
            drawn = ~near(image, basemap.LAND, 6)
            assert drawn.mean() > 0.005, f"tile {z}/{x}/{y} is blank"


def test_country_names_in_the_pages_language():
    x, y, _, _ = tile_and_pixel(-10.0, 10.6, 5)  # Guinea's label point
    names = {lb.text.replace("\u2009", "") for lb in basemap.labels(5, x, y, "fr")}
    assert {"GUINÉE", "SÉNÉGAL", "MALI"} <= names
    names = {lb.text.replace("\u2009", "") for lb in basemap.labels(5, x, y, "en")}
    assert {"GUINEA", "SENEGAL", "MALI"} <= names
    assert basemap.render(5, x, y, "fr") != basemap.render(5, x, y, "en")
    with pytest.raises(ValueError):
        basemap.render(5, x, y, "de")


def test_capitals_lead_at_low_zoom():
    x, y, _, _ = tile_and_pixel(-10, 12, 4)
    names = {lb.text for lb in basemap.labels(4, x, y)}
    assert {"Bamako", "Dakar", "Conakry", "Nouakchott", "Ouagadougou", "Monrovia"} <= names


def test_graticule_where_pyproj_puts_it_with_figures_in_each_language():
    z, step = 11, 0.1  # at zoom 11 the lines are 0.1 degree apart
    x, y, _, _ = tile_and_pixel(-8.0, 12.6, z)
    x -= x % 4  # a column of tiles that names the parallels
    top = TO_LONLAT.transform(0, HALF - y * 2 * HALF / 2**z)[1]
    row = int(world_pixel(0, math.floor(top / step) * step, z)[1]) - y * 256
    assert 0 <= row < 256
    english = pixels(basemap.render(z, x, y, "en"))
    assert near(english[row, 100:200], basemap.GRATICULE, 3).mean() > 0.9  # a sharp line
    assert (english != pixels(basemap.render(z, x, y, "fr"))).any()  # 12.6° N, 12,6° N


def test_basemap_png_opens_with_rasterio_from_bytes():
    with rasterio.MemoryFile(basemap.render(2, 1, 1)) as memory, memory.open() as png:
        assert png.read().shape == (3, 256, 256)
