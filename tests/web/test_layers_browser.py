"""Layers on the map in headless Chromium: real clicks on a point (an ASM site), a line (a
river) and a polygon (a mining title) open their popups on /map, on /embed and in the Leaflet
snippet of docs/partners.md, with the kind's fields in words of the interface, the geodesic
area or length (checked against pyproj) and working links; an uploaded layer retitled in French
and English, restyled by an attribute (the legend shows its categories), reordered, made
internal and deleted by its owner."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from geo_service.demo import BBOX, DEMO
from tests.conftest import bearer
from tests.web.conftest import english_on
from tests.web.test_map_browser import DRAWN, _click_lat_lng, _number

ROOT = Path(__file__).resolve().parents[2]
GEOD = Geod(ellps="WGS84")
MESSAGES = {
    lang: json.loads((ROOT / "web" / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))
    for lang in ("en", "fr")
}
CLEAR = 0.02  # degrees kept between a click and any other feature: 60 px and more at zoom 12


def _demo(layer: str) -> list[dict]:
    return json.loads((DEMO / f"{layer}.geojson").read_text(encoding="utf-8"))["features"]


def _french_number(text: str) -> float:
    return float(text.replace("\u202f", "").replace("\xa0", "").replace(",", "."))


def _spots(live_server: str) -> dict[str, dict]:
    """Where to click: the ASM site farthest from any other point; a vertex of a river inside
    the demo region and clear of titles and sites; a point inside a title that no other title,
    site or river comes near. Each with its feature as the API answers it."""
    sites = _demo("mine-sites")
    points = [shape(f["geometry"]) for f in sites + _demo("abandoned-mines")]
    site = max(
        sites,
        key=lambda f: min(
            shape(f["geometry"]).distance(p) for p in points if not p.equals(shape(f["geometry"]))
        ),
    )
    titles = [shape(f["geometry"]) for f in _demo("concessions")]
    bbox = ",".join(str(v) for v in BBOX)
    rivers = httpx.get(f"{live_server}/collections/rivers/items",
                       params={"bbox": bbox, "limit": 100}).json()["features"]  # fmt: skip
    inner = shape({"type": "Polygon", "coordinates": [[
        [BBOX[0] + 0.2, BBOX[1] + 0.2], [BBOX[2] - 0.2, BBOX[1] + 0.2],
        [BBOX[2] - 0.2, BBOX[3] - 0.2], [BBOX[0] + 0.2, BBOX[3] - 0.2],
        [BBOX[0] + 0.2, BBOX[1] + 0.2]]]})  # fmt: skip
    crowd = unary_union(titles + points)
    vertex = river = None
    for candidate in rivers:
        for lng, lat in shapely.get_coordinates(shape(candidate["geometry"])):
            if inner.contains(Point(lng, lat)) and crowd.distance(Point(lng, lat)) > CLEAR:
                vertex, river = (lat, lng), candidate
                break
        if river:
            break
    assert river, "no river vertex clear of titles and sites in the demo region"
    lines = unary_union([shape(r["geometry"]) for r in rivers])
    spot = title = None
    for index, polygon in enumerate(titles):
        others = unary_union([t for i, t in enumerate(titles) if i != index])
        free = polygon.buffer(-0.005).difference(others.buffer(0.005))
        free = free.difference(unary_union(points).buffer(CLEAR)).difference(lines.buffer(CLEAR))
        if not free.is_empty and free.area > 1e-5:
            point = free.representative_point()
            spot, title = (point.y, point.x), _demo("concessions")[index]
            break
    assert title, "no title has room to click"
    found = {}
    for name, layer, feature, where in (
        ("site", "mine-sites", site, tuple(reversed(site["geometry"]["coordinates"]))),
        ("river", "rivers", river, vertex),
        ("title", "concessions", title, spot),
    ):
        key = "code"
        if layer == "rivers":
            served = httpx.get(f"{live_server}/collections/rivers/items/{feature['id']}").json()
        else:
            hits = httpx.get(f"{live_server}/collections/{layer}/items",
                             params={key: feature["properties"][key]}).json()["features"]  # fmt: skip
            served = httpx.get(f"{live_server}/collections/{layer}/items/{hits[0]['id']}").json()
        found[name] = {"layer": layer, "feature": served, "at": where}
    return found


def _only_layers(page, slugs: set[str]) -> None:
    """Tick `slugs` and untick every other layer, by clicks on the boxes whose state changes."""
    boxes = page.eval_on_selector_all(
        "input[id^='layer-']", "els => els.map(e => [e.id, e.checked])"
    )
    for box, checked in boxes:
        if (box.removeprefix("layer-") in slugs) != checked:
            page.click(f"#{box}")


def _settle(page, lat: float, lng: float, slug: str) -> None:
    page.evaluate("([lat, lng]) => app.map.setView([lat, lng], 12, { animate: false })", [lat, lng])
    page.wait_for_function(f"slug => ({DRAWN})(slug) > 0", arg=slug)


def _rows(popup) -> dict[str, str]:
    return popup.evaluate(
        "p => Object.fromEntries([...p.querySelectorAll('.popup-fields tr')].map(r => "
        "[r.querySelector('th').textContent, r.querySelector('td').textContent]))"
    )


def _check_measure(rows: dict[str, str], feature: dict, lang: str) -> None:
    """The area (ha) or length (km or m) shown, against pyproj on the served geometry."""
    words = MESSAGES[lang]
    number = _number if lang == "en" else _french_number
    geometry = shape(feature["geometry"])
    if geometry.geom_type.endswith("Polygon"):
        value, unit = rows[words["layers.popup.area"]].rsplit(" ", 1)
        area, _ = GEOD.geometry_area_perimeter(geometry)
        assert unit == "ha"
        assert number(value) == pytest.approx(abs(area) / 10_000, abs=0.0051)
    elif geometry.geom_type.endswith("LineString"):
        value, unit = rows[words["layers.popup.length"]].rsplit(" ", 1)
        length = GEOD.geometry_length(geometry)
        assert (unit, number(value)) == (
            ("km", pytest.approx(length / 1000, abs=0.0051)) if length >= 1000
            else ("m", pytest.approx(length, abs=0.51))
        )  # fmt: skip
    else:
        assert words["layers.popup.area"] not in rows and words["layers.popup.length"] not in rows


def _check_fields(rows: dict[str, str], feature: dict, lang: str) -> None:
    """The kind's fields named and their values worded as the interface's messages say."""
    words = MESSAGES[lang]
    for key, value in feature["properties"].items():
        if key == "name" or value in (None, "", []) or isinstance(value, (dict, bool, float, int)):
            continue
        field = words.get(f"field.{key}", key.replace("_", " "))
        values = value if isinstance(value, list) else [value]
        shown = ", ".join(words.get(f"value.{key}.{v}", str(v).replace("_", " ")) for v in values)
        assert rows[field] == shown, (key, rows)


def _click_and_read(page, spot: dict, popup_selector: str) -> dict[str, str]:
    lat, lng = spot["at"]
    _click_lat_lng(page, lat, lng)
    popup = page.locator(popup_selector)
    popup.locator("h3").wait_for()
    return popup


def test_a_site_a_river_and_a_title_open_their_popups_on_the_map(
    open_map, live_server: str
) -> None:
    spots = _spots(live_server)
    page = open_map("editor", layers=["mine-sites", "rivers", "concessions"])
    for name in ("site", "river", "title"):
        spot = spots[name]
        feature = spot["feature"]
        _settle(page, *spot["at"], spot["layer"])
        popup = _click_and_read(page, spot, ".leaflet-popup-content .popup")
        props = feature["properties"]
        assert popup.locator("h3").inner_text() == (props.get("name") or props["code"]), name
        assert popup.get_attribute("data-id") == str(feature["id"])
        rows = _rows(popup)
        _check_fields(rows, feature, "en")
        _check_measure(rows, feature, "en")
        links = popup.locator(".popup-links button").all_inner_texts()
        assert links == ["History", "GeoJSON", "Zoom to it"], name

        # The feature's GeoJSON, as the server gave it.
        with page.expect_download() as download:
            popup.locator(".popup-export").click()
        saved = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert download.value.suggested_filename == f"{spot['layer']}-{feature['id']}.geojson"
        assert (saved["id"], saved["geometry"]) == (feature["id"], feature["geometry"])
        # Its history: one version, the one loaded with the demo.
        popup.locator(".popup-history-link").click()
        popup.locator(".popup-history", has_text="No earlier version.").wait_for()
        # Zoom to it: from the whole continent, the map shows all of it and little more.
        page.evaluate("app.map.setView(app.map.getCenter(), 2, { animate: false })")
        popup.locator(".popup-zoom").click()
        minx, miny, maxx, maxy = shape(feature["geometry"]).bounds
        page.wait_for_function(
            "b => app.map.getZoom() > 2 && app.map.getBounds().contains([[b[1], b[0]], [b[3], b[2]]])",
            arg=[minx, miny, maxx, maxy],
        )
        page.evaluate("app.map.closePopup()")


def _embed_grid_settled(page) -> None:
    page.wait_for_function(
        """() => { let grid = null;
            embedMap.eachLayer(l => { if (l._vectorTiles) grid = l; });
            return grid && !grid.isLoading() && Object.keys(grid._vectorTiles).length > 0; }"""
    )


def test_a_site_a_river_and_a_title_open_their_popups_on_the_embed_page(
    new_page, live_server: str, demo
) -> None:
    spots = _spots(live_server)
    page = new_page()
    tiles: list[str] = []
    page.on("request", lambda r: ".mvt" in r.url and tiles.append(r.url))
    page.goto(f"{live_server}/embed?layers=concessions,rivers,mine-sites&lang=fr")
    _embed_grid_settled(page)
    # One tile request per tile for the three layers, the last named drawn on top.
    assert tiles and all("/tiles/concessions,rivers,mine-sites/" in url for url in tiles)
    for name in ("site", "river", "title"):
        spot = spots[name]
        feature = spot["feature"]
        lat, lng = spot["at"]
        page.evaluate(
            "([lat, lng]) => embedMap.setView([lat, lng], 12, { animate: false })", [lat, lng]
        )
        _embed_grid_settled(page)
        box = page.locator("#map").bounding_box()
        x, y = page.evaluate(
            "([lat, lng]) => { const p = embedMap.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }",
            [lat, lng],
        )
        page.mouse.click(box["x"] + x, box["y"] + y)
        popup = page.locator(".leaflet-popup-content .embed-popup")
        popup.locator("h3").wait_for()
        props = feature["properties"]
        assert popup.locator("h3").inner_text() == (props.get("name") or props["code"]), name
        rows = _rows(popup)
        _check_fields(rows, feature, "fr")
        _check_measure(rows, feature, "fr")
        assert popup.locator(".popup-links button").all_inner_texts() == [
            "Historique", "GeoJSON", "Zoomer dessus"]  # fmt: skip
        assert english_on(page) == [], name  # the legend, the popup, the controls
        page.evaluate("embedMap.closePopup()")


def test_the_french_map_its_panels_and_popups_show_no_english(open_map, live_server: str) -> None:
    """Every text of the French map — the three panels (hidden ones too), menus, placeholders,
    tooltips, the legend, a site's popup and its history — against every English message of the
    interface that French words otherwise."""
    page = open_map("editor", lang="fr")
    assert english_on(page) == []
    for tab in ("zones", "research", "layers"):
        page.click(f'[data-tab="{tab}"]')
        assert english_on(page) == [], tab
    spot = _spots(live_server)["site"]
    _only_layers(page, {spot["layer"]})
    _settle(page, *spot["at"], spot["layer"])
    popup = _click_and_read(page, spot, ".leaflet-popup-content .popup")
    popup.locator(".popup-history-link").click()
    popup.locator(".popup-history", has_text="Aucune version antérieure.").wait_for()
    assert english_on(page) == []


def test_the_partners_leaflet_snippet_opens_a_popup_on_a_point(
    new_page, live_server: str, demo
) -> None:
    """The snippet of docs/partners.md, as a partner's page on a site of its own would run it."""
    text = (ROOT / "docs" / "partners.md").read_text(encoding="utf-8")
    section = text.split("### Leaflet (with Leaflet.VectorGrid)", 1)[1]
    snippet = re.search(r"```js\n(.*?)```", section, re.S).group(1)
    site = _spots(live_server)["site"]
    lat, lng = site["at"]
    html = f"""<!doctype html><html><head>
      <link rel="icon" href="data:,">
      <link rel="stylesheet" href="{live_server}/static/vendor/leaflet/leaflet.css">
      <script src="{live_server}/static/vendor/leaflet/leaflet.js"></script>
      <script src="{live_server}/static/vendor/vectorgrid/Leaflet.VectorGrid.bundled.min.js"></script>
      </head><body style="margin:0"><div id="map" style="width:800px;height:600px"></div><script>
      const map = L.map("map").setView([{lat}, {lng}], 12);
      {snippet.replace("https://geo.example.org", live_server)}
      </script></body></html>"""
    # The partner's page, given at an address of the service's (Chromium keeps pages of other
    # origins from fetching from a local server; CORS is tested in tests/api/test_access.py).
    partner = f"{live_server}/partner.html"
    page = new_page()
    page.route(partner, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(partner)
    page.wait_for_function(
        "() => !grid.isLoading() && Object.values(grid._vectorTiles).some(t => Object.keys(t._features).length)"
    )
    x, y = page.evaluate(
        f"() => {{ const p = map.latLngToContainerPoint([{lat}, {lng}]); return [p.x, p.y]; }}"
    )
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.inner_text() == site["feature"]["properties"]["name"]


USES = ["agriculture", "forest", "agriculture", "village"]


def _parcels(tmp_path: Path) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"nom": f"Parcelle {i}", "usage": use},
            "geometry": {"type": "Polygon", "coordinates": [[
                [-3.60 + 0.03 * i, 9.40], [-3.58 + 0.03 * i, 9.40], [-3.58 + 0.03 * i, 9.42],
                [-3.60 + 0.03 * i, 9.42], [-3.60 + 0.03 * i, 9.40]]]},
        }
        for i, use in enumerate(USES)
    ]  # fmt: skip
    path = tmp_path / "parcelles.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def _layer_order(page, kind: str) -> list[str]:
    return page.eval_on_selector_all(
        f'fieldset[data-kind="{kind}"] .layer-item', "items => items.map(i => i.dataset.slug)"
    )


def _manage(page, slug: str):
    """The layer's manage panel, opened by its button unless it is open already (it stays open
    over a move, for the next one)."""
    toggle = page.locator(f'.layer-row[data-slug="{slug}"] .manage-toggle')
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    panel = page.locator(f'.layer-manage[data-slug="{slug}"]')
    panel.wait_for()
    return panel


def test_upload_restyle_rename_reorder_make_internal_and_delete_a_layer(
    page, open_map, tmp_path: Path, live_server: str, keys
) -> None:
    editor = bearer(keys["editor"])
    slug = f"usages-{uuid.uuid4().hex[:6]}"
    page.click('[data-tab="research"]')
    page.set_input_files("#upload-file", _parcels(tmp_path))
    page.fill("#upload-slug", slug)
    page.click("#upload-go")
    page.locator(".import-summary", has_text=slug).wait_for()
    page.locator(f'.layer-row[data-slug="{slug}"]').wait_for(state="attached")
    page.wait_for_load_state("networkidle")  # the panel drawn again after the upload, once
    page.click('[data-tab="layers"]')
    served = httpx.get(f"{live_server}/layers/{slug}", headers=editor).json()
    assert served["visibility"] == "private" and served["style"] == {}
    # Its own colour, the palette's, on the panel and in the legend.
    swatch = f'.layer-row[data-slug="{slug}"] .swatch'
    colour = page.eval_on_selector(swatch, "s => getComputedStyle(s).backgroundColor")
    hex_colour = served["colour"].lstrip("#")
    assert colour == "rgb({}, {}, {})".format(*(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4)))
    # Only what its owner may manage has the control: not the demo's layers.
    assert page.locator('.layer-row[data-slug="concessions"] .manage-toggle').count() == 0
    assert _layer_order(page, "reference")[0] == slug  # a new layer comes first

    # A feature changed once has a history of two versions, shown in its popup.
    hits = httpx.get(f"{live_server}/collections/{slug}/items", headers=editor).json()["features"]
    first = next(f for f in hits if f["properties"]["nom"] == "Parcelle 0")
    changed = httpx.patch(
        f"{live_server}/collections/{slug}/items/{first['id']}",
        json={"type": "Feature", "properties": {"usage": "agriculture", "note": "revue"}},
        headers=editor,
    )
    assert changed.status_code == 200

    # Retitled in both languages and coloured by its attribute `usage`.
    panel = _manage(page, slug)
    panel.locator(".manage-title-fr").fill("Parcelles par usage")
    panel.locator(".manage-title-en").fill("Parcels by use")
    panel.locator(".manage-by").select_option("usage")
    with page.expect_request(lambda r: r.method == "PATCH") as patched:
        panel.locator(".manage-save").click()
    assert json.loads(patched.value.post_data) == {
        "title_fr": "Parcelles par usage",
        "title_en": "Parcels by use",
        "style": {"by": "usage"},
    }
    page.locator(".message", has_text="Layer Parcels by use saved.").wait_for()
    styled = httpx.get(f"{live_server}/layers/{slug}", headers=editor).json()
    categories = styled["style"]["categories"]
    assert set(categories) == set(USES)
    row = page.locator(f'.layer-row[data-slug="{slug}"] .title')
    assert row.inner_text() == "Parcels by use"
    # The legend names the attribute and shows a swatch per category, then the other values.
    legend = page.locator(f'.legend-layer[data-slug="{slug}"]')
    assert legend.locator("strong").inner_text() == "Parcels by use"
    assert legend.locator(".legend-field").inner_text() == "usage"
    items = legend.locator(".legend-item").evaluate_all(
        "items => items.map(i => [i.textContent, getComputedStyle(i.querySelector('.swatch')).backgroundColor])"
    )

    def rgb(value: str) -> str:
        return "rgb({}, {}, {})".format(*(int(value[i : i + 2], 16) for i in (1, 3, 5)))

    assert items == [
        *[[use, rgb(categories[use])] for use in sorted(set(USES))],
        ["other values", rgb(styled["colour"])],
    ]
    # On the map, each parcel is filled with its category's colour.
    page.evaluate("b => app.map.fitBounds(b, { animate: false })", [[9.39, -3.61], [9.43, -3.47]])
    page.wait_for_function(f"slug => ({DRAWN})(slug) >= {len(USES)}", arg=slug)
    fills = page.evaluate(
        """slug => { const fills = {};
            for (const tile of Object.values(app.layers.grid._vectorTiles))
                for (const f of Object.values(tile._features))
                    if (f.layerName === slug) fills[f.feature.properties.usage] = f.feature.options.fillColor;
            return fills; }""",
        slug,
    )
    assert fills == {use: categories[use] for use in USES}

    # The history of the changed parcel, in its popup.
    _click_lat_lng(page, 9.41, -3.59)
    popup = page.locator(".leaflet-popup-content .popup")
    popup.locator("h3", has_text="Parcelle 0").wait_for()
    popup.locator(".popup-history-link").click()
    versions = popup.locator(".popup-history tbody tr")
    versions.first.wait_for()
    assert versions.count() == 2
    assert versions.first.locator("td").nth(1).inner_text() == "edited"
    assert versions.first.locator("td").nth(2).inner_text() == "test-editor"
    page.evaluate("app.map.closePopup()")

    # In French, its French title.
    page.select_option("#lang-select", "fr")
    page.wait_for_function(
        "s => document.querySelector(`.layer-row[data-slug='${s}'] .title`).textContent === 'Parcelles par usage'",
        arg=slug,
    )
    assert legend.locator(".legend-item").last.inner_text() == "autres valeurs"
    page.select_option("#lang-select", "en")
    page.wait_for_function(
        "s => document.querySelector(`.layer-row[data-slug='${s}'] .title`).textContent === 'Parcels by use'",
        arg=slug,
    )

    # One place down among the reference layers, and back up: on the panel and on the map.
    below = _layer_order(page, "reference")[1]
    panel = _manage(page, slug)
    panel.locator(".manage-down").click()
    page.wait_for_function(
        "([kind, slug]) => [...document.querySelectorAll(`fieldset[data-kind='${kind}'] .layer-item`)].map(i => i.dataset.slug).indexOf(slug) === 1",
        arg=["reference", slug],
    )
    assert _layer_order(page, "reference")[:2] == [below, slug]
    drawn = page.evaluate("app.layers.gridUrl").split("/")[2].split(",")
    if below in drawn:  # a vector layer: below it on the panel, drawn under it on the map
        assert drawn.index(slug) < drawn.index(below)
    _manage(page, slug).locator(".manage-up").click()
    page.wait_for_function(
        "([kind, slug]) => document.querySelector(`fieldset[data-kind='${kind}'] .layer-item`).dataset.slug === slug",
        arg=["reference", slug],
    )

    # Internal: seen by any key, not by nobody.
    panel = _manage(page, slug)
    panel.locator(".manage-visibility").select_option("internal")
    panel.locator(".manage-save").click()
    page.locator(f'.layer-row[data-slug="{slug}"] .visibility', has_text="internal").wait_for()
    viewer = open_map("viewer")
    assert viewer.locator(f'.layer-row[data-slug="{slug}"] .title').inner_text() == "Parcels by use"
    assert viewer.locator(f'.layer-row[data-slug="{slug}"] .manage-toggle').count() == 0
    assert open_map().locator(f"#layer-{slug}").count() == 0
    page.bring_to_front()  # a tab behind others draws no frames, and clicks wait for frames

    # Deleted once confirmed: gone from the panel, the legend, the map and the server.
    panel = _manage(page, slug)
    panel.locator(".manage-delete").click()
    confirm = panel.locator(".manage-confirm")
    assert confirm.locator("p").inner_text() == (
        f"Delete the layer Parcels by use and its {len(USES)} features? This cannot be undone."
    )
    confirm.locator(".manage-cancel").click()
    assert panel.locator(".manage-confirm").count() == 0
    panel.locator(".manage-delete").click()
    panel.locator(".manage-confirm-delete").click()
    page.locator(f"#layer-{slug}").wait_for(state="detached")
    page.locator(".message", has_text="Layer Parcels by use deleted.").wait_for()
    assert page.locator(f'.legend-layer[data-slug="{slug}"]').count() == 0
    assert slug not in page.evaluate("app.layers.gridUrl")
    assert httpx.get(f"{live_server}/layers/{slug}", headers=editor).status_code == 404
