"""Zoning land for ASM in headless Chromium, in English and in French: the available-land
search over the map's view drawn and listed (pieces and hectares checked against shapely +
pyproj), one piece made a draft zone in one click, and the zone's lifecycle history (who, when,
why) shown in its panel as it moves.

Generated data in the Ténéré: one gold deposit, one tin deposit and a road 1 km east of the
gold, so the land within 3 km of the gold is two pieces either side of the road's buffer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, mapping

from tests.analysis.conftest import geod_ha
from tests.conftest import bearer
from tests.web.conftest import _messages, english_on

LON, LAT = 13.6, 19.6
GOLD, TIN = Point(LON, LAT), Point(LON + 0.3, LAT)  # the tin is off the view
ROAD = LineString([(LON + 0.0095, LAT - 0.1), (LON + 0.0095, LAT + 0.1)])
WITHIN_M, ROAD_M = 3000.0, 300.0
TOLERANCE = 0.005  # as in tests/analysis/test_available_land.py (UTM scale, 64-gons)


def _expected_hectares() -> list[float]:
    """The pieces by shapely in a local azimuthal equidistant projection, Geod for areas."""
    local = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={LAT} +lon_0={LON} +datum=WGS84", always_xy=True
    )
    back = Transformer.from_crs(local.target_crs, "EPSG:4326", always_xy=True)

    def through(t: Transformer, g):
        return shapely.transform(g, lambda xy: np.column_stack(t.transform(*xy.T)))

    disk = through(local, GOLD).buffer(WITHIN_M, quad_segs=16)
    free = disk.difference(through(local, ROAD).buffer(ROAD_M, quad_segs=16))
    return sorted((geod_ha(through(back, p)) for p in free.geoms), reverse=True)


def _post_layer(server: str, admin: dict, slug: str, **spec: Any) -> None:
    made = httpx.post(
        f"{server}/layers",
        json={"slug": slug, "title": slug, "visibility": "public", **spec},
        headers=admin,
    )
    assert made.status_code == 201, made.text


@pytest.fixture(scope="module")
def planning(live_server: str, keys, demo) -> Iterator[dict[str, str]]:
    admin = bearer(keys["admin"])
    tag = uuid.uuid4().hex[:6]
    slugs = {"sites": f"plan-sites-{tag}", "roads": f"plan-roads-{tag}"}
    _post_layer(live_server, admin, slugs["sites"], kind="mine_site")
    _post_layer(live_server, admin, slugs["roads"], theme="road")
    for slug, geometry, props in [
        (slugs["sites"], GOLD, {"name": "Gisement d'or", "minerals": ["gold"]}),
        (slugs["sites"], TIN, {"name": "Étain", "minerals": ["tin"]}),
        (slugs["roads"], ROAD, {"name": "Piste"}),
    ]:
        feature = {"type": "Feature", "geometry": mapping(geometry), "properties": props}
        made = httpx.post(f"{live_server}/collections/{slug}/items", json=feature, headers=admin)
        assert made.status_code == 201, made.text
    yield slugs
    for slug in slugs.values():
        httpx.delete(f"{live_server}/layers/{slug}", headers=admin)


def _number(text: str) -> float:
    """A number as en-GB (1,234.5) or fr-FR (1 234,5) writes it."""
    if "," in text and "." not in text and not re.search(r",\d{3}(\D|$)", text):
        text = text.replace(",", ".")
    return float(re.sub(r"[^\d.]", "", text.replace(",", "")))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_available_land_becomes_a_draft_zone_with_its_lifecycle(
    open_map, planning, live_server: str, lang: str
) -> None:
    words = _messages(lang)
    page = open_map("editor", lang=lang)
    page.click('[data-tab="zones"]')
    page.evaluate("b => app.map.fitBounds(b)", [[LAT - 0.06, LON - 0.06], [LAT + 0.06, LON + 0.06]])
    page.locator("#land-box summary").click()
    road = page.locator(f'.land-exclude[data-layer="{planning["roads"]}"]')
    road.locator("input[type=checkbox]").check()
    road.locator("input[type=number]").fill(str(ROAD_M))
    page.select_option("#land-near", planning["sites"])
    page.fill("#land-within", str(WITHIN_M))
    page.fill("#land-minerals", "gold")
    page.click("#land-find")
    pieces = page.locator("#land-results li.land-piece")
    page.wait_for_function("document.querySelectorAll('#land-results li.land-piece').length > 0")
    expected = _expected_hectares()
    assert pieces.count() == len(expected) == 2
    shown = [_number(pieces.nth(i).locator("button.link").inner_text().split(":")[-1])
             for i in range(pieces.count())]  # fmt: skip
    assert shown == pytest.approx(expected, rel=TOLERANCE)
    assert page.evaluate("app.availability.drawn.getLayers().length") == 2
    near_road = pieces.first.locator(f'li.nearby[data-layer="{planning["roads"]}"]')
    assert "Piste" in near_road.inner_text()
    if lang == "fr":
        assert english_on(page) == []

    # One click: the largest piece is a draft zone, opened with its lifecycle.
    pieces.first.locator("button.land-to-zone").click()
    page.wait_for_function("app.zones.zone.id !== null")
    zone_id = page.evaluate("app.zones.zone.id")
    draft = words["value.status.draft"]
    page.wait_for_function(
        "s => document.getElementById('zone-current-status')?.textContent === s", arg=draft
    )
    stored = httpx.get(f"{live_server}/collections/asm-zones/items/{zone_id}").json()
    assert stored["properties"]["minerals"] == ["gold"]
    assert geod_ha(shapely.geometry.shape(stored["geometry"])) == pytest.approx(
        expected[0], rel=TOLERANCE
    )
    moves = page.locator("#zone-transitions li.transition")
    moves.first.wait_for()
    assert moves.count() == 1
    assert moves.first.locator(".move-what").inner_text() == words["lifecycle.created"].replace(
        "{status}", draft
    )

    # A move through the panel: the history shows it first, with who and why.
    page.click('button.move[data-status="proposed"]')
    page.fill("#move-comment", "Proposée par la DNGM")
    page.click("#move-confirm")
    page.wait_for_function(
        "document.querySelectorAll('#zone-transitions li.transition').length === 2"
    )
    latest = moves.first
    proposed = words["value.status.proposed"]
    assert latest.locator(".move-what").inner_text() == f"{draft} → {proposed}"
    assert latest.locator(".comment").inner_text() == "Proposée par la DNGM"
    assert "test-editor" in latest.locator(".by").inner_text()
    assert latest.get_attribute("data-to") == "proposed"
    if lang == "fr":
        assert english_on(page) == []
    # Tidy: the draft goes (an editor may delete a zone not in force).
    page.on("dialog", lambda d: d.accept())
    page.click("#zone-delete")
    page.wait_for_function("app.zones.zone.id === null")
