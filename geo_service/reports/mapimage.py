"""A report's static map: our offline basemap tiles stitched, features drawn, scale and north.

The view is a window of Web Mercator at one integer zoom (the deepest at which everything that
must be seen fits), so the basemap's tiles (tiles/basemap.py, through the tile cache) are pasted
pixel for pixel, as the web map shows them. Features are drawn three times larger and averaged
down, for smooth edges. The scale bar states a round length in metres, measured on the WGS84
spheroid (pyproj.Geod) where the bar lies, so it stays true away from the equator; north is up
everywhere in Web Mercator. The legend is a strip under the map, so the picture explains itself
wherever it is pasted.

    >>> zone = box(-8.40, 11.40, -8.37, 11.43)
    >>> view = fit([zone], 1200, 760)
    >>> image = render(view, [Shape(zone, ZONE, "Screened zone")], "en")
    >>> view.zoom, image.scale.label, round(image.scale.length_px)
    (14, '2 km', 213)
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from geo_service.analysis.messages import Lang, number
from geo_service.reports.styles import Style
from geo_service.reports.words import word
from geo_service.settings import get_settings
from geo_service.tiles.serve import basemap_tile

FONTS = Path(__file__).resolve().parents[2] / "data" / "fonts"
TILE = 256
WIDTH, HEIGHT = 1200, 760  # the map, px; about 170 dpi across an A4 page's 180 mm
SUPERSAMPLE = 3
MIN_ZOOM, MAX_ZOOM = 2, 17  # below 2 the world is narrower than the map
MAX_LAT = 85.05112878
INK = (33, 33, 33)
SEA = (214, 230, 242)
_GEOD = Geod(ellps="WGS84")
_NICE = (1, 2, 5)


@lru_cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (data/fonts, with its licence): every accent French and West African
    languages need."""
    return ImageFont.truetype(
        str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size
    )


@dataclass(frozen=True)
class View:
    """A `width` x `height` px window of Web Mercator at `zoom`, its top-left corner at global
    pixel (`left`, `top`) of that zoom (256 px tiles, origin at 180°W, 85.05°N)."""

    zoom: int
    left: int
    top: int
    width: int
    height: int

    @property
    def world(self) -> int:
        return TILE << self.zoom

    def pixels(self, lonlat: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """(lon, lat) rows in degrees -> (x, y) rows in px of this view, times `scale`."""
        lon, lat = lonlat[:, 0], np.clip(lonlat[:, 1], -MAX_LAT, MAX_LAT)
        x = (lon + 180.0) / 360.0 * self.world - self.left
        y = (1.0 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2.0 * self.world - self.top
        return np.column_stack([x, y]) * scale

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        """The degrees (lon, lat) at px (x, y) of this view."""
        lon = (self.left + x) / self.world * 360.0 - 180.0
        lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (self.top + y) / self.world))))
        return lon, lat

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees, EPSG:4326."""
        west, north = self.lonlat(0, 0)
        east, south = self.lonlat(self.width, self.height)
        return west, south, east, north


def fit(
    geometries: Iterable[BaseGeometry],
    width: int = WIDTH,
    height: int = HEIGHT,
    margin: float = 0.08,
    max_zoom: int = MAX_ZOOM,
) -> View:
    """The deepest view in which the geometries (EPSG:4326) fit with `margin` of each side
    free, centred on them (at zoom 2 at least); the world when there is nothing."""
    shapes = [g for g in geometries if g is not None and not g.is_empty]
    if not shapes:
        world = TILE << MIN_ZOOM
        return View(MIN_ZOOM, (world - width) // 2, (world - height) // 2, width, height)
    west, south, east, north = shapely.total_bounds(shapes)
    probe = View(0, 0, 0, width, height)
    (x0, y0), (x1, y1) = probe.pixels(np.array([[west, north], [east, south]]))
    room_x, room_y = width * (1 - 2 * margin), height * (1 - 2 * margin)
    spans = [room / max(extent, 1e-9) for room, extent in ((room_x, x1 - x0), (room_y, y1 - y0))]
    zoom = int(max(MIN_ZOOM, min(max_zoom, math.floor(math.log2(min(spans))))))
    scale = 2**zoom
    cx, cy = (x0 + x1) / 2 * scale, (y0 + y1) / 2 * scale
    return View(zoom, round(cx - width / 2), round(cy - height / 2), width, height)


@dataclass(frozen=True)
class Shape:
    """A geometry (EPSG:4326) drawn in `style`, named `label` in the legend."""

    geometry: BaseGeometry
    style: Style
    label: str


@dataclass(frozen=True)
class ScaleBar:
    """The bar's left end and top edge (px of the image), its length (px) and what it states."""

    x: int
    y: int
    length_px: float
    metres: float
    label: str


@dataclass(frozen=True)
class MapImage:
    """The PNG (the map, then the legend strip under it) and how it was made."""

    png: bytes
    view: View
    scale: ScaleBar
    legend: tuple[str, ...]
    size: tuple[int, int]


def _rgba(hex_colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return (value >> 16, (value >> 8) & 255, value & 255, round(255 * opacity))


def _basemap(view: View) -> Image.Image:
    """The basemap tiles under `view`, pasted at their place (sea beyond the poles); through
    the tile cache, so a report reuses the tiles the map has drawn and keeps those it draws."""
    image = Image.new("RGB", (view.width, view.height), SEA)
    count = 1 << view.zoom
    settings = get_settings()
    rows = range(max(0, view.top // TILE), min(count - 1, (view.top + view.height - 1) // TILE) + 1)
    for ty in rows:
        for tx in range(view.left // TILE, (view.left + view.width - 1) // TILE + 1):
            png = basemap_tile(settings, view.zoom, tx % count, ty).body
            tile = Image.open(io.BytesIO(png))
            image.paste(tile.convert("RGB"), (tx * TILE - view.left, ty * TILE - view.top))
    return image


def _dashes(line: np.ndarray, pattern: tuple[float, ...]) -> list[np.ndarray]:
    """The pieces of a polyline (px) drawn by a dash pattern (px on, px off, on, off...)."""
    steps = np.hypot(*np.diff(line, axis=0).T)
    line = np.vstack([line[:1], line[1:][steps > 0]])
    steps = steps[steps > 0]
    if not len(steps) or sum(pattern) <= 0:
        return [] if not len(steps) else [line]
    along = np.concatenate([[0.0], np.cumsum(steps)])

    def at(distance: float) -> np.ndarray:
        return np.array(
            [[np.interp(distance, along, line[:, 0]), np.interp(distance, along, line[:, 1])]]
        )

    pieces = []
    pairs = list(zip(pattern[0::2], pattern[1::2], strict=False)) or [(pattern[0], 0.0)]
    start, n = 0.0, 0
    while start < along[-1]:
        on, off = pairs[n % len(pairs)]
        end = min(start + on, along[-1])
        inner = line[np.searchsorted(along, start, "right") : np.searchsorted(along, end, "left")]
        pieces.append(np.vstack([at(start), inner, at(end)]))
        start, n = start + on + off, n + 1
    return pieces


def _stroke(draw: ImageDraw.ImageDraw, line: np.ndarray, style: Style, s: int) -> None:
    colour = _rgba(style.colour, style.opacity)
    width = max(1, round(style.width * s))
    pieces = _dashes(line, tuple(part * s for part in style.dash)) if style.dash else [line]
    for piece in pieces:
        if len(piece) >= 2:
            draw.line([tuple(p) for p in piece], fill=colour, width=width, joint="curve")


def _fill(canvas: Image.Image, polygon: shapely.Polygon, style: Style) -> None:
    """Fill a polygon (px) with its holes left open, blended at the style's opacity."""
    if style.fill is None or style.fill_opacity <= 0:
        return
    x0, y0, x1, y1 = (int(v) for v in np.floor(polygon.bounds))
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1 + 2, canvas.width), min(y1 + 2, canvas.height)
    if x1 <= x0 or y1 <= y0:
        return
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    pen = ImageDraw.Draw(mask)
    pen.polygon([(x - x0, y - y0) for x, y in polygon.exterior.coords], fill=255)
    for hole in polygon.interiors:
        pen.polygon([(x - x0, y - y0) for x, y in hole.coords], fill=0)
    mask = mask.point(lambda v: round(v * style.fill_opacity))
    canvas.paste(_rgba(style.fill)[:3], (x0, y0, x1, y1), mask)


def _parts(geometry: BaseGeometry) -> tuple[list, list, list]:
    """Polygons, lines and points of any geometry (collections opened)."""
    polygons, lines, points = [], [], []
    for part in shapely.get_parts(geometry):
        kind = part.geom_type
        if kind in ("GeometryCollection", "MultiPolygon", "MultiLineString", "MultiPoint"):
            p, ln, pt = _parts(part)
            polygons += p
            lines += ln
            points += pt
        elif kind == "Polygon":
            polygons.append(part)
        elif kind in ("LineString", "LinearRing"):
            lines.append(part)
        elif kind == "Point":
            points.append(part)
    return polygons, lines, points


def _draw(view: View, shapes: Sequence[Shape]) -> Image.Image:
    """The basemap with every shape drawn: areas in the given order, then lines, then points."""
    s = SUPERSAMPLE
    size = (view.width * s, view.height * s)
    canvas = _basemap(view).resize(size, Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(canvas, "RGBA")  # on an RGB image, RGBA colours blend
    pad = 50 * s

    def to_px(geometry: BaseGeometry) -> BaseGeometry:
        moved = shapely.transform(geometry, lambda xy: view.pixels(xy, s))
        return shapely.clip_by_rect(moved, -pad, -pad, size[0] + pad, size[1] + pad)

    drawn = [(shape.style, _parts(to_px(shape.geometry))) for shape in shapes]
    for style, (polygons, _, _) in drawn:
        for polygon in polygons:
            _fill(canvas, polygon, style)
            for ring in (polygon.exterior, *polygon.interiors):
                _stroke(draw, np.asarray(ring.coords), style, s)
    for style, (_, lines, _) in drawn:
        for line in lines:
            _stroke(draw, np.asarray(line.coords), style, s)
    for style, (_, _, points) in drawn:
        r = style.radius * s
        for point in points:
            box = (point.x - r, point.y - r, point.x + r, point.y + r)
            fill = _rgba(style.fill or style.colour, style.fill_opacity)
            outline = _rgba(style.halo or style.colour)
            draw.ellipse(box, fill=fill, outline=outline, width=max(1, round(style.width * s)))
    return canvas.reduce(s)


def _round_metres(at_most: float) -> float:
    """The largest 1, 2 or 5 x 10^n metres not above `at_most`."""
    power = 10 ** math.floor(math.log10(at_most))
    return max(n * power for n in _NICE if n * power <= at_most)


def _distance_label(metres: float, lang: Lang) -> str:
    if metres >= 1000:
        return f"{number(metres / 1000, 1, lang)} km"
    return f"{number(metres, 2, lang)} m"


def _scale_bar(image: Image.Image, view: View, lang: Lang) -> ScaleBar:
    """A bar of a round geodesic length at the bottom left, on a pale box, label above it."""
    draw = ImageDraw.Draw(image, "RGBA")
    x, y, height = 24, view.height - 30, 8
    # The scale where the bar is, from a span of 10 px: Mercator's scale changes with latitude.
    lon0, lat = view.lonlat(x, y + height / 2)
    lon1, _ = view.lonlat(x + 10, y + height / 2)
    metres_per_px = _GEOD.inv(lon0, lat, lon1, lat)[2] / 10
    metres = _round_metres(view.width / 4 * metres_per_px)
    length = metres / metres_per_px
    label = _distance_label(metres, lang)
    text_font = font(16)
    text_w = draw.textlength(label, font=text_font)
    draw.rounded_rectangle(
        (x - 12, y - 30, x + max(length, text_w) + 12, y + height + 10),
        6,
        fill=(255, 255, 255, 210),
    )
    quarter = length / 4
    for i in range(4):
        fill = INK if i % 2 == 0 else (255, 255, 255)
        draw.rectangle((x + i * quarter, y, x + (i + 1) * quarter, y + height), fill=fill)
    draw.rectangle((x, y, x + length, y + height), outline=INK, width=1)
    draw.text((x, y - 5), label, font=text_font, fill=INK, anchor="ld")
    return ScaleBar(x, y, length, metres, label)


def _north_arrow(image: Image.Image) -> None:
    """An arrow pointing up (north in Web Mercator) under an N, at the top right."""
    draw = ImageDraw.Draw(image, "RGBA")
    cx, top = image.width - 40, 14
    draw.rounded_rectangle((cx - 22, top, cx + 22, top + 78), 6, fill=(255, 255, 255, 210))
    draw.text((cx, top + 4), "N", font=font(20, bold=True), fill=INK, anchor="mt")
    tip, base = (cx, top + 30), top + 72
    draw.polygon([tip, (cx - 12, base), (cx, base - 10)], fill=INK)
    draw.polygon([tip, (cx + 12, base), (cx, base - 10)], fill=(255, 255, 255), outline=INK)


def _swatch(draw: ImageDraw.ImageDraw, x: float, y: float, style: Style, is_area: bool) -> None:
    """The legend's sample of a style: a box for areas, a stroke for lines, a dot for points."""
    if is_area:
        fill = _rgba(style.fill, style.fill_opacity) if style.fill else None
        draw.rectangle((x, y - 8, x + 28, y + 8), fill=fill, outline=_rgba(style.colour), width=2)
    elif style.fill is not None and style.halo:
        r = style.radius
        fill = _rgba(style.fill or style.colour, style.fill_opacity)
        draw.ellipse((x + 14 - r, y - r, x + 14 + r, y + r), fill=fill, outline=INK, width=1)
    else:
        draw.line((x, y, x + 28, y), fill=_rgba(style.colour), width=max(2, round(style.width)))


def _legend(shapes: Sequence[Shape], width: int, lang: Lang) -> tuple[Image.Image, tuple[str, ...]]:
    """A white strip listing each label once with its sample, wrapped to `width`."""
    entries: dict[str, tuple[Style, bool]] = {}
    for shape in shapes:
        polygons, lines, points = _parts(shape.geometry)
        if shape.label not in entries and (polygons or lines or points):
            entries[shape.label] = (shape.style, bool(polygons))
    body, title_font = font(16), font(16, bold=True)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    title = word("legend.title", lang)
    x, row = 16 + measure.textlength(title, font=title_font) + 20, 0
    placed: list[tuple[float, int, str, Style, bool]] = []
    for label, (style, is_area) in entries.items():
        step = 28 + 8 + measure.textlength(label, font=body) + 24
        if x + step > width - 16 and placed:
            x, row = 16.0, row + 1
        placed.append((x, row, label, style, is_area))
        x += step
    line = 30
    strip = Image.new("RGB", (width, 20 + (row + 2) * line), (255, 255, 255))
    draw = ImageDraw.Draw(strip, "RGBA")
    draw.line((0, 0, width, 0), fill=(200, 200, 200), width=1)
    draw.text((16, 10 + line / 2), title, font=title_font, fill=INK, anchor="lm")
    for x, row, label, style, is_area in placed:
        y = 10 + row * line + line / 2
        _swatch(draw, x, y, style, is_area)
        draw.text((x + 36, y), label, font=body, fill=INK, anchor="lm")
    note = word("map.basemap", lang)
    draw.text(
        (16, 10 + (row + 1) * line + line / 2), note, font=font(13), fill=(90, 90, 90), anchor="lm"
    )
    return strip, tuple(entries)


def render(view: View, shapes: Sequence[Shape], lang: Lang) -> MapImage:
    """The map of `shapes` over the basemap in `view`, with scale bar, north arrow and legend."""
    image = _draw(view, shapes)
    scale = _scale_bar(image, view, lang)
    _north_arrow(image)
    strip, legend = _legend(shapes, view.width, lang)
    page = Image.new("RGB", (view.width, view.height + strip.height), (255, 255, 255))
    page.paste(image, (0, 0))
    page.paste(strip, (0, view.height))
    buffer = io.BytesIO()
    page.save(buffer, "PNG", compress_level=7)  # lossless; optimize=True takes 3x for 2 % less
    return MapImage(buffer.getvalue(), view, scale, legend, page.size)
