"""The report's map image: basemap tiles where they belong, the zone drawn where it lies, a scale
bar whose length in pixels is the geodesic length it states, a north arrow and a legend; and the
colours are still the map app's. Positions are checked with pyproj's own Web Mercator, lengths
with pyproj.Geod, never with the module's arithmetic."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from geo_service.domain import registry
from geo_service.reports import styles
from geo_service.reports.mapimage import Shape, fit, render
from geo_service.reports.styles import CONFLICT, RESULT, ZONE, Look, colour_of, feature_style
from geo_service.tiles import basemap
from tests.analysis.conftest import GEOD

ROOT = Path(__file__).resolve().parents[2]
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
TO_DEGREES = Transformer.from_crs(3857, 4326, always_xy=True)


def pixels(image) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image.png)).convert("RGB")).astype(int)


def to_pixel(image, lon: float, lat: float) -> tuple[float, float]:
    """Where (lon, lat) falls in the image, from its stated bounds and pyproj's Mercator."""
    west, south, east, north = image.view.bounds
    (x0, x1), (y0, y1) = TO_MERCATOR.transform([west, east], [north, south])
    x, y = TO_MERCATOR.transform(lon, lat)
    return (x - x0) / (x1 - x0) * image.view.width, (y0 - y) / (y0 - y1) * image.view.height


def to_degrees(image, x: float, y: float) -> tuple[float, float]:
    west, south, east, north = image.view.bounds
    (x0, x1), (y0, y1) = TO_MERCATOR.transform([west, east], [north, south])
    return TO_DEGREES.transform(
        x0 + x / image.view.width * (x1 - x0), y0 - y / image.view.height * (y0 - y1)
    )


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


@pytest.mark.parametrize("lat", [-12.3, 11.4, 61.2])
def test_zone_drawn_where_it_lies_and_scale_bar_is_geodesic(lat):
    zone = box(-8.40, lat, -8.37, lat + 0.03)
    view = fit([zone])
    blank = pixels(render(view, [], "en"))
    image = render(view, [Shape(zone, ZONE, "Screened zone")], "en")
    drawn = pixels(image)
    assert image.size == (view.width, drawn.shape[0]) and drawn.shape[0] > view.height

    # Inside the zone (away from its outline) the basemap is tinted by the zone's fill at 20 %.
    (left, top), (right, bottom) = to_pixel(image, -8.40, lat + 0.03), to_pixel(image, -8.37, lat)
    assert right - left > 0.3 * view.width or bottom - top > 0.3 * view.height  # it fills the map
    inner = (slice(round(top) + 6, round(bottom) - 6), slice(round(left) + 6, round(right) - 6))
    expected = 0.8 * blank[inner] + 0.2 * hex_rgb(ZONE.fill)
    assert np.abs(drawn[inner] - expected).max() <= 3
    # Its outline runs along its edges, in the zone's colour; far from it nothing changed.
    edge = drawn[round((top + bottom) / 2), round(left) - 1 : round(left) + 2]
    assert np.abs(edge - hex_rgb(ZONE.colour)).sum(axis=1).min() < 60
    assert (drawn[: round(top) - 10, :200] == blank[: round(top) - 10, :200]).all()

    # The bar: its ends are the leftmost and rightmost dark pixels of its middle row.
    bar = image.scale
    row = drawn[bar.y + 4, : view.width // 2]
    dark = np.flatnonzero((row < 70).all(axis=1))
    start, end = dark.min(), dark.max()
    assert end - start == pytest.approx(bar.length_px, abs=1.5)
    (lon0, lat0), (lon1, lat1) = (
        to_degrees(image, start, bar.y + 4),
        to_degrees(image, end, bar.y + 4),
    )
    measured = GEOD.inv(lon0, lat0, lon1, lat1)[2]
    amount, unit = re.fullmatch(r"([\d.,]+) (m|km)", bar.label).groups()
    stated = float(amount.replace(",", "")) * (1000 if unit == "km" else 1)
    assert stated == bar.metres
    assert measured == pytest.approx(stated, rel=0.02)
    assert view.width / 10 <= bar.length_px <= view.width / 4  # a round length, 1, 2 or 5 x 10^n


def test_basemap_tiles_are_pasted_where_they_belong():
    view = fit([box(-8.5, 11.3, -8.2, 11.6)])
    drawn = pixels(render(view, [], "en"))
    for x, y in [(5, 5), (600, 380), (1100, 700)]:
        gx, gy = view.left + x, view.top + y
        tile = Image.open(io.BytesIO(basemap.render(view.zoom, gx // 256, gy // 256)))
        assert tuple(drawn[y, x]) == tile.convert("RGB").getpixel((gx % 256, gy % 256))


def test_every_feature_kind_is_drawn_in_its_colour_and_named_in_the_legend():
    zone = box(-8.40, 11.40, -8.37, 11.43)
    title = box(-8.385, 11.41, -8.30, 11.50)
    river = LineString([(-8.45, 11.38), (-8.36, 11.47)])
    village = Point(-8.39, 11.445)
    shapes = [
        Shape(title, feature_style(Look(1, "concession"), {"title_type": "exploitation"}), "Title"),
        Shape(river, feature_style(Look(2, "reference", "river"), {}), "River"),
        Shape(zone, ZONE, "Zone"),
        Shape(zone.intersection(title), CONFLICT, "Overlap"),
        Shape(village, feature_style(Look(3, "reference", "settlement"), {}), "Village"),
    ]
    view = fit([zone, village])
    blank, image = pixels(render(view, [], "fr")), render(view, shapes, "fr")
    drawn = pixels(image)
    assert image.legend == ("Title", "River", "Zone", "Overlap", "Village")

    def near(point: Point, colour: str, opacity: float) -> bool:
        """Some pixel around `point` is `colour` laid at `opacity` over the basemap."""
        x, y = (round(v) for v in to_pixel(image, point.x, point.y))
        around = (slice(y - 2, y + 3), slice(x - 2, x + 3))
        expected = opacity * hex_rgb(colour) + (1 - opacity) * blank[around]
        return np.abs(drawn[around] - expected).sum(axis=-1).min() <= 12

    assert near(village, styles.BY_THEME["settlement"], 0.85)  # the village's dot
    assert near(river.interpolate(0.5, normalized=True), styles.BY_THEME["river"], 0.9)
    # The overlap: the conflict red over the title's blue over the zone's fill.
    x, y = (round(v) for v in to_pixel(image, -8.378, 11.42))
    red, green, blue = drawn[y, x]
    assert red > green + 40 and red > blue
    # The legend strip under the map shows each sample: the title's fill, tinted, and the river.
    strip = drawn[image.view.height :].reshape(-1, 3)
    title_fill = 0.7 * 255 + 0.3 * hex_rgb("#08306b")
    assert (np.abs(strip - title_fill).sum(axis=1) <= 6).any()
    assert (np.abs(strip - hex_rgb(styles.BY_THEME["river"])).sum(axis=1) <= 6).any()
    # The north arrow is at the top right: dark ink on a pale box.
    corner = drawn[14:92, -62:-18].reshape(-1, 3)
    assert (corner < 60).all(axis=1).sum() > 100 and (corner > 240).all(axis=1).sum() > 500


def test_nothing_to_show_gives_the_world_and_the_poles_and_antimeridian_do_not_break_it():
    image = render(fit([]), [], "en")
    assert image.view.zoom == 2 and image.legend == ()
    assert Image.open(io.BytesIO(image.png)).format == "PNG"
    for edge in (box(-179.9, -89.9, 179.9, 89.9), box(179.5, 88.0, 179.9, 89.99)):
        image = render(fit([edge]), [Shape(edge, ZONE, "Zone")], "en")
        assert image.legend == ("Zone",) and image.scale.metres > 0


def test_the_colours_are_the_registrys_on_paper_and_in_the_app():
    """Reports and the app read one registry: styles.js holds no copy of a kind's or a theme's
    colours (it reads the registry the page inlines), and the reports' rules take theirs."""
    js = (ROOT / "web/static/app/styles.js").read_text(encoding="utf-8")
    for kind, spec in registry.KINDS.items():
        if spec.colour_by:
            assert styles.BY_KIND[kind] == (spec.colour_by, spec.colours)
            assert not any(colour in js for colour in spec.colours.values()), kind
    assert styles.BY_THEME == registry.THEME_COLOURS
    assert not any(colour in js for colour in registry.THEME_COLOURS.values())
    assert 'document.getElementById("registry")' in js
    assert "THEME_COLOURS[layer.theme] || layer.colour" in js  # then the palette's, by layer id
    for status, look in registry.KINDS["concession"].outlines.items():
        drawn = styles.CONCESSION_STATUS[status]
        assert drawn.get("dash") == (tuple(look["dash"]) if "dash" in look else None)
        assert drawn.get("fill_opacity", 0.3) == look.get("fill_opacity", 0.3)
    zones = (ROOT / "web/static/app/zones.js").read_text(encoding="utf-8")
    assert f'color: "{ZONE.colour}"' in zones and f'fillColor: "{ZONE.fill}"' in zones
    assert f'CONFLICT_STYLE = {{ color: "{CONFLICT.colour}"' in zones
    research = (ROOT / "web/static/app/research.js").read_text(encoding="utf-8")
    assert f'RESULT_COLOURS = ["{RESULT.colour}"' in research


def test_a_layers_own_style_wins_as_in_the_app():
    """colourOf in styles.js: the layer's own attribute and categories, the other values in the
    layer's colour; else the kind's colours (unknown values grey), the theme's, the palette's."""
    own = Look(
        7,
        "concession",
        None,
        {"colour": "#123456", "by": "usage", "categories": {"or": "#abcdef", "true": "#0000ff"}},
    )
    assert colour_of(own, {"usage": "or", "title_type": "exploitation"}) == "#abcdef"
    assert colour_of(own, {"usage": True}) == "#0000ff"  # String(true) in the app
    assert colour_of(own, {"usage": "sable"}) == "#123456"
    assert colour_of(Look(7, "concession"), {"title_type": "unheard_of"}) == styles.GREY
    assert colour_of(Look(7, "reference", "river"), {}) == styles.BY_THEME["river"]
    assert colour_of(Look(13, "reference", None), {}) == "#1f77b4"  # palette, round and round
