"""The map app end to end in headless Chromium: layers, search, drawing with live screening,
saving and the zone lifecycle, French, uploads, analyses, and the weight of the first load."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
import pytest
from pyproj import Geod
from shapely.geometry import shape

from geo_service.demo import DEMO

GEOD = Geod(ellps="WGS84")


def _hectares(geometry) -> float:
    """Geodesic area on the WGS84 ellipsoid, independent of PostGIS."""
    area, _ = GEOD.geometry_area_perimeter(geometry)
    return abs(area) / 10_000


def _number(text: str) -> float:
    """A number as the English interface prints it (thousands separated by commas)."""
    return float(text.replace(",", ""))


def _demo_feature(layer: str, **match):
    collection = json.loads((DEMO / f"{layer}.geojson").read_text(encoding="utf-8"))
    for feature in collection["features"]:
        if all(feature["properties"].get(k) == v for k, v in match.items()):
            return feature
    raise LookupError(match)


def _paths(page, slug: str) -> int:
    return page.evaluate(
        """slug => { const o = app.layers.overlays[slug];
            return o && app.map.hasLayer(o) ? o.getContainer().querySelectorAll('path').length : 0; }""",
        slug,
    )


def _wait_for_features(page, slug: str) -> None:
    page.wait_for_function(
        """slug => { const o = app.layers.overlays[slug];
            return o && app.map.hasLayer(o) && o.getContainer().querySelectorAll('path').length > 0; }""",
        arg=slug,
    )


def _click_lat_lng(page, lat: float, lng: float) -> None:
    """A real mouse click on the map at the pixel Leaflet computes for the point."""
    box = page.locator("#map").bounding_box()
    x, y = page.evaluate(
        "([lat, lng]) => { const p = app.map.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }",
        [lat, lng],
    )
    page.mouse.click(box["x"] + x, box["y"] + y)


def _draw_polygon(page, latlngs) -> None:
    """Click each vertex, waiting until the drawing tool has taken it, then close the ring."""
    page.click(".leaflet-pm-icon-polygon")
    for number, (lat, lng) in enumerate(latlngs, start=1):
        _click_lat_lng(page, lat, lng)
        page.wait_for_function(
            "n => app.map.pm.Draw.Polygon._layer.getLatLngs().length >= n", arg=number
        )
    _click_lat_lng(page, *latlngs[0])
    page.wait_for_function("app.zones.zone.layer !== null")


def test_map_opens_with_layers_grouped_by_kind_and_a_legend(page) -> None:
    groups = page.locator("#layer-groups fieldset.layer-group")
    kinds = groups.evaluate_all("els => els.map(e => e.dataset.kind)")
    assert {"asm_zone", "mine_site", "concession", "tailings_facility", "abandoned_mine"} <= set(
        kinds
    )
    assert kinds.index("reference") == len(kinds) - 1
    assert (
        page.locator('fieldset[data-kind="concession"] legend').inner_text().lower()
        == "mining titles"
    )
    for slug in ("concessions", "mine-sites", "protected-areas"):
        _wait_for_features(page, slug)
    legend = page.locator(".legend")
    assert legend.is_visible()
    assert "Consequence class" in legend.inner_text()
    assert "not assessed" in legend.inner_text()
    assert page.locator(".leaflet-control-scale-line").inner_text().endswith("km")
    page.mouse.move(900, 400)
    assert re.match(r"-?\d+\.\d{5}°, -?\d+\.\d{5}°", page.locator("#coordinates").inner_text())


def test_toggling_a_layer_removes_and_restores_its_features(page) -> None:
    _wait_for_features(page, "concessions")
    page.uncheck("#layer-concessions")
    assert _paths(page, "concessions") == 0
    assert "Mining titles" not in page.locator(".legend").inner_text()
    page.check("#layer-concessions")
    _wait_for_features(page, "concessions")
    assert "Mining titles" in page.locator(".legend").inner_text()


def test_filter_hides_features_of_other_values(page) -> None:
    # Count only once every tile has arrived: a count taken while tiles still load moves on.
    settled = """([slug, n]) => { const o = app.layers.overlays[slug];
        if (!o || o.isLoading()) return false;
        const c = o.getContainer().querySelectorAll('path').length;
        return n === null ? c > 0 : (n < 0 ? c > 0 && c < -n : c === n); }"""
    page.wait_for_function(settled, arg=["mine-sites", None])
    every = _paths(page, "mine-sites")
    page.select_option('select.filter[data-slug="mine-sites"]', "red")
    page.wait_for_function(settled, arg=["mine-sites", -every])
    page.select_option('select.filter[data-slug="mine-sites"]', "")
    page.wait_for_function(settled, arg=["mine-sites", every])


def test_search_by_code_zooms_and_shows_the_attributes(page) -> None:
    site = _demo_feature("mine-sites", code="ML-ASM-0001")
    page.fill("#search-input", "ml-asm-0001")
    hit = page.locator(".search-hit").first
    hit.wait_for()
    assert site["properties"]["name"] in hit.inner_text()
    hit.click()
    popup = page.locator(".leaflet-popup-content .popup")
    popup.locator("h3").wait_for()
    assert popup.locator("h3").inner_text() == site["properties"]["name"]
    assert site["properties"]["admin_area"] in popup.inner_text()
    assert page.evaluate("app.map.getZoom()") >= 13


def test_popup_on_click_fetches_the_full_feature(page) -> None:
    zone = _demo_feature("asm-zones", code="ZOP-KGB-01")
    centre = shape(zone["geometry"]).representative_point()
    page.evaluate("([lat, lng]) => app.map.setView([lat, lng], 12)", [centre.y, centre.x])
    _wait_for_features(page, "asm-zones")
    # Only the zones stay drawn: layers other tests left in the database may lie on top.
    drawn = page.eval_on_selector_all(
        "input[id^='layer-']:checked", "boxes => boxes.map(b => b.id)"
    )
    for box in drawn:
        if box != "layer-asm-zones":
            page.uncheck(f"#{box}")
    _click_lat_lng(page, centre.y, centre.x)
    popup = page.locator(".leaflet-popup-content .popup")
    popup.locator("h3").wait_for()
    assert popup.locator("h3").inner_text() == zone["properties"]["name"]
    assert zone["properties"]["decree_ref"] in popup.inner_text()


def test_draw_across_a_concession_save_reload_and_move_through_the_lifecycle(
    page, live_server: str, console
) -> None:
    concession = _demo_feature("concessions", code="PE-2015-103")
    minx, miny, maxx, maxy = shape(concession["geometry"]).bounds
    page.evaluate(
        "b => app.map.fitBounds([[b[1], b[0] - 0.1], [b[3], b[2] + 0.15]])",
        [minx, miny, maxx, maxy],
    )
    page.fill("#user-name", "Awa Traoré")
    page.locator("#user-name").dispatch_event("change")
    # A rectangle half inside the concession, half outside its eastern edge.
    lat0, lat1 = miny + 0.3 * (maxy - miny), miny + 0.6 * (maxy - miny)
    lng0, lng1 = maxx - 0.04, maxx + 0.06
    _draw_polygon(page, [(lat0, lng0), (lat0, lng1), (lat1, lng1), (lat1, lng0)])

    conflict = page.locator('section[data-group="concessions"] li.conflict').first
    conflict.wait_for()
    assert "PE-2015-103" in conflict.inner_text()
    shown = re.search(r"overlap ([\d,.]+) ha", conflict.inner_text())
    drawn = shape(page.evaluate("app.zones.zone.layer.toGeoJSON().geometry"))
    expected = _hectares(drawn.intersection(shape(concession["geometry"])))
    assert _number(shown.group(1)) == pytest.approx(expected, abs=0.01, rel=1e-4)
    area = re.search(r"Area: ([\d,.]+) ha", page.locator(".report-head").inner_text())
    assert _number(area.group(1)) == pytest.approx(_hectares(drawn), abs=0.01, rel=1e-4)
    assert page.evaluate("app.zones.conflicts.getLayers().length") >= 1

    name = f"Zone test {uuid.uuid4().hex[:6]}"
    page.click('[data-tab="zones"]')
    page.fill("#zone-name", name)
    page.click("#zone-save")
    page.locator("#zone-current-status").wait_for()
    assert page.locator("#zone-current-status").inner_text() == "draft"
    zone_id = page.evaluate("app.zones.zone.id")
    stored = httpx.get(f"{live_server}/collections/asm-zones/items/{zone_id}").json()
    assert stored["properties"]["name"] == name and stored["properties"]["status"] == "draft"

    page.reload()
    page.wait_for_selector("body.ready")
    page.click('[data-tab="zones"]')
    page.locator("#zone-list button.zone-link", has_text=name).click()
    page.wait_for_function("id => app.zones.zone.id === id", arg=zone_id)
    assert page.input_value("#zone-name") == name
    page.locator('section[data-group="concessions"] li.conflict').first.wait_for()

    for status, shown_as in [
        ("proposed", "proposed"),
        ("in_consultation", "in consultation"),
        ("gazetted", "gazetted"),
    ]:
        page.click(f'button.move[data-status="{status}"]')
        page.wait_for_function(
            "s => document.getElementById('zone-current-status')?.textContent === s", arg=shown_as
        )
    assert (
        httpx.get(f"{live_server}/collections/asm-zones/items/{zone_id}").json()["properties"][
            "status"
        ]
        == "gazetted"
    )
    page.locator("#zone-history-box summary").click()
    history = page.locator("#zone-history tbody tr")
    page.wait_for_function("document.querySelectorAll('#zone-history tbody tr').length >= 4")
    assert "gazetted" in history.first.inner_text()
    assert "Awa Traoré" in history.first.inner_text()

    # Someone else retires the zone meanwhile: the next move is refused and the reason shown.
    changed = httpx.patch(
        f"{live_server}/collections/asm-zones/items/{zone_id}",
        json={"type": "Feature", "properties": {"status": "retired"}},
    )
    assert changed.status_code == 200
    console.expect("status of 409")
    page.click('button.move[data-status="suspended"]')
    message = page.locator(".message-error").last
    message.wait_for()
    assert "cannot move from 'retired' to 'suspended'" in message.inner_text()


def test_switch_to_french_translates_the_interface(page, live_server: str) -> None:
    page.select_option("#lang-select", "fr")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    assert page.locator('[data-tab="layers"]').inner_text() == "Couches"
    assert page.locator('[data-tab="zones"]').inner_text() == "Zones d'orpaillage"
    assert (
        page.locator('fieldset[data-kind="concession"] legend').inner_text().lower()
        == "titres miniers"
    )
    assert "Légende" in page.locator(".legend").inner_text()
    assert "non évalué" in page.locator(".legend").inner_text()
    assert page.get_attribute("#search-input", "placeholder").startswith("Rechercher")
    assert "lang=fr" in page.url
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.locator("#zone-save").inner_text() == "Enregistrer comme brouillon"
    assert page.input_value("#lang-select") == "fr"


def _french_number(text: str) -> float:
    """A number as the French interface prints it (7 654,09)."""
    return float(text.replace("\u202f", "").replace("\xa0", "").replace(",", "."))


def _shown_reasons(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        ".rules li",
        """items => Object.fromEntries(items.map(li => [li.dataset.rule,
            li.querySelector('.reason').textContent]))""",
    )


def test_french_screening_report_words_rules_in_french(page, live_server: str) -> None:
    page.select_option("#lang-select", "fr")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    concession = _demo_feature("concessions", code="PE-2015-103")
    minx, miny, maxx, maxy = shape(concession["geometry"]).bounds
    page.evaluate(
        "b => app.map.fitBounds([[b[1], b[0] - 0.1], [b[3], b[2] + 0.15]])",
        [minx, miny, maxx, maxy],
    )
    lat0, lat1 = miny + 0.3 * (maxy - miny), miny + 0.6 * (maxy - miny)
    lng0, lng1 = maxx - 0.04, maxx + 0.06
    screenings: list[str] = []
    page.on("request", lambda r: "/analysis/screen" in r.url and screenings.append(r.url))
    _draw_polygon(page, [(lat0, lng0), (lat0, lng1), (lat1, lng1), (lat1, lng0)])
    page.wait_for_function("app.zones.report && document.querySelectorAll('.rules li').length")
    page.wait_for_load_state("networkidle")

    shown = _shown_reasons(page)
    titles = shown["active_exploitation_titles"]
    assert titles.startswith("Chevauche") and "PE-2015-103" in titles
    area = re.fullmatch(
        r"Superficie de la zone : ([\d\u202f]+(?:,\d+)?) ha, au-delà de la limite de 500 ha",
        shown["max_area"],
    )
    drawn = shape(page.evaluate("app.zones.zone.layer.toGeoJSON().geometry"))
    assert _french_number(area.group(1)) == pytest.approx(_hectares(drawn), abs=0.01, rel=1e-4)
    assert page.locator(".rules li .rule-id").first.inner_text() == "Taille de la zone"

    # The browser's French is the server's French, rule by rule, numbers included.
    body = {"geometry": page.evaluate("app.zones.zone.layer.toGeoJSON().geometry")}
    served = httpx.post(f"{live_server}/analysis/screen?lang=fr", json=body).json()["rules"]
    assert shown == {rule["id"]: rule["reason"] for rule in served}

    # Back to English: the same report is reworded without asking the server again.
    asked = len(screenings)
    page.select_option("#lang-select", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    english = httpx.post(f"{live_server}/analysis/screen", json=body).json()["rules"]
    assert _shown_reasons(page) == {rule["id"]: rule["reason"] for rule in english}
    assert len(screenings) == asked

    # The printable report follows the interface's language.
    page.select_option("#lang-select", "fr")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    with page.context.expect_page() as opened:
        page.click("#zone-print")
    report = opened.value
    report.wait_for_load_state()
    assert "lang=fr" in screenings[-1]
    rules = report.locator("#screening-rules").text_content()
    assert "Règles" in rules and "attention" in rules and titles in rules


def _small_geojson(tmp_path: Path) -> Path:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"nom": "Parcelle A", "usage": "agriculture"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[-8.6, 12.3], [-8.5, 12.3], [-8.5, 12.4], [-8.6, 12.4], [-8.6, 12.3]]
                    ],
                },
            },
            {
                "type": "Feature",
                "properties": {"nom": "Puits B"},
                "geometry": {"type": "Point", "coordinates": [-8.45, 12.35]},
            },
        ],
    }
    path = tmp_path / "parcelles.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def test_upload_a_geojson_with_the_file_picker_and_see_it_drawn(page, tmp_path) -> None:
    page.click('[data-tab="research"]')
    page.set_input_files("#upload-file", _small_geojson(tmp_path))
    slug = f"parcelles-{uuid.uuid4().hex[:6]}"
    page.fill("#upload-slug", slug)
    page.click("#upload-go")
    page.locator(".import-summary").wait_for()
    assert page.locator(".import-summary").inner_text() == f"2 features imported into layer {slug}."
    page.locator(f"#layer-{slug}").wait_for(state="attached")
    assert page.is_checked(f"#layer-{slug}")
    # Once its tiles have arrived, both features are drawn; a feature near a tile's edge is
    # drawn in each tile whose buffer it reaches, so distinct feature ids are counted, not paths.
    page.wait_for_function(
        """slug => { const o = app.layers.overlays[slug];
            if (!o || !app.map.hasLayer(o) || o.isLoading()) return false;
            const ids = new Set();
            for (const tile of Object.values(o._vectorTiles)) {
                for (const id of Object.keys(tile._features)) ids.add(id);
            }
            return ids.size === 2; }""",
        arg=slug,
    )


def test_upload_by_drag_and_drop(page, tmp_path) -> None:
    page.click('[data-tab="research"]')
    content = _small_geojson(tmp_path).read_text(encoding="utf-8")
    page.evaluate(
        """text => { const data = new DataTransfer();
            data.items.add(new File([text], 'Dépôt glissé.geojson', { type: 'application/geo+json' }));
            document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })); }""",
        content,
    )
    assert page.input_value("#upload-slug") == "depot-glisse"
    page.fill("#upload-slug", f"depot-{uuid.uuid4().hex[:6]}")
    page.click("#upload-go")
    page.locator(".import-summary").wait_for()
    assert page.locator(".import-summary").inner_text().startswith("2 features imported")


def test_a_broken_upload_shows_the_problem_detail(page, tmp_path, console) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    page.click('[data-tab="research"]')
    page.set_input_files("#upload-file", broken)
    slug = f"broken-{uuid.uuid4().hex[:6]}"
    page.fill("#upload-slug", slug)
    console.expect("status of 422")
    page.click("#upload-go")
    message = page.locator(".message-error").last
    message.wait_for()
    assert message.inner_text().startswith(
        "The file cannot be read: 'broken.geojson' cannot be read"
    )
    assert page.locator(f"#layer-{slug}").count() == 0


def test_overlap_between_two_layers_as_table_map_and_downloads(page, live_server: str) -> None:
    page.click('[data-tab="research"]')
    page.select_option("#analysis-type", "overlap")
    page.select_option("#analysis-source", "concessions")
    page.select_option("#analysis-target", "protected-areas")
    page.click("#analysis-run")
    page.locator("table.results tbody tr").first.wait_for()
    rows = page.locator("table.results tbody tr")
    expected = httpx.post(
        f"{live_server}/analysis/overlap",
        json={"source": "concessions", "target": "protected-areas"},
    ).json()["rows"]
    assert rows.count() == len(expected)
    first = rows.first.inner_text()
    assert expected[0]["source"]["name"] in first and expected[0]["target"]["name"] in first
    assert page.evaluate("app.research.results.getLayers()[0].getLayers().length") == len(expected)
    with page.expect_download() as download:
        page.click("#analysis-csv")
    csv_text = Path(download.value.path()).read_text(encoding="utf-8")
    assert expected[0]["source"]["name"] in csv_text
    with page.expect_download() as download:
        page.click("#analysis-geojson")
    geojson = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert len(geojson["features"]) == len(expected)


def test_proximity_lists_distances(page, live_server: str) -> None:
    page.click('[data-tab="research"]')
    page.select_option("#analysis-type", "proximity")
    page.select_option("#analysis-source", "tailings")
    page.select_option("#analysis-target", "places")
    page.fill("#analysis-within", "")
    page.click("#analysis-run")
    page.locator("table.results tbody tr").first.wait_for()
    expected = httpx.post(
        f"{live_server}/analysis/proximity", json={"source": "tailings", "target": "places"}
    ).json()["rows"]
    assert page.locator("table.results tbody tr").count() == len(expected)
    cell = page.locator("table.results tbody tr").first.locator("td").nth(2).inner_text()
    assert _number(cell) == pytest.approx(expected[0]["distance_m"], abs=0.5)


def test_printable_screening_report_opens_a_static_map(page) -> None:
    zone = _demo_feature("asm-zones", code="ZOP-KGB-01")
    bounds = shape(zone["geometry"]).bounds
    page.evaluate("b => app.map.fitBounds([[b[1], b[0]], [b[3], b[2]]])", list(bounds))
    minx, miny, maxx, maxy = bounds
    _draw_polygon(page, [(miny, minx), (miny, maxx), (maxy, maxx)])
    page.locator(".report-head").wait_for()
    with page.context.expect_page() as opened:
        page.click("#zone-print")
    report = opened.value
    report.wait_for_load_state()
    html = report.content()
    assert "leaflet" in html.lower()
    assert "cdn" not in " ".join(re.findall(r'(?:src|href)="([^"]+)"', html)).lower()


def test_first_load_is_under_500_kB(browser, live_server: str, demo) -> None:
    """Bytes on the wire (compressed) for the page and everything it loads, tiles excluded."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    urls: dict[str, str] = {}
    encodings: dict[str, str] = {}
    sizes: dict[str, int] = {}

    def received(event) -> None:
        urls[event["requestId"]] = event["response"]["url"]
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        encodings[event["requestId"]] = headers.get("content-encoding", "")

    cdp.on("Network.responseReceived", received)
    cdp.on(
        "Network.loadingFinished", lambda e: sizes.update({e["requestId"]: e["encodedDataLength"]})
    )
    page.goto(f"{live_server}/map")
    page.wait_for_selector("body.ready")
    page.wait_for_load_state("networkidle")
    context.close()
    app_bytes = {
        urls[r]: size
        for r, size in sizes.items()
        if r in urls and "/tiles/" not in urls[r] and "/basemap/" not in urls[r]
    }
    assert any(u.endswith("/map") for u in app_bytes)
    assert any(u.endswith("leaflet-geoman.min.js") for u in app_bytes)
    total = sum(app_bytes.values())
    print(f"first load of /map: {total} bytes in {len(app_bytes)} responses (tiles excluded)")
    assert total < 500_000
    geoman = next(r for r, u in urls.items() if u.endswith("leaflet-geoman.min.js"))
    assert encodings[geoman] == "gzip"
