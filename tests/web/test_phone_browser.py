"""The map on a phone (390x844, touch) in headless Chromium: a one-row header whose search and
menu open on demand, the map first and nearly whole, the legend folded, the panel as a bottom
sheet (closed, half, full; tapped or dragged), touch wording and sizes, no sideways scroll;
the desktop layout left as it was; and the friendly page of a bare or mistaken `/embed`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.web.conftest import KEY_STORE, PAGE_WIDTHS

PHONE = {"width": 390, "height": 844}
TAP = 44  # px: the smallest a finger hits reliably


@pytest.fixture
def phone(browser, live_server: str, demo, keys) -> Iterator[Callable[..., object]]:
    """phone(role=None, lang=None) -> a page of the map on a phone, ready; console errors fail."""
    context = browser.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2, locale="en-GB"
    )
    errors: list[str] = []

    def open_(role: str | None = None, lang: str | None = None):
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        if role:
            page.add_init_script(
                f"sessionStorage.setItem({json.dumps(KEY_STORE)}, {json.dumps(keys[role])})"
            )
        page.goto(f"{live_server}/map" + (f"?lang={lang}" if lang else ""))
        page.wait_for_selector("body.ready")
        return page

    yield open_
    context.close()
    assert errors == []


def _box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def _no_sideways_scroll(page) -> None:
    width = page.evaluate(PAGE_WIDTHS)
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"


def _sheet(page) -> tuple[str, float]:
    """The sheet's state and the share of the map area it covers, once it has settled."""
    page.wait_for_timeout(300)  # its height eases in 0.2 s
    state = page.evaluate("document.body.dataset.sheet")
    share = _box(page, "#sidebar")["height"] / _box(page, "main.layout")["height"]
    return state, share


def _small_targets(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(
        selector,
        f"""els => els.filter(e => e.offsetParent !== null).map(e => [e, e.getBoundingClientRect()])
            .filter(([e, r]) => r.width < {TAP} - 0.5 || r.height < {TAP} - 0.5)
            .map(([e, r]) => `${{e.id || e.className || e.textContent}} ${{r.width}}x${{r.height}}`)""",
    )


def test_one_row_header_map_first_legend_folded_no_sideways_scroll(phone) -> None:
    page = phone()
    header = _box(page, ".topbar")
    assert header["height"] <= 56
    for selector in (".brand", "#search-open", "#menu-toggle"):
        item = _box(page, selector)
        assert (
            header["y"] <= item["y"]
            and item["y"] + item["height"] <= header["y"] + header["height"]
        )
    assert page.locator("#search-input").is_hidden()
    assert page.locator("#auth-toggle").is_hidden() and page.locator("#lang-select").is_hidden()

    # The map fills everything under the header; the closed sheet keeps only its tab row.
    map_box = _box(page, "#map")
    assert map_box["y"] == pytest.approx(header["height"], abs=1)
    assert map_box["height"] == pytest.approx(PHONE["height"] - header["height"], abs=1)
    state, share = _sheet(page)
    sheet = _box(page, "#sidebar")
    assert state == "closed" and sheet["height"] <= 60
    visible_map = map_box["height"] - sheet["height"]
    assert visible_map / PHONE["height"] > 0.85

    legend = page.locator(".legend")
    assert "folded" in legend.get_attribute("class")
    assert page.locator(".legend-toggle").get_attribute("aria-expanded") == "false"
    assert _box(page, ".legend")["height"] < 70
    # Leaflet's controls sit above the closed sheet, not under it.
    for control in (".leaflet-control-scale", ".legend", ".leaflet-control-attribution"):
        bottom = _box(page, control)
        assert bottom["y"] + bottom["height"] <= sheet["y"] + 1, control
    scale = _box(page, ".leaflet-control-scale")
    attribution = _box(page, ".leaflet-control-attribution")
    assert scale["y"] + scale["height"] <= attribution["y"] + 1  # not hidden under it
    _no_sideways_scroll(page)
    assert _small_targets(page, ".topbar button, .tabs button, #sheet-toggle, .leaflet-bar a") == []


def test_the_bottom_sheet_opens_half_full_and_closes_by_tap_and_drag(phone) -> None:
    page = phone()
    page.tap('[data-tab="zones"]')
    state, share = _sheet(page)
    assert state == "half" and share == pytest.approx(0.5, abs=0.02)
    assert page.locator("#tab-zones").is_visible()
    assert page.get_attribute("#sheet-toggle", "aria-expanded") == "true"
    _no_sideways_scroll(page)
    page.tap('[data-tab="layers"]')  # another tab: the sheet stays as it is
    assert _sheet(page) == ("half", pytest.approx(0.5, abs=0.02))
    assert page.locator("#tab-layers").is_visible() and page.locator("#tab-zones").is_hidden()
    assert _small_targets(page, "#tab-layers button, #tab-layers .layer-row") == []

    page.tap("#sheet-toggle")
    state, share = _sheet(page)
    assert state == "full" and share > 0.95
    _no_sideways_scroll(page)
    page.tap("#sheet-toggle")
    state, share = _sheet(page)
    assert state == "closed" and _box(page, "#sidebar")["height"] <= 60
    assert page.get_attribute("#sheet-toggle", "aria-expanded") == "false"

    # Dragged by its tab row: up two thirds of the screen is full, back down near the bottom
    # is closed; a drag is not a tab switch.
    row = _box(page, ".tabs")
    x, y = row["x"] + row["width"] / 2, row["y"] + row["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y - 300, steps=6)
    page.mouse.move(x, y - 600, steps=6)
    page.mouse.up()
    assert _sheet(page)[0] == "full"
    assert page.locator("#tab-layers").is_visible()
    row = _box(page, ".tabs")
    x, y = row["x"] + row["width"] / 2, row["y"] + row["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, PHONE["height"] - 20, steps=8)
    page.mouse.up()
    assert _sheet(page)[0] == "closed"


def test_search_and_menu_open_from_the_header(phone, keys) -> None:
    page = phone()
    page.tap("#search-open")
    search = page.locator("#search-input")
    assert search.is_visible() and page.evaluate("document.activeElement.id") == "search-input"
    assert page.locator(".brand").is_hidden()
    assert _box(page, "#search-input")["width"] > 250
    search.fill("ml-asm-0001")
    hit = page.locator(".search-hit").first
    hit.wait_for()
    _no_sideways_scroll(page)
    hit.tap()
    page.locator(".leaflet-popup-content .popup h3").wait_for()
    assert search.is_hidden() and page.locator(".brand").is_visible()

    page.tap("#menu-toggle")
    assert page.get_attribute("#menu-toggle", "aria-expanded") == "true"
    assert page.locator("#auth-toggle").is_visible() and page.locator("#lang-select").is_visible()
    _no_sideways_scroll(page)
    assert _small_targets(page, "#header-menu button, #header-menu select") == []
    page.tap("#auth-toggle")
    page.fill("#auth-key", keys["editor"])
    page.tap("#auth-submit")
    page.locator("#auth-user").wait_for()
    assert page.locator("#auth-name").inner_text() == "test-editor"
    page.select_option("#lang-select", "fr")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    page.tap("#map", position={"x": 200, "y": 300})  # a tap outside closes the menu
    assert page.locator("#header-menu").is_hidden()
    assert _box(page, ".topbar")["height"] <= 56


def test_touch_wording_and_drawing_with_a_finger(phone) -> None:
    page = phone("editor")
    coordinates = page.locator("#coordinates")
    assert coordinates.inner_text() == "Tap the map for coordinates"
    assert page.locator('[data-i18n="phone.upload_drop"]').count() == 1
    page.evaluate("app.map.setView([22.5, 14.5], 13)")  # nothing drawn there
    page.tap("#map", position={"x": 195, "y": 300})
    assert re.match(r"-?\d+\.\d{5}°, -?\d+\.\d{5}°", coordinates.inner_text())

    page.tap('[data-tab="zones"]')
    assert _sheet(page)[0] == "half"
    page.tap("#zone-draw")  # the sheet gets out of the way of the drawing
    page.wait_for_function("app.map.pm?.globalDrawModeEnabled()")
    assert _sheet(page)[0] == "closed"
    assert page.locator(".leaflet-pm-toolbar.leaflet-pm-draw").is_visible()
    assert _small_targets(page, ".leaflet-bar a") == []
    tooltip = page.locator(".leaflet-tooltip")
    box = _box(page, "#map")
    zoom = page.evaluate("app.map.getZoom()")
    for number, (x, y) in enumerate([(170, 110), (340, 130), (330, 400), (180, 380)], start=1):
        page.touchscreen.tap(box["x"] + x, box["y"] + y)
        page.wait_for_function(
            "n => app.map.pm.Draw.Polygon._layer.getLatLngs().length >= n", arg=number
        )
    assert "Tap" in tooltip.first.inner_text()
    # Quick taps place vertices: none of them is taken for a double tap that zooms.
    assert page.evaluate("app.map.getZoom()") == zoom
    page.touchscreen.tap(box["x"] + 170, box["y"] + 110)
    page.wait_for_function("app.zones.zone.layer !== null && app.zones.report !== null")
    assert _sheet(page)[0] == "half"  # back, with the report
    assert page.locator("#screening .report-head").count() == 1
    _no_sideways_scroll(page)


def test_the_desktop_layout_is_unchanged(open_map) -> None:
    page = open_map()
    for selector in ("#search-open", "#menu-toggle", "#sheet-toggle"):
        assert page.locator(selector).is_hidden()
    assert page.locator("#search-input").is_visible() and page.locator("#auth-toggle").is_visible()
    assert page.locator("#lang-select").is_visible()
    sidebar = _box(page, "#sidebar")
    map_box = _box(page, "#map")
    assert sidebar["x"] == 0 and sidebar["width"] == pytest.approx(360, abs=1)
    assert map_box["x"] == pytest.approx(sidebar["width"], abs=1)
    assert sidebar["height"] == pytest.approx(map_box["height"], abs=1)
    assert _box(page, ".topbar")["height"] < 60
    assert (
        page.locator("#coordinates").inner_text() == "Move the mouse over the map for coordinates"
    )


def test_a_bare_embed_is_a_page_saying_how_to_embed(live_server: str, demo) -> None:
    french = httpx.get(f"{live_server}/embed", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert french.status_code == 200
    assert french.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in french.text and "Intégrer une carte geo-service" in french.text
    example = re.search(r'id="embed-example" href="([^"]+)"', french.text).group(1)
    example = example.replace("&amp;", "&")
    assert example.startswith(f"{live_server}/embed?layers=") and example.endswith("lang=fr")
    assert httpx.get(example).status_code == 200  # the example works as it is
    assert "&lt;iframe src=" in french.text and "asm-zones" in french.text
    english = httpx.get(f"{live_server}/embed?lang=en")
    assert "Embed a geo-service map" in english.text and '<html lang="en">' in english.text

    # A mistake, in an iframe (a browser asks for HTML): the same page, saying what is wrong.
    unknown = httpx.get(
        f"{live_server}/embed?layers=no-such-layer&lang=fr", headers={"Accept": "text/html"}
    )
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert "Cette carte ne peut pas être affichée" in unknown.text
    assert "no-such-layer" in unknown.text
    empty = httpx.get(f"{live_server}/embed?layers=", headers={"Accept": "text/html"})
    assert empty.status_code == 400 and "Name at least one layer" in empty.text
    # A program that does not ask for HTML still gets the problem as JSON.
    program = httpx.get(f"{live_server}/embed?layers=no-such-layer")
    assert program.status_code == 404
    assert program.headers["content-type"].startswith("application/problem+json")


def test_an_iframe_of_a_mistaken_embed_shows_the_page(browser, live_server: str, demo) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/health")  # any page of ours to hold the iframe
    for query, text in (
        ("", "Embed a geo-service map"),
        ("?layers=no-such-layer&lang=fr", "Cette carte ne peut pas être affichée"),
    ):
        page.set_content(
            f'<iframe id="partner" src="{live_server}/embed{query}" width="360" height="600"></iframe>'
        )
        frame = page.frame_locator("#partner")
        frame.locator("h1").wait_for()
        assert text in frame.locator("body").inner_text()
        example = frame.locator("#embed-example")
        assert example.is_visible()
    width = (
        page.frame_locator("#partner")
        .locator("body")
        .evaluate("b => [document.documentElement.scrollWidth, window.innerWidth]")
    )
    assert width[0] <= width[1]
    context.close()
    assert errors == []
