"""The map app end to end in headless Chromium: signing in and what each role sees, layers,
search, drawing with live screening, saving and the zone lifecycle, conflicting edits, French,
uploads and their visibility, analyses, and the weight of the first load."""

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
from tests.conftest import bearer
from tests.web.conftest import KEY_STORE

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


# Every shown vector layer is one MVT layer of the map's one vector grid (app.layers.grid; the
# grid it replaced stays on the map until its tiles have come). DRAWN(slug) counts the features
# of a layer that the grids on the map draw, tile by tile; -1 while tiles are still coming.
DRAWN = """slug => { const grids = [app.layers.grid, ...app.layers.retiring].filter(g => g && app.map.hasLayer(g));
    if (grids.some(g => g.isLoading())) return -1;
    let n = 0;
    for (const grid of grids) for (const tile of Object.values(grid._vectorTiles))
        for (const f of Object.values(tile._features)) if (f.layerName === slug) n += 1;
    return n; }"""


def _paths(page, slug: str) -> int:
    """The features of layer `slug` drawn on the map, once every tile has come."""
    page.wait_for_function(f"slug => ({DRAWN})(slug) >= 0", arg=slug)
    return page.evaluate(DRAWN, slug)


def _wait_for_features(page, slug: str) -> None:
    page.wait_for_function(f"slug => ({DRAWN})(slug) > 0", arg=slug)


def _click_lat_lng(page, lat: float, lng: float) -> None:
    """A real mouse click on the map at the pixel Leaflet computes for the point."""
    box = page.locator("#map").bounding_box()
    x, y = page.evaluate(
        "([lat, lng]) => { const p = app.map.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }",
        [lat, lng],
    )
    page.mouse.click(box["x"] + x, box["y"] + y)


def _draw_polygon(page, latlngs) -> None:
    """Click each vertex, waiting until the drawing tool has taken it, then close the ring.
    (The first click on the map's polygon button loads the drawing library.)"""
    page.click(".leaflet-pm-icon-polygon")
    page.wait_for_function("app.map.pm?.globalDrawModeEnabled()")
    for number, (lat, lng) in enumerate(latlngs, start=1):
        _click_lat_lng(page, lat, lng)
        page.wait_for_function(
            "n => app.map.pm.Draw.Polygon._layer.getLatLngs().length >= n", arg=number
        )
    _click_lat_lng(page, *latlngs[0])
    page.wait_for_function("app.zones.zone.layer !== null")


def _move(page, status: str, comment: str) -> None:
    """A lifecycle move through its button and the comment form it opens."""
    page.click(f'button.move[data-status="{status}"]')
    page.fill("#move-comment", comment)
    if status == "gazetted":  # gazetting names its decree
        page.fill("#move-decree", comment)
    page.click("#move-confirm")


def _sign_in(page, key: str) -> None:
    """Through the header's form, as a person would: open it, paste the key, submit."""
    page.click("#auth-toggle")
    page.fill("#auth-key", key)
    page.click("#auth-submit")


def _stored_key(page) -> dict[str, str | None]:
    return page.evaluate(
        "name => ({ session: sessionStorage.getItem(name), local: localStorage.getItem(name) })",
        KEY_STORE,
    )


def _editing_shown(page) -> dict[str, bool]:
    """What of the editing tools a person can see (tabs opened as they would)."""
    page.click('[data-tab="zones"]')
    zones = {
        "drawing tool": page.locator(".leaflet-pm-icon-polygon").is_visible(),
        "zone buttons": page.locator("#zone-save").is_visible(),
        "zone note": page.locator(
            '[data-cannot="edit"][data-i18n="zones.needs_editor"]'
        ).is_visible(),
    }
    page.click('[data-tab="research"]')
    research = {
        "upload panel": page.locator("#upload-go").is_visible(),
        "upload note": page.locator('[data-i18n="upload.needs_editor"]').is_visible(),
    }
    page.click('[data-tab="layers"]')
    return {**zones, **research}


NO_EDITING = {
    "drawing tool": False,
    "zone buttons": False,
    "zone note": True,
    "upload panel": False,
    "upload note": True,
}


def test_anonymous_sees_no_drawing_tool_and_no_upload(open_map) -> None:
    page = open_map()
    assert page.locator("#auth-toggle").inner_text() == "Sign in"
    assert page.locator("#auth-user").is_hidden()
    assert _editing_shown(page) == NO_EDITING
    assert page.locator("#user-name").count() == 0
    assert (
        page.locator('[data-i18n="upload.needs_editor"]').inner_text()
        == "Sign in as an editor to upload layers."
    )


def test_sign_in_as_viewer_shows_name_and_role_and_hides_editing_then_sign_out(
    open_map, keys
) -> None:
    page = open_map()
    page.click("#auth-toggle")
    key_input = page.locator("#auth-key")
    assert key_input.get_attribute("type") == "password"
    assert key_input.get_attribute("autocomplete") == "off"
    assert page.locator("label[for='auth-key']").inner_text() == "Access key"
    page.click("#auth-cancel")
    assert page.locator("#auth-form").is_hidden()

    # Signing in reads the layer list again, with the key.
    with page.expect_request(lambda r: r.url.endswith("/layers")) as listed:
        _sign_in(page, keys["viewer"])
    assert listed.value.all_headers()["authorization"] == f"Bearer {keys['viewer']}"
    page.locator("#auth-user").wait_for()
    assert page.locator("#auth-name").inner_text() == "test-viewer"
    assert page.locator("#auth-role").inner_text() == "Viewer"
    assert page.locator("#auth-toggle").is_hidden() and page.locator("#auth-form").is_hidden()
    assert page.input_value("#auth-key") == ""  # the form does not keep it
    assert _stored_key(page) == {"session": keys["viewer"], "local": None}
    assert _editing_shown(page) == NO_EDITING
    _wait_for_features(page, "concessions")  # the tiles, drawn again

    # Requests of the app now carry the key.
    with page.expect_request(lambda r: "/search?" in r.url) as searched:
        page.fill("#search-input", "ml-asm")
    assert searched.value.all_headers()["authorization"] == f"Bearer {keys['viewer']}"
    page.locator(".search-hit").first.wait_for()
    page.keyboard.press("Escape")

    with page.expect_request(lambda r: r.url.endswith("/layers")) as listed:
        page.click("#auth-sign-out")
    assert "authorization" not in listed.value.all_headers()
    page.locator("#auth-toggle").wait_for()
    assert page.locator("#auth-user").is_hidden()
    assert _stored_key(page) == {"session": None, "local": None}
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.evaluate("app.auth.me.authenticated") is False


def test_a_wrong_key_shows_the_servers_message_and_stays_signed_out(open_map, console) -> None:
    page = open_map()
    console.expect("status of 401")
    _sign_in(page, "gs_not-a-key-of-ours")
    error = page.locator("#auth-error")
    error.wait_for()
    assert error.inner_text() == ("Sign-in refused: The access key is unknown or has been revoked")
    assert page.locator("#auth-form").is_visible()  # to try again
    assert page.locator("#auth-user").is_hidden()
    assert _stored_key(page) == {"session": None, "local": None}
    assert page.evaluate("app.auth.me.authenticated") is False
    # What cannot be a key (it would not fit in a header) is refused before asking the server.
    page.fill("#auth-key", "clé à moi")
    page.click("#auth-submit")
    page.wait_for_function(
        "document.getElementById('auth-error').textContent.startsWith('This is not an access key')"
    )


def test_a_key_the_server_stops_accepting_signs_the_page_out(
    open_map, live_server: str, keys, console
) -> None:
    admin = bearer(keys["admin"])
    name = f"test-revoked-{uuid.uuid4().hex[:6]}"
    made = httpx.post(f"{live_server}/keys", json={"name": name, "role": "editor"}, headers=admin)
    assert made.status_code == 201
    page = open_map()
    _sign_in(page, made.json()["key"])
    page.locator("#auth-user").wait_for()
    assert page.locator(".leaflet-pm-icon-polygon").is_visible()

    # Revoked while the page is open: the next request is refused and the page signs out.
    assert httpx.delete(f"{live_server}/keys/{name}", headers=admin).status_code == 204
    console.expect("status of 401")
    page.click('[data-tab="zones"]')
    page.click("#zone-refresh")
    page.locator(".message-error", has_text="no longer accepts your key").wait_for()
    page.locator("#auth-toggle").wait_for()
    assert _stored_key(page)["session"] is None
    assert page.locator(".leaflet-pm-icon-polygon").count() == 0
    page.locator("#zone-list button.zone-link").first.wait_for()  # read again, without it

    # A key kept from earlier that the server refuses is dropped at start-up.
    again = open_map(key=made.json()["key"])
    message = again.locator(".message-error").first
    message.wait_for()
    assert message.inner_text().startswith("Sign-in refused: The access key is unknown")
    assert again.evaluate("app.auth.me.authenticated") is False
    assert _stored_key(again)["session"] is None
    assert again.locator("#layer-concessions").count() == 1


def test_the_editor_sees_the_editing_tools(page) -> None:
    assert page.locator("#auth-name").inner_text() == "test-editor"
    assert page.locator("#auth-role").inner_text() == "Editor"
    assert _editing_shown(page) == {k: not v for k, v in NO_EDITING.items()}


def test_map_opens_with_layers_grouped_by_kind_and_a_legend(page) -> None:
    # The context asks for reduced motion: the map neither glides nor fades.
    assert page.evaluate("[app.map.options.zoomAnimation, app.map.options.fadeAnimation]") == [
        False,
        False,
    ]
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
    page.wait_for_function(f"({DRAWN})('concessions') === 0")
    assert _paths(page, "mine-sites") > 0  # the other layers stay drawn
    assert "Mining titles" not in page.locator(".legend").inner_text()
    page.check("#layer-concessions")
    _wait_for_features(page, "concessions")
    assert "Mining titles" in page.locator(".legend").inner_text()


def test_a_link_with_layers_shows_those_ticked_and_lists_the_others(open_map) -> None:
    page = open_map("editor", layers=["rivers", "concessions"])
    ticked = page.eval_on_selector_all(
        "input[id^='layer-']", "boxes => boxes.filter(b => b.checked).map(b => b.id)"
    )
    assert sorted(ticked) == ["layer-concessions", "layer-rivers"]
    assert page.locator("#layer-mine-sites").count() == 1  # listed, unticked
    _wait_for_features(page, "concessions")
    assert _paths(page, "mine-sites") == 0
    page.check("#layer-mine-sites")
    _wait_for_features(page, "mine-sites")


def test_filter_hides_features_of_other_values(page) -> None:
    # Count only once every tile has arrived: a count taken while tiles still load moves on.
    settled = f"""([slug, n]) => {{ const c = ({DRAWN})(slug);
        if (c < 0) return false;
        return n === null ? c > 0 : (n < 0 ? c > 0 && c < -n : c === n); }}"""
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
    page, live_server: str, keys, console
) -> None:
    concession = _demo_feature("concessions", code="PE-2015-103")
    minx, miny, maxx, maxy = shape(concession["geometry"]).bounds
    page.evaluate(
        "b => app.map.fitBounds([[b[1], b[0] - 0.1], [b[3], b[2] + 0.15]])",
        [minx, miny, maxx, maxy],
    )
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
    # The zone lies over titles: their holders' consents go on record before it is gazetted.
    for title in page.evaluate("app.zones.report.conflicts.concessions"):
        consent = httpx.post(
            f"{live_server}/layers/asm-zones/features/{zone_id}/consents",
            json={"title_id": title["id"], "holder": title.get("holder") or "?",
                  "date": "2026-11-30", "document_ref": "Lettre de consentement"},
            headers=bearer(keys["editor"]),
        )  # fmt: skip
        assert consent.status_code == 201, consent.text

    page.reload()
    page.wait_for_selector("body.ready")
    page.click('[data-tab="zones"]')
    page.locator("#zone-list button.zone-link", has_text=name).click()
    page.wait_for_function("id => app.zones.zone.id === id", arg=zone_id)
    assert page.input_value("#zone-name") == name
    page.locator('section[data-group="concessions"] li.conflict').first.wait_for()

    # A move asks why before it is sent; an empty reason is not sent at all.
    moves: list[str] = []
    page.on("request", lambda r: r.method == "PATCH" and moves.append(r.url))
    page.click('button.move[data-status="proposed"]')
    page.click("#move-confirm")
    assert page.evaluate("document.getElementById('move-comment').validity.valid") is False
    assert moves == []
    page.click("#move-cancel")
    assert page.locator("#move-form").count() == 0

    for status, shown_as in [
        ("proposed", "proposed"),
        ("in_consultation", "in consultation"),
        ("gazetted", "gazetted"),
    ]:
        _move(page, status, f"Comité du {shown_as}: avis favorable")
        if status == "gazetted":  # over 500 ha: refused until a reason overrides the rule
            console.expect("status of 409")
            page.locator("#move-refused").wait_for()
            page.fill("#move-override", "Zone historique, limite levée par décret")
            page.click("#move-confirm")
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
    # Who made a change is the key's name; how and why are in their own columns.
    assert history.first.locator(".by").inner_text() == "test-editor"
    assert history.first.locator("td.change").inner_text() == "status changed"
    assert history.first.locator("td.comment").inner_text() == (
        "Comité du gazetted: avis favorable\nRules overridden: Zone historique, limite levée par décret"
    )
    assert history.last.locator("td.change").inner_text() == "created"

    # Someone else retires the zone meanwhile: the next move is refused, the reason shown, and
    # the zone shown as it now is (retired, with no move left).
    changed = httpx.patch(
        f"{live_server}/collections/asm-zones/items/{zone_id}",
        json={"type": "Feature", "properties": {"status": "retired"}, "comment": "Annulée"},
        headers=bearer(keys["admin"]),
    )
    assert changed.status_code == 200
    console.expect("status of 412")
    _move(page, "suspended", "Orpaillage hors saison")
    message = page.locator(".message-error").last
    message.wait_for()
    # What they changed, and who: the page was at version 4, the admin's change made 5.
    assert message.inner_text().startswith(
        "Someone else changed this zone since you opened it (test-admin, version 5): "
        "Status “gazetted” → “retired”."
    )
    page.wait_for_function(
        "document.getElementById('zone-current-status')?.textContent === 'retired'"
    )
    assert page.locator("button.move").count() == 0


def test_a_stale_save_shows_the_conflict_and_reloads_the_zone(
    page, live_server: str, keys, console
) -> None:
    admin = bearer(keys["admin"])
    name = f"Zone stale {uuid.uuid4().hex[:6]}"
    ring = [[-8.30, 12.60], [-8.28, 12.60], [-8.28, 12.62], [-8.30, 12.62], [-8.30, 12.60]]
    created = httpx.post(
        f"{live_server}/collections/asm-zones/items",
        json={
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name": name, "status": "draft"},
        },
        headers=admin,
    )
    assert created.status_code == 201
    zone_id = created.json()["id"]

    page.click('[data-tab="zones"]')
    page.click("#zone-refresh")
    page.locator("#zone-list button.zone-link", has_text=name).click()
    page.wait_for_function("id => app.zones.zone.id === id", arg=zone_id)
    read = page.evaluate("app.zones.zone.etag")
    assert read == created.headers["etag"]

    # Between the page's read and its save, someone else renames the zone.
    changed = httpx.patch(
        f"{live_server}/collections/asm-zones/items/{zone_id}",
        json={"type": "Feature", "properties": {"name": f"{name} (renamed elsewhere)"}},
        headers=admin,
    )
    assert changed.status_code == 200
    saves: list[str | None] = []
    page.on("request", lambda r: r.method == "PATCH" and saves.append(r.headers.get("if-match")))
    console.expect("status of 412")
    page.fill("#zone-name", f"{name} (mine)")
    page.click("#zone-save")
    message = page.locator(".message-error").last
    message.wait_for()
    text = message.inner_text()
    # Who changed what, in words: the name, as it was read and as it now is.
    assert text.startswith(
        "Someone else changed this zone since you opened it (test-admin, version 2): "
        f"Name “{name}” → “{name} (renamed elsewhere)”. It has been reloaded"
    )
    assert saves == [read]
    # Reloaded: their name, their version; nothing of the refused save was written.
    page.wait_for_function(
        "n => document.getElementById('zone-name').value === n", arg=f"{name} (renamed elsewhere)"
    )
    assert page.evaluate("app.zones.zone.etag") == changed.headers["etag"]

    # Saved again on the version now shown, the change goes through.
    page.fill("#zone-name", f"{name} (mine)")
    page.click("#zone-save")
    page.locator(".message-notice", has_text="Zone saved.").wait_for()
    assert saves[-1] == changed.headers["etag"]
    stored = httpx.get(f"{live_server}/collections/asm-zones/items/{zone_id}").json()
    assert stored["properties"]["name"] == f"{name} (mine)"


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
    # ... and whole: the placeholder, set in the field's font, fits in the field beside the
    # room Chromium keeps for a search field's clear button (it cut "code" to "coc" at 30rem).
    text_px, room_px = page.eval_on_selector(
        "#search-input",
        """el => { const s = getComputedStyle(el), span = document.createElement("span");
            span.style.cssText = "position: absolute; visibility: hidden; white-space: pre";
            span.style.font = s.font;
            span.textContent = el.placeholder;
            document.body.append(span);
            const width = span.getBoundingClientRect().width;
            span.remove();
            return [width, el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)]; }""",
    )
    assert text_px + 24 <= room_px, (text_px, room_px)
    assert "lang=fr" in page.url
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.locator("#zone-save").inner_text() == "Enregistrer comme brouillon"
    assert page.input_value("#lang-select") == "fr"


# Holds the answers of GET /layers back by the delays pushed on window.__delays (ms), one each.
DELAY_LAYERS = """
const original = window.fetch;
window.__delays = [];
window.__delayed = 0;
window.fetch = function (input, init) {
  const answer = original.apply(this, arguments);
  const url = new URL(typeof input === "string" ? input : input.url, location.href);
  const delay = url.pathname === "/layers" ? window.__delays.shift() : 0;
  if (!delay) return answer;
  return answer.then((r) => new Promise((done) => setTimeout(() => {
    window.__delayed += 1;
    done(r);
  }, delay)));
};
"""


def test_a_sign_out_during_the_sign_ins_read_of_layers_keeps_its_private_layers_away(
    open_map, keys, live_server: str
) -> None:
    """The list a sign-in asked for arrives after the sign-out's: the page keeps the later one,
    so the editor's private layer is neither listed nor drawn without the key (its tiles would
    be 404s, which the console check of the page would catch)."""
    slug = f"web-private-{uuid.uuid4().hex[:6]}"
    square = {"type": "Feature", "properties": {"name": "private"},
              "geometry": {"type": "Polygon", "coordinates": [[[-8.6, 12.1], [-8.5, 12.1],
                           [-8.5, 12.2], [-8.6, 12.2], [-8.6, 12.1]]]}}  # fmt: skip
    made = httpx.post(
        f"{live_server}/layers/{slug}/import", headers=bearer(keys["editor"]),
        files={"file": ("p.geojson", json.dumps({"type": "FeatureCollection",
                                                  "features": [square]}))},
    )  # fmt: skip
    assert made.status_code == 200, made.text
    try:
        page = open_map()
        page.add_init_script(DELAY_LAYERS)
        page.reload()
        page.wait_for_selector("body.ready")
        page.evaluate("window.__delays.push(1500)")
        _sign_in(page, keys["editor"])
        page.locator("#auth-user").wait_for()
        page.click("#auth-sign-out")
        page.wait_for_function("window.__delayed === 1")
        page.wait_for_function("() => !document.getElementById('auth-user')?.offsetParent")
        assert page.evaluate("slug => app.layers.bySlug(slug) === undefined", slug)
        assert page.locator(f"#layer-{slug}").count() == 0
        _wait_for_features(page, "concessions")
    finally:
        httpx.delete(f"{live_server}/layers/{slug}", headers=bearer(keys["admin"]))


def test_sign_in_in_french(open_map, keys) -> None:
    page = open_map(lang="fr")
    assert page.locator("#auth-toggle").inner_text() == "Se connecter"
    page.click("#auth-toggle")
    assert page.locator("label[for='auth-key']").inner_text() == "Clé d'accès"
    assert page.locator("#auth-submit").inner_text() == "Se connecter"
    assert page.locator("#auth-cancel").inner_text() == "Annuler"
    page.fill("#auth-key", keys["editor"])
    page.click("#auth-submit")
    page.locator("#auth-user").wait_for()
    assert page.locator("#auth-role").inner_text() == "Éditeur"
    assert page.locator("#auth-sign-out").inner_text() == "Se déconnecter"
    page.click("#auth-sign-out")
    _sign_in(page, keys["viewer"])
    page.locator("#auth-user").wait_for()
    assert page.locator("#auth-role").inner_text() == "Lecteur"
    page.click('[data-tab="research"]')
    assert (
        page.locator('[data-i18n="upload.needs_editor"]').inner_text()
        == "Connectez-vous avec une clé d'éditeur pour importer des couches."
    )
    # The role follows a switch of language like every other word.
    page.select_option("#lang-select", "en")
    page.wait_for_function("document.getElementById('auth-role').textContent === 'Viewer'")
    page.click("#auth-sign-out")
    _sign_in(page, keys["admin"])
    page.wait_for_function("document.getElementById('auth-role').textContent === 'Administrator'")
    assert page.locator(".leaflet-pm-icon-polygon").is_visible()  # the tools come back


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
    rules = report.locator("section", has=report.locator("h2", has_text="Règles")).text_content()
    assert "attention" in rules and titles in rules


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
        """slug => { const o = app.layers.grid;
            if (!o || !app.map.hasLayer(o) || o.isLoading()) return false;
            const ids = new Set();
            for (const tile of Object.values(o._vectorTiles)) {
                for (const [id, f] of Object.entries(tile._features)) if (f.layerName === slug) ids.add(id);
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


def _upload(page, path: Path, slug: str) -> None:
    page.set_input_files("#upload-file", path)
    page.fill("#upload-slug", slug)
    page.click("#upload-go")
    page.locator(".import-summary", has_text=slug).wait_for()


def test_an_upload_is_private_by_default_and_follows_sign_in_and_out(
    page, open_map, tmp_path, live_server: str, keys
) -> None:
    admin = bearer(keys["admin"])
    page.click('[data-tab="research"]')
    assert page.input_value("#upload-visibility") == "private"
    options = page.locator("#upload-visibility option").all_inner_texts()
    assert options == ["private", "internal", "public"]
    assert page.locator("#upload-visibility-hint").inner_text().startswith("Seen by its owner")
    private = f"prive-{uuid.uuid4().hex[:6]}"
    _upload(page, _small_geojson(tmp_path), private)
    stored = httpx.get(f"{live_server}/layers/{private}", headers=admin).json()
    assert stored["visibility"] == "private"
    row = page.locator(f'.layer-row[data-slug="{private}"]')
    row.wait_for(state="attached")
    assert row.locator(".visibility").text_content() == "private"
    _wait_for_features(page, private)  # its tiles came with the key (a 401 would fail the test)

    page.select_option("#upload-visibility", "internal")
    assert page.locator("#upload-visibility-hint").inner_text() == (
        "Seen by anyone signed in with a key"
    )
    internal = f"interne-{uuid.uuid4().hex[:6]}"
    (tmp_path / "internal").mkdir()  # a new file: the chosen one must not change under the page
    _upload(page, _small_geojson(tmp_path / "internal"), internal)
    assert httpx.get(f"{live_server}/layers/{internal}", headers=admin).json()["visibility"] == (
        "internal"
    )

    # Nobody sees the private layer but its owner; the internal one needs a key, any key.
    anonymous = open_map()
    assert anonymous.locator("#layer-concessions").count() == 1
    assert anonymous.locator(f"#layer-{private}").count() == 0
    assert anonymous.locator(f"#layer-{internal}").count() == 0
    viewer = open_map("viewer")
    assert viewer.locator(f"#layer-{private}").count() == 0
    assert viewer.locator(f"#layer-{internal}").count() == 1

    # Signed out, the owner's page loses both; signed in again, they are back and drawn.
    page.bring_to_front()  # a tab behind others draws no frames, and clicks wait for frames
    page.click("#auth-sign-out")
    page.locator(f"#layer-{private}").wait_for(state="detached")
    assert page.locator(f"#layer-{internal}").count() == 0
    assert page.evaluate("slug => slug in app.layers.overlays", private) is False
    _sign_in(page, keys["editor"])
    page.locator(f"#layer-{private}").wait_for(state="attached")
    _wait_for_features(page, private)


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
    assert "Zone screening report" in html and 'src="data:image/png;base64,' in html
    assert not re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html)


# Requests of the first load in November 2026, when each vector layer had tiles of its own (160
# of the 208 were vector tiles): one request per tile for all the layers must stay well below.
FIRST_LOAD_REQUESTS_BEFORE = 208


def test_first_load_is_lighter_than_in_november(browser, live_server: str, demo) -> None:
    """Bytes on the wire (compressed) for the page and everything it loads, tiles excluded;
    and the requests of that load, tiles included."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    requested: list[str] = []
    cdp.on("Network.requestWillBeSent", lambda e: requested.append(e["request"]["url"]))
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
    assert page.evaluate("app.map.options.zoomAnimation") is True  # no reduced motion asked
    context.close()
    app_bytes = {
        urls[r]: size
        for r, size in sizes.items()
        if r in urls and "/tiles/" not in urls[r] and "/basemap/" not in urls[r]
    }
    assert any(u.endswith("/map") for u in app_bytes)
    # The drawing library comes when someone starts drawing (tests/web/test_zones_browser.py).
    assert not any("/geoman/" in u for u in app_bytes)
    total = sum(app_bytes.values())
    everything = sum(size for r, size in sizes.items() if r in urls)
    vector_tiles = [u for u in requested if ".mvt" in u]
    print(
        f"first load of /map: {total} bytes in {len(app_bytes)} responses (tiles excluded); "
        f"{everything} bytes in {len(requested)} requests with tiles "
        f"({len(vector_tiles)} vector tiles)"
    )
    assert total < 254_000
    assert len(requested) < FIRST_LOAD_REQUESTS_BEFORE
    leaflet = next(r for r, u in urls.items() if u.endswith("leaflet.js"))
    assert encodings[leaflet] == "gzip"


def test_a_second_load_asks_the_server_for_none_of_the_apps_files(
    browser, live_server: str, demo
) -> None:
    """Every file of the app comes with its version in its URL (the page's import map for the
    modules), so a browser keeps it: a second load asks the network for no script, style or
    message file, not even to revalidate it (a round trip each on a slow line)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    loads: list[dict[str, list]] = []
    for _ in range(2):
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        load: dict[str, list] = {"asked": [], "network": []}
        cdp.on(
            "Network.requestWillBeSent",
            lambda e, load=load: load["asked"].append(e["request"]["url"]),
        )
        cdp.on(
            "Network.responseReceived",
            lambda e, load=load: (
                e["response"].get("fromDiskCache")
                or load["network"].append((e["response"]["url"], e["response"]["status"]))
            ),
        )
        page.goto(f"{live_server}/map")
        page.wait_for_selector("body.ready")
        page.wait_for_load_state("networkidle")
        loads.append(load)
        page.close()
    context.close()
    first, second = loads
    app_files = [u for u in first["asked"] if "/static/app/" in u or "/static/i18n/" in u]
    assert len(app_files) >= 15, app_files
    assert all(re.search(r"\?v=[0-9a-f]{12}$", u) for u in app_files), app_files
    assert any(u.endswith("/map") for u, _ in second["network"])  # the page itself is asked again
    assert [(u, status) for u, status in second["network"] if "/static/" in u] == []
