"""Screenshots of the map app's main screens for the docs (docs/screenshots/*.png).

Run against a service holding the demo data (`make run` in another terminal):

    .venv/bin/python docs/screenshots.py --base-url http://127.0.0.1:8000

It draws, saves and moves one ASM zone and imports one small layer, as a planner and a
researcher would, so use a demo database rather than a production one. `--phone` takes only
the phone layout's screenshots (390x844, touch; nothing is written).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A title of the demo cadastre, and a zone drawn across its eastern edge (lat, lon).
CONCESSION_VIEW = [[12.05, -9.15], [12.35, -8.8]]
ZONE = [(12.16, -9.0), (12.16, -8.92), (12.24, -8.92), (12.24, -9.0)]
UPLOAD = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"nom": "Forêt communautaire de Siby", "statut": "communautaire"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[-8.42, 12.33], [-8.25, 12.31], [-8.22, 12.45], [-8.4, 12.47], [-8.42, 12.33]]
                ],
            },
        }
    ],
}


def _open(page: Page, base: str, lang: str) -> None:
    page.goto(f"{base}/map?lang={lang}")
    page.wait_for_selector("body.ready")
    page.wait_for_load_state("networkidle")


def _click_map(page: Page, points: list[tuple[float, float]]) -> None:
    box = page.locator("#map").bounding_box()
    for lat, lng in points:
        x, y = page.evaluate(
            "([a, b]) => { const p = app.map.latLngToContainerPoint([a, b]); return [p.x, p.y]; }",
            [lat, lng],
        )
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(150)


def _shot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    # Until a zoom's animation ends, the tiles of the zoom before are drawn magnified.
    page.wait_for_function(
        "() => !window.app || (!app.map._animatingZoom && !(app.layers.grid && app.layers.grid.isLoading()))"
    )
    page.wait_for_timeout(400)
    page.screenshot(path=OUT / f"{name}.png")
    print(f"docs/screenshots/{name}.png")


def take_phone(base: str) -> None:
    """The map on a phone: as it opens (the map first, the sheet closed), and with a saved
    zone opened in the half-open sheet, its screening report under the map."""
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _launch(p)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
            device_scale_factor=2, locale="fr-FR",
        )  # fmt: skip
        page = context.new_page()
        _open(page, base, "fr")
        _shot(page, "phone-map")
        page.tap('[data-tab="zones"]')
        page.locator("#zone-list button.zone-link").first.wait_for()
        page.locator("#zone-list button.zone-link").first.tap()
        page.locator("#screening .report-head").wait_for()
        page.locator("#zone-status").scroll_into_view_if_needed()
        _shot(page, "phone-sheet")
        browser.close()


# The offline basemap over the demo region: the countries around (z5), the region (z9), and
# Siguiri with an ASM site of the demo north of it (z13), each (lat, lon, zoom).
BASEMAP_VIEWS = {
    "basemap-z5": (12.2, -8.5, 5),
    "basemap-z9": (12.15, -8.55, 9),
    "basemap-z13": (11.476, -9.18, 13),
}


def _launch(p):
    """Debian's Chromium, headless, with the flags this machine needs."""
    return p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)


def take_basemap(base: str) -> None:
    """The map page over the offline basemap at zooms 5, 9 and 13."""
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        _open(page, base, "en")
        for name, (lat, lon, zoom) in BASEMAP_VIEWS.items():
            page.evaluate("([a, b, z]) => { app.map.setView([a, b], z, { animate: false }); }",
                          [lat, lon, zoom])  # fmt: skip
            # Tiles drawn for the first time take a moment: wait until the basemap's are in.
            page.wait_for_function(
                """() => { const t = [...document.querySelectorAll("img.leaflet-tile")]
                    .filter(i => i.src.includes("/basemap/"));
                    return t.length > 0 && t.every(i => i.complete && i.naturalWidth > 0); }"""
            )
            _shot(page, name)
        browser.close()


def take_maplibre(base: str) -> None:
    """The MapLibre preview of a style of several demo layers, as a partner would open it."""
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        layers = "protected-areas,rivers,concessions,asm-zones,tailings,abandoned-mines,mine-sites"
        page.goto(f"{base}/tiles/preview?layers={layers}&lang=en#9.4/12.25/-8.62")
        page.wait_for_selector("body.ready")
        _shot(page, "maplibre-style")
        browser.close()


def take(base: str) -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1440, "height": 900})

        _open(page, base, "en")
        _shot(page, "map-layers")

        page.fill("#search-input", "placer")
        page.locator(".search-hit").first.wait_for()
        _shot(page, "search")
        page.locator(".search-hit").first.click()
        page.locator(".leaflet-popup-content h3").wait_for()
        _shot(page, "popup")

        _open(page, base, "en")
        page.fill("#user-name", "Awa Traoré")
        page.evaluate("b => app.map.fitBounds(b)", CONCESSION_VIEW)
        page.wait_for_timeout(500)
        page.click(".leaflet-pm-icon-polygon")
        _click_map(page, [*ZONE, ZONE[0]])
        page.locator('section[data-group="concessions"] li.conflict').first.wait_for()
        _shot(page, "zone-screening")

        page.fill("#zone-name", f"Zone de Kenieba {uuid.uuid4().hex[:4]}")
        page.fill("#zone-code", "ZOP-DEMO-01")
        page.click("#zone-save")
        page.locator("#zone-current-status").wait_for()
        page.click('button.move[data-status="proposed"]')
        page.wait_for_function(
            "document.getElementById('zone-current-status')?.textContent === 'proposed'"
        )
        page.locator("#zone-history-box summary").click()
        page.wait_for_function("document.querySelectorAll('#zone-history tbody tr').length >= 2")
        page.locator("#zone-history-box").scroll_into_view_if_needed()
        _shot(page, "zone-lifecycle")

        _open(page, base, "en")
        page.click('[data-tab="research"]')
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "forets-communautaires.geojson"
            path.write_text(json.dumps(UPLOAD), encoding="utf-8")
            page.set_input_files("#upload-file", path)
            page.fill("#upload-slug", f"forets-communautaires-{uuid.uuid4().hex[:4]}")
            page.click("#upload-go")
            page.locator(".import-summary").wait_for()
        page.select_option("#analysis-type", "overlap")
        page.select_option("#analysis-source", "concessions")
        page.select_option("#analysis-target", "protected-areas")
        page.click("#analysis-run")
        page.locator("table.results tbody tr").first.wait_for()
        _shot(page, "research-overlap")

        _open(page, base, "fr")
        page.evaluate("b => app.map.fitBounds(b)", CONCESSION_VIEW)
        page.click(".leaflet-pm-icon-polygon")
        _click_map(page, [*ZONE, ZONE[0]])
        page.locator('section[data-group="concessions"] li.conflict').first.wait_for()
        _shot(page, "zone-screening-fr")
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--phone", action="store_true", help="only the phone screenshots")
    parser.add_argument("--basemap", action="store_true", help="only the basemap screenshots")
    parser.add_argument("--maplibre", action="store_true", help="only the MapLibre preview")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    if args.maplibre:
        take_maplibre(base)
    elif args.phone or args.basemap:
        (take_phone if args.phone else take_basemap)(base)
    else:
        take(base)
        take_basemap(base)
        take_maplibre(base)
