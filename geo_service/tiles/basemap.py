"""The offline basemap: 256 px PNG tiles that say where you are, drawn by us with no network.

Land over a pale sea, lakes and reservoirs, rivers, country and regional borders, country names
and GeoNames places, from data/basemap (built from packages by scripts/basemap-data.py) and the
Natural Earth rivers in data/naturalearth; from zoom 9 a faint graticule, so that no tile where
a planner works is blank. Shapes are drawn at twice the size and averaged down (smooth edges),
from copies generalised for each band of zooms.

Labels are placed most important first (capitals, countries, then places by population), each
where it overlaps no other, for a block of 8 x 8 tiles at a time with its surroundings (see
_labels). A tile then draws the labels that touch it, so a label across a tile edge is drawn
half by each tile and lines up, and a place is drawn (as a small square: the mining layers'
markers are circles) only when its name is.

    >>> png = render(9, 244, 239)  # Bamako and the Niger at zoom 9
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import morecantile
import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont
from pyproj import Transformer
from shapely import STRtree, box, clip_by_rect
from shapely.geometry.base import BaseGeometry

DATA = Path(__file__).resolve().parents[2] / "data"
BASEMAP = DATA / "basemap"
RIVERS = DATA / "naturalearth" / "ne_50m_rivers_lake_centerlines.zip"
VERSION = "bm-2"  # bump when the drawing or the data changes, so cached tiles are redrawn
LANGUAGES = ("en", "fr")
TILE = 256
SUPERSAMPLE = 2
MAX_LAT = 85.05112878  # where the Web Mercator square ends
HALF = 20037508.342789244  # half the Web Mercator square, metres

Colour = tuple[int, int, int]
SEA: Colour = (214, 230, 242)
LAND: Colour = (245, 243, 238)
BORDER: Colour = (168, 152, 146)
REGION: Colour = (214, 206, 196)
RIVER: Colour = (150, 190, 222)
GRATICULE: Colour = (229, 225, 217)
TEXT: Colour = (48, 48, 48)
MINOR_TEXT: Colour = (80, 80, 80)
COUNTRY_TEXT: Colour = (136, 116, 102)
GRATICULE_TEXT: Colour = (150, 142, 130)
HALO: Colour = (255, 255, 255)

RIVERS_FROM_ZOOM = 3
REGIONS_FROM_ZOOM = 5
GRATICULE_FROM_ZOOM = 9
COUNTRIES_UNTIL_ZOOM = 8
# The smallest population whose place is a candidate for a label at each zoom (capitals are,
# from zoom 3); none before zoom 2, every place from zoom 12. Collisions decide the rest.
MIN_POPULATION = {2: 5_000_000, 3: 2_000_000, 4: 1_000_000, 5: 300_000, 6: 100_000,
                  7: 40_000, 8: 15_000, 9: 8_000, 10: 3_000, 11: 1_000}  # fmt: skip
# Bands of zooms drawn from the same generalised copy of the shapes, by the last zoom of each:
# to 4, 5 to 7, and the full detail from 8 on.
BANDS = (4, 7, 10)
GRATICULE_STEPS = (10, 5, 2, 1, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)
GRATICULE_LABEL_EVERY = 4  # tiles: parallels are named in every 4th column, meridians row
PADDING = 3  # pixels kept free around each label
BLOCK = 8  # tiles: labels are placed for a block of 8 x 8 tiles at a time...
MARGIN = 4 * TILE  # ... with the places this many pixels around it competing for room
MAX_LABEL_WIDTH = 240  # pixels: a longer name is not drawn, so a label reaches one tile at most

_TMS = morecantile.tms.get("WebMercatorQuad")
_TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
_TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)


# -- data ------------------------------------------------------------------------------------


class _Layer:
    """Geometries in EPSG:3857 metres with a spatial index."""

    def __init__(self, geometries: np.ndarray) -> None:
        self.geometries = geometries
        self.index = STRtree(self.geometries)

    def within(self, bounds: tuple[float, float, float, float]) -> list[BaseGeometry]:
        hits = self.geometries[self.index.query(box(*bounds))]
        return [g for g in (clip_by_rect(h, *bounds) for h in hits) if not g.is_empty]


def _to_mercator(geometries: np.ndarray) -> np.ndarray:
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = _TO_MERCATOR.transform(coords[:, 0], np.clip(coords[:, 1], -MAX_LAT, MAX_LAT))
        return np.column_stack([x, y])

    return shapely.transform(geometries, project)


@lru_cache(maxsize=8)
def _shapes(name: str) -> np.ndarray:
    """The full-detail shapes of one data set, in EPSG:3857, read once per process."""
    import pyogrio  # it imports geopandas: with the first tile, not with the app

    path = RIVERS if name == "rivers" else f"/vsigzip/{BASEMAP / name}.geojson.gz"
    frame = pyogrio.read_dataframe(path, columns=[])
    geometries = frame.geometry.values
    geometries = geometries[~(shapely.is_missing(geometries) | shapely.is_empty(geometries))]
    return _to_mercator(np.asarray(geometries, dtype=object))


def _pixel_size(z: int) -> float:
    """Metres of Web Mercator per output pixel at zoom z."""
    return 2 * HALF / (TILE * 2**z)


@lru_cache(maxsize=32)
def _layer(name: str, band: int) -> _Layer:
    """`name`'s shapes generalised for the zooms up to `band` (half a pixel of error), with
    the lakes too small to be seen dropped."""
    full = _shapes(name)
    if band == BANDS[-1]:
        return _Layer(full)
    tolerance = _pixel_size(band) / 2
    shapes = shapely.simplify(full, tolerance)
    if name == "lakes":
        shapes = shapes[shapely.area(full) >= (2 * _pixel_size(band)) ** 2]
    return _Layer(shapes[~shapely.is_empty(shapes)])


def _band(z: int) -> int:
    return next((b for b in BANDS if z <= b), BANDS[-1])


@dataclass(frozen=True)
class _Places:
    """The gazetteer: names, Web Mercator positions, populations, capitals; biggest first."""

    names: list[str]
    x: np.ndarray
    y: np.ndarray
    population: np.ndarray
    capital: np.ndarray


@lru_cache(maxsize=1)
def _places() -> _Places:
    with (BASEMAP / "places.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: (-int(r["capital"]), -int(r["population"]), r["name"]))
    x, y = _TO_MERCATOR.transform([float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows])
    return _Places(
        [r["name"] for r in rows],
        np.asarray(x),
        np.asarray(y),
        np.array([int(r["population"]) for r in rows]),
        np.array([r["capital"] == "1" for r in rows]),
    )


@lru_cache(maxsize=1)
def _countries() -> list[dict[str, str]]:
    with (BASEMAP / "countries.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=32)
def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    """Source Sans Pro (data/basemap, SIL OFL), cut down to the Latin scripts."""
    # The basic layout is ten times faster than raqm's, and Latin names need no shaping.
    return ImageFont.truetype(
        str(BASEMAP / f"SourceSansPro-{weight}.ttf"), size, layout_engine=ImageFont.Layout.BASIC
    )


# -- labels ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Label:
    """A placed label, in world pixels of its zoom (origin top-left of the Web Mercator square):
    `at` is where PIL's "la" anchor goes, `box` holds the text and its symbol."""

    text: str
    weight: str
    size: int
    colour: Colour
    at: tuple[float, float]
    box: tuple[float, float, float, float]
    symbol: tuple[float, float, str] | None = None


_MEASURE = ImageDraw.Draw(Image.new("L", (1, 1)))


@lru_cache(maxsize=200_000)
def _extent(text: str, weight: str, size: int) -> tuple[float, float, float, float]:
    """The inked box of `text` drawn at (0, 0) with the "la" anchor."""
    return _MEASURE.multiline_textbbox(
        (0, 0), text, font=_font(weight, size), anchor="la", spacing=0, align="center"
    )


class _Occupied:
    """Boxes already taken by labels, in a grid of cells for quick tests."""

    CELL = 128

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = defaultdict(
            list
        )

    def _keys(self, b: tuple[float, float, float, float]) -> Iterator[tuple[int, int]]:
        for i in range(int(b[0] // self.CELL), int(b[2] // self.CELL) + 1):
            for j in range(int(b[1] // self.CELL), int(b[3] // self.CELL) + 1):
                yield i, j

    def free(self, b: tuple[float, float, float, float]) -> bool:
        for key in self._keys(b):
            for o in self.cells.get(key, ()):
                if b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]:
                    return False
        return True

    def take(self, b: tuple[float, float, float, float]) -> None:
        for key in self._keys(b):
            self.cells[key].append(b)


def _place(
    occupied: _Occupied,
    text: str,
    weight: str,
    size: int,
    colour: Colour,
    spots: list[tuple[float, float, str]],
    symbol: tuple[float, float, str] | None,
    edge: tuple[float, float, float, float],
) -> Label | None:
    """The first of `spots` (text box's reference point and which one: left-middle or
    centre-middle) where the label, with its symbol, lies within `edge` and overlaps no label
    placed before."""
    left, top, right, bottom = _extent(text, weight, size)
    width, height = right - left, bottom - top
    radius = _SYMBOL_RADIUS[symbol[2]] if symbol else 0
    for x, y, kind in spots:
        x0 = x if kind == "left" else x - width / 2
        y0 = y - height / 2
        b = (x0, y0, x0 + width, y0 + height)
        if symbol:
            sx, sy = symbol[0], symbol[1]
            b = (min(b[0], sx - radius), min(b[1], sy - radius),
                 max(b[2], sx + radius), max(b[3], sy + radius))  # fmt: skip
        padded = (b[0] - PADDING, b[1] - PADDING, b[2] + PADDING, b[3] + PADDING)
        inside = edge[0] <= padded[0] and padded[2] <= edge[2]
        if not (inside and edge[1] <= padded[1] and padded[3] <= edge[3]):
            continue  # beyond the world's edge
        if not occupied.free(padded):
            continue
        occupied.take(padded)
        return Label(text, weight, size, colour, (x0 - left, y0 - top), b, symbol)
    return None


_SYMBOL_RADIUS = {"capital": 4.0, "city": 3.0, "town": 2.0, "village": 2.0}


def _place_style(population: int, capital: bool, z: int) -> tuple[str, int, Colour, str]:
    """Weight, size, colour and symbol of a place's label: capitals and cities stand out."""
    small = 1 if z <= 5 else 0
    if capital:
        return "Semibold", 14 - small, TEXT, "capital"
    if population >= 500_000:
        return "Semibold", 13 - small, TEXT, "city"
    if population >= 50_000:
        return "Regular", 13 - small, TEXT, "town"
    return "Regular", 12, MINOR_TEXT, "village"


def _country_text(name: str, z: int) -> str:
    """Capitals spaced out, on two lines when long (a country's name spans a region)."""
    words = name.upper().split()
    if len(name) > 14 and len(words) > 1:
        cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(name) / 2))
        lines = [" ".join(words[:cut]), " ".join(words[cut:])]
    else:
        lines = [" ".join(words)]
    return "\n".join("\u2009".join(line) for line in lines)


Window = tuple[float, float, float, float]  # left, top, right, bottom, in world pixels


def _greedy(z: int, lang: str, window: Window) -> list[Label]:
    """Labels for the places and countries whose point lies in `window`, most important
    first, each at the first of its spots where it overlaps none placed before."""
    world = TILE * 2**z
    edge = (0.0, 0.0, float(world), float(world))
    occupied = _Occupied()
    labels: list[Label] = []
    places = _places()
    px = (places.x + HALF) / (2 * HALF) * world
    py = (HALF - places.y) / (2 * HALF) * world
    if z < min(MIN_POPULATION):
        threshold = np.iinfo(places.population.dtype).max  # the world's first zooms: no place
    else:
        threshold = MIN_POPULATION.get(z, -1)  # -1: every place, from zoom 12
    inside = (px >= window[0]) & (px < window[2]) & (py >= window[1]) & (py < window[3])
    candidate = inside & ((places.population >= threshold) | (places.capital & (z >= 3)))

    def add_place(i: int) -> None:
        name = places.names[i]
        weight, size, colour, kind = _place_style(int(places.population[i]), places.capital[i], z)
        width = _extent(name, weight, size)[2]
        if width > MAX_LABEL_WIDTH:
            return
        x, y = round(float(px[i])) + 0.5, round(float(py[i])) + 0.5  # a pixel's centre
        gap = _SYMBOL_RADIUS[kind] + 3
        spots = [(x + gap, y, "left"), (x - gap - width, y, "left"),
                 (x, y - gap - size * 0.6, "centre"), (x, y + gap + size * 0.6, "centre")]  # fmt: skip
        label = _place(occupied, name, weight, size, colour, spots, (x, y, kind), edge)
        if label:
            labels.append(label)

    for i in np.flatnonzero(candidate & places.capital):
        add_place(int(i))
    if z <= COUNTRIES_UNTIL_ZOOM:
        size = 12 if z <= 3 else 13 if z <= 5 else 14
        for country in _countries():
            if not (float(country["min_zoom"]) <= z + 0.5 and z <= float(country["max_zoom"])):
                continue
            x, y = _TO_MERCATOR.transform(float(country["lon"]), float(country["lat"]))
            cx, cy = (x + HALF) / (2 * HALF) * world, (HALF - y) / (2 * HALF) * world
            if not (window[0] <= cx < window[2] and window[1] <= cy < window[3]):
                continue
            text = _country_text(country[f"name_{lang}"], z)
            spots = [(cx, cy + dy * size, "centre") for dy in (0, -1.2, 1.2, -2.4, 2.4)]
            label = _place(occupied, text, "Semibold", size, COUNTRY_TEXT, spots, None, edge)
            if label:
                labels.append(label)
    for i in np.flatnonzero(candidate & ~places.capital):
        add_place(int(i))
    return labels


def _anchor(label: Label) -> tuple[float, float]:
    """The point a label names: its place's square, or a country's label point."""
    if label.symbol:
        return label.symbol[0], label.symbol[1]
    return (label.box[0] + label.box[2]) / 2, (label.box[1] + label.box[3]) / 2


@dataclass(frozen=True)
class _Placed:
    """The labels whose point lies in one block of BLOCK x BLOCK tiles, by the tiles they
    touch (a label may reach into the next block's first tile)."""

    labels: list[Label]
    by_tile: dict[tuple[int, int], list[Label]]


@lru_cache(maxsize=256)
def _labels(z: int, lang: str, bx: int, by: int) -> _Placed:
    """The labels of block (bx, by) of zoom z: placed with those of a MARGIN around it, which
    compete for room but belong to their own block. The greedy placement of one label depends
    on its neighbours only, so the blocks agree with a placement of the whole world at once
    (tested), while a tile needs the work of its own block and no more."""
    span = BLOCK * TILE
    block = (bx * span, by * span, (bx + 1) * span, (by + 1) * span)
    window = (block[0] - MARGIN, block[1] - MARGIN, block[2] + MARGIN, block[3] + MARGIN)
    labels = []
    for label in _greedy(z, lang, window):
        x, y = _anchor(label)
        if block[0] <= x < block[2] and block[1] <= y < block[3]:
            labels.append(label)
    by_tile: dict[tuple[int, int], list[Label]] = defaultdict(list)
    for label in labels:
        b = label.box
        for tx in range(int(b[0] // TILE), int(b[2] // TILE) + 1):
            for ty in range(int(b[1] // TILE), int(b[3] // TILE) + 1):
                by_tile[tx, ty].append(label)
    return _Placed(labels, dict(by_tile))


def _tile_labels(z: int, x: int, y: int, lang: str) -> list[Label]:
    """The labels that touch tile z/x/y: its block's, and at a block's edge its neighbours'."""
    bx, by = x // BLOCK, y // BLOCK
    xs = {bx, (x - 1) // BLOCK, (x + 1) // BLOCK}
    ys = {by, (y - 1) // BLOCK, (y + 1) // BLOCK}
    last = (2**z - 1) // BLOCK
    found: list[Label] = []
    for i in sorted(b for b in xs if 0 <= b <= last):
        for j in sorted(b for b in ys if 0 <= b <= last):
            found.extend(_labels(z, lang, i, j).by_tile.get((x, y), ()))
    return found


def labels(z: int, x: int, y: int, lang: str = "en") -> list[Label]:
    """The labels of the block that holds tile z/x/y (world pixels), for tests and tools."""
    return _labels(z, lang, x // BLOCK, y // BLOCK).labels


# -- drawing ---------------------------------------------------------------------------------


def render(z: int, x: int, y: int, lang: str = "en") -> bytes:
    """The PNG of basemap tile z/x/y (XYZ, origin top-left), 256 x 256 px, country names and
    graticule in `lang` (en or fr)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    bounds = _TMS.xy_bounds(morecantile.Tile(x, y, z))
    image = _draw_shapes(z, bounds)
    draw = ImageDraw.Draw(image)
    placed = _tile_labels(z, x, y, lang)
    if z >= GRATICULE_FROM_ZOOM:
        _draw_graticule_labels(draw, z, x, y, bounds, placed, lang)
    origin = (x * TILE, y * TILE)
    for label in placed:
        if label.symbol:
            _draw_symbol(
                draw, label.symbol[0] - origin[0], label.symbol[1] - origin[1], label.symbol[2]
            )
    for label in placed:
        draw.multiline_text(
            (label.at[0] - origin[0], label.at[1] - origin[1]),
            label.text,
            font=_font(label.weight, label.size),
            fill=label.colour,
            anchor="la",
            spacing=0,
            align="center",
            stroke_width=2,
            stroke_fill=HALO,
        )
    return _png(image)


def _draw_shapes(z: int, bounds: morecantile.commons.BoundingBox) -> Image.Image:
    """Land, water, lines and graticule of the tile, drawn large and averaged down to 256 px."""
    size = TILE * SUPERSAMPLE
    scale = size / (bounds.right - bounds.left)
    margin = 6 * (bounds.right - bounds.left) / TILE  # wide lines reach in from outside
    area = (
        bounds.left - margin,
        bounds.bottom - margin,
        bounds.right + margin,
        bounds.top + margin,
    )
    canvas = Image.new("RGB", (size, size), SEA)
    draw = ImageDraw.Draw(canvas)

    def paths(geometries: list[BaseGeometry]) -> list[list[float]]:
        # One transform for all the coordinates, then one flat [x, y, x, y...] list per path.
        if not geometries:
            return []
        coords = shapely.get_coordinates(geometries)
        xy = np.column_stack(
            [(coords[:, 0] - bounds.left) * scale, (bounds.top - coords[:, 1]) * scale]
        )
        ends = np.cumsum(shapely.get_num_coordinates(geometries))[:-1]
        return [chunk.ravel().tolist() for chunk in np.split(xy, ends)]

    def fill(shapes: list[BaseGeometry], colour: Colour, holes: Colour) -> None:
        polygons = _parts(shapes, shapely.GeometryType.POLYGON)
        rings = shapely.get_rings(polygons)  # each polygon's outline, then its holes
        count = shapely.get_num_interior_rings(polygons) + 1
        outline = np.zeros(len(rings), dtype=bool)
        outline[np.cumsum(count) - count] = True
        for path, outer in zip(paths(list(rings)), outline, strict=True):
            draw.polygon(path, fill=colour if outer else holes)

    def stroke(shapes: list[BaseGeometry], colour: Colour, width: int) -> None:
        for path in paths(list(_parts(shapes, shapely.GeometryType.LINESTRING))):
            draw.line(path, fill=colour, width=width)

    band = _band(z)
    fill(_layer("land", band).within(area), LAND, SEA)
    fill(_layer("lakes", band).within(area), SEA, LAND)
    if z >= GRATICULE_FROM_ZOOM:
        _draw_graticule(draw, z, bounds, scale)
    if z >= REGIONS_FROM_ZOOM:
        stroke(_layer("regions", band).within(area), REGION, 1 if z <= 7 else 2)
    if z >= RIVERS_FROM_ZOOM:
        stroke(_layer("rivers", band).within(area), RIVER, min(2 + (z - 4) // 3, 5))
    stroke(_layer("borders", band).within(area), BORDER, 2 if z <= 4 else 3 if z <= 8 else 4)
    return canvas.resize((TILE, TILE), Image.Resampling.BOX)


def _parts(shapes: list[BaseGeometry], kind: shapely.GeometryType) -> np.ndarray:
    """The simple parts of `kind` in `shapes` (clipping makes multi-parts and collections)."""
    parts = shapely.get_parts(shapely.get_parts(np.asarray(shapes, dtype=object)))
    return parts[shapely.get_type_id(parts) == kind]


def _graticule_step(z: int) -> float:
    """Degrees between graticule lines: about two lines across a tile."""
    span = 360 / 2**z
    return min((s for s in GRATICULE_STEPS if s >= span / 2.5), default=GRATICULE_STEPS[0])


def _graticule_lines(
    z: int, bounds: morecantile.commons.BoundingBox
) -> tuple[float, list[float], list[float]]:
    """The step and the meridians (lon) and parallels (lat) that cross the tile."""
    step = _graticule_step(z)
    lon0, lat0 = _TO_LONLAT.transform(bounds.left, bounds.bottom)
    lon1, lat1 = _TO_LONLAT.transform(bounds.right, bounds.top)
    meridians = [i * step for i in range(math.ceil(lon0 / step), math.floor(lon1 / step) + 1)]
    parallels = [i * step for i in range(math.ceil(lat0 / step), math.floor(lat1 / step) + 1)]
    return step, meridians, parallels


def _draw_graticule(
    draw: ImageDraw.ImageDraw, z: int, bounds: morecantile.commons.BoundingBox, scale: float
) -> None:
    """Thin lines, each on one row or column of output pixels (sharp after averaging)."""
    _, meridians, parallels = _graticule_lines(z, bounds)
    size = TILE * SUPERSAMPLE

    def crisp(position: float) -> float:
        return (position // SUPERSAMPLE) * SUPERSAMPLE + SUPERSAMPLE / 2 - 0.5

    for lon in meridians:
        mx, _ = _TO_MERCATOR.transform(lon, 0)
        px = crisp((mx - bounds.left) * scale)
        draw.line([px, 0, px, size], fill=GRATICULE, width=SUPERSAMPLE)
    for lat in parallels:
        _, my = _TO_MERCATOR.transform(0, lat)
        py = crisp((bounds.top - my) * scale)
        draw.line([0, py, size, py], fill=GRATICULE, width=SUPERSAMPLE)


def _degrees(value: float, step: float, axis: str, lang: str) -> str:
    """12.25° N, 8.5° W; in French 12,25° N, 8,5° O."""
    decimals = len(f"{step:g}".partition(".")[2])
    text = f"{abs(value):.{decimals}f}"
    if lang == "fr":
        text = text.replace(".", ",")
    hemispheres = {"lat": ("N", "S"), "lon": ("E", "O" if lang == "fr" else "W")}[axis]
    return f"{text}° {hemispheres[0] if value >= 0 else hemispheres[1]}"


def _draw_graticule_labels(
    draw: ImageDraw.ImageDraw,
    z: int,
    x: int,
    y: int,
    bounds: morecantile.commons.BoundingBox,
    placed: list[Label],
    lang: str,
) -> None:
    """Names of the graticule's lines, along the left of every 4th column of tiles and the top
    of every 4th row, where no place label is."""
    step, meridians, parallels = _graticule_lines(z, bounds)
    scale = TILE / (bounds.right - bounds.left)
    font = _font("Regular", 11)
    taken = [(lb.box[0] - x * TILE, lb.box[1] - y * TILE, lb.box[2] - x * TILE,
              lb.box[3] - y * TILE) for lb in placed]  # fmt: skip
    spots: list[tuple[str, float, float]] = []
    if x % GRATICULE_LABEL_EVERY == 0:
        for lat in parallels:
            _, my = _TO_MERCATOR.transform(0, lat)
            spots.append((_degrees(lat, step, "lat", lang), 3, (bounds.top - my) * scale - 8))
    if y % GRATICULE_LABEL_EVERY == 0:
        for lon in meridians:
            mx, _ = _TO_MERCATOR.transform(lon, 0)
            spots.append((_degrees(lon, step, "lon", lang), (mx - bounds.left) * scale + 3, 3))
    for text, tx, ty in spots:
        left, top, right, bottom = draw.textbbox((tx, ty), text, font=font, anchor="la")
        if top < 0 or bottom > TILE or right > TILE:
            continue
        if any(left < o[2] and o[0] < right and top < o[3] and o[1] < bottom for o in taken):
            continue
        draw.text((tx, ty), text, font=font, fill=GRATICULE_TEXT, anchor="la")
        taken.append((left - PADDING, top - PADDING, right + PADDING, bottom + PADDING))


def _draw_symbol(draw: ImageDraw.ImageDraw, x: float, y: float, kind: str) -> None:
    """A place's mark: a small dark square (ringed for a capital), unlike the sites' circles.
    (x, y) is a pixel's centre, so that the square is sharp."""
    r = int(_SYMBOL_RADIUS[kind])
    cx, cy = int(x), int(y)
    colour = MINOR_TEXT if kind == "village" else TEXT
    draw.rectangle([cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1], fill=HALO)
    draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
    if kind == "capital":
        draw.rectangle([cx - r + 2, cy - r + 2, cx + r - 2, cy + r - 2], fill=HALO)
        draw.rectangle([cx - 1, cy - 1, cx + 1, cy + 1], fill=colour)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()
