"""The zone lifecycle's safeguards in headless Chromium: the drawing library arrives only when
someone starts drawing or editing; a zone failing a rule is refused gazetting (its badge
unchanged) until a reason overrides it, which its history shows; a zone in force is retired,
and only an admin deletes it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from pyproj import Geod
from shapely.geometry import box, mapping, shape

from tests.conftest import bearer
from tests.web.test_map_browser import _draw_polygon

GEOD = Geod(ellps="WGS84")
GEOMAN = "/static/vendor/geoman/"
# The Ténéré, far from every demo and Natural Earth feature: only the zone's own size counts.
LON, LAT = 12.0, 20.0


def _hectares(geometry) -> float:
    area, _ = GEOD.geometry_area_perimeter(geometry)
    return abs(area) / 10_000


def _status(page) -> str:
    return page.locator("#zone-current-status").inner_text()


def _wait_status(page, shown: str) -> None:
    page.wait_for_function(
        "s => document.getElementById('zone-current-status')?.textContent === s", arg=shown
    )


def _move(page, status: str, comment: str) -> None:
    page.click(f'button.move[data-status="{status}"]')
    page.fill("#move-comment", comment)
    if status == "gazetted":  # gazetting names its decree
        page.fill("#move-decree", comment)
    page.click("#move-confirm")


def _zone(live_server: str, admin: dict, ring_box, status: str = "draft") -> int:
    made = httpx.post(
        f"{live_server}/collections/asm-zones/items",
        json={
            "type": "Feature",
            "geometry": mapping(ring_box),
            "properties": {
                "name": f"Zone {uuid.uuid4().hex[:6]}",
                "status": status,
                "decree_ref": "Arrêté test",
            },
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _open_zone(page, zone_id: int) -> None:
    page.evaluate("id => app.zones.open(id)", zone_id)
    page.wait_for_function("id => app.zones.zone.id === id", arg=zone_id)


def test_the_drawing_library_comes_only_when_drawing_starts(open_map) -> None:
    for role in (None, "viewer"):
        looker = open_map(role)
        fetched: list[str] = []
        looker.on("request", lambda r, into=fetched: GEOMAN in r.url and into.append(r.url))
        looker.click('[data-tab="zones"]')
        looker.wait_for_load_state("networkidle")
        assert looker.evaluate("typeof L.PM") == "undefined"
        assert looker.locator(".leaflet-pm-icon-polygon").count() == 0
        assert fetched == []

    page = open_map("editor")
    fetched = []
    page.on("request", lambda r: GEOMAN in r.url and fetched.append(r.url))
    responses = []
    page.on("response", lambda r: GEOMAN in r.url and responses.append(r))
    assert page.evaluate("typeof L.PM") == "undefined"
    assert page.locator(".leaflet-pm-icon-polygon").is_visible()  # our button, until then
    assert page.locator(".leaflet-pm-toolbar").count() == 0
    page.click(".leaflet-pm-icon-polygon")
    page.wait_for_function("app.map.pm?.globalDrawModeEnabled()")
    assert sorted(u.rsplit("/", 1)[1] for u in fetched) == [
        "leaflet-geoman.css",
        "leaflet-geoman.min.js",
    ]
    assert all(r.status == 200 for r in responses)
    script = next(r for r in responses if r.url.endswith(".js"))
    assert script.all_headers().get("content-encoding") == "gzip"
    # Geoman's toolbar has taken the place of our button: one polygon button on the map.
    assert page.locator(".leaflet-pm-toolbar .leaflet-pm-icon-polygon").is_visible()
    assert page.locator(".leaflet-pm-icon-polygon").count() == 1
    page.keyboard.press("Escape")
    page.evaluate("app.map.pm.disableDraw()")
    page.click('[data-tab="zones"]')
    page.click("#zone-draw")  # the panel's button: the library is not fetched twice
    page.wait_for_function("app.map.pm.globalDrawModeEnabled()")
    assert len(fetched) == 2


def test_editing_a_saved_zone_fetches_the_library_first(
    open_map, live_server: str, keys, demo
) -> None:
    admin = bearer(keys["admin"])
    zone_id = _zone(live_server, admin, box(LON, LAT, LON + 0.003, LAT + 0.003))
    page = open_map("editor")
    _open_zone(page, zone_id)
    assert page.evaluate("typeof L.PM") == "undefined"
    page.click("#zone-edit")
    page.wait_for_function("app.zones.zone.layer.pm?.enabled()")
    # Its vertices can be dragged: one moved, the zone is screened again with its new shape.
    assert page.locator(".marker-icon").count() >= 4


def test_gazetting_refused_keeps_the_badge_then_an_override_gazettes(
    page, live_server: str, console
) -> None:
    page.evaluate("b => app.map.fitBounds(b)", [[LAT - 0.01, LON - 0.02], [LAT + 0.04, LON + 0.05]])
    corners = [(LAT, LON), (LAT, LON + 0.03), (LAT + 0.03, LON + 0.03), (LAT + 0.03, LON)]
    _draw_polygon(page, corners)
    page.locator(".report-head").wait_for()
    drawn = shape(page.evaluate("app.zones.zone.layer.toGeoJSON().geometry"))
    area = re.search(r"Area: ([\d,.]+) ha", page.locator(".report-head").inner_text())
    assert float(area.group(1).replace(",", "")) == pytest.approx(_hectares(drawn), rel=1e-4)
    assert _hectares(drawn) > 500  # the screening's largest zone

    name = f"Zone ténéré {uuid.uuid4().hex[:6]}"
    page.fill("#zone-name", name)
    page.click("#zone-save")
    page.locator("#zone-current-status").wait_for()
    zone_id = page.evaluate("app.zones.zone.id")
    url = f"{live_server}/collections/asm-zones/items/{zone_id}"
    _move(page, "proposed", "Proposée par la DNGM")
    _wait_status(page, "proposed")
    _move(page, "in_consultation", "Envoyée aux ministères")
    _wait_status(page, "in consultation")
    version = httpx.get(url).headers["etag"]

    # Gazetting: refused by the server, the rule and its reason shown, nothing changed.
    console.expect("status of 409")
    _move(page, "gazetted", "Arrêté 2026-031")
    refused = page.locator("#move-refused")
    refused.wait_for()
    assert refused.locator("p").inner_text() == "Not gazetted: the zone fails a screening rule."
    rule = refused.locator('li[data-rule="max_area"]')
    assert rule.locator(".rule-id").inner_text() == "Zone size"
    shown = re.fullmatch(r"Zone is ([\d,.]+) ha; over 500 ha", rule.locator(".reason").inner_text())
    assert float(shown.group(1).replace(",", "")) == pytest.approx(_hectares(drawn), abs=0.01)
    assert _status(page) == "in consultation"
    listed = page.locator(f'#zone-list button.zone-link[data-id="{zone_id}"] .status')
    assert listed.inner_text() == "in consultation"
    assert httpx.get(url).headers["etag"] == version
    assert page.input_value("#move-comment") == "Arrêté 2026-031"  # kept for the next try
    assert page.locator("#move-confirm").inner_text() == "Gazette anyway"

    # Without a reason, nothing is sent.
    patches: list[str] = []
    page.on("request", lambda r: r.method == "PATCH" and patches.append(r.post_data or ""))
    page.click("#move-confirm")
    assert page.evaluate("document.getElementById('move-override').validity.valid") is False
    assert patches == []

    reason = "Zone historique d'orpaillage : limite levée par le décret 2026-12"
    page.fill("#move-override", reason)
    page.click("#move-confirm")
    _wait_status(page, "gazetted")
    assert '"override":{"reason":' in patches[-1]
    stored = httpx.get(f"{url}/history").json()["versions"][-1]
    assert stored["properties"]["status"] == "gazetted"
    assert stored["comment"] == "Arrêté 2026-031" and stored["override"]["reason"] == reason
    page.locator("#zone-history-box summary").click()
    page.wait_for_function("document.querySelectorAll('#zone-history tbody tr').length >= 4")
    latest = page.locator("#zone-history tbody tr").first
    assert latest.locator("td.comment").inner_text() == (
        f"Arrêté 2026-031\nRules overridden: {reason}"
    )
    # In force now: the delete button retires.
    assert page.locator("#zone-delete").inner_text() == "Retire"


def test_a_passing_zone_gazettes_without_being_asked_for_a_reason(
    page, live_server: str, keys
) -> None:
    admin = bearer(keys["admin"])
    zone_id = _zone(live_server, admin, box(LON + 0.2, LAT, LON + 0.203, LAT + 0.003))
    for status in ("proposed", "in_consultation"):
        answer = httpx.patch(
            f"{live_server}/collections/asm-zones/items/{zone_id}",
            json={"properties": {"status": status}, "comment": "étape"},
            headers=admin,
        )
        assert answer.status_code == 200
    _open_zone(page, zone_id)
    _move(page, "gazetted", "Arrêté 2026-032")
    _wait_status(page, "gazetted")
    assert page.locator("#move-refused").count() == 0


def test_an_editor_retires_a_gazetted_zone_and_an_admin_may_delete_one(
    open_map, live_server: str, keys, demo
) -> None:
    admin = bearer(keys["admin"])
    small = box(LON + 0.3, LAT, LON + 0.303, LAT + 0.003)
    retired_id = _zone(live_server, admin, small, status="gazetted")
    page = open_map("editor")
    _open_zone(page, retired_id)
    deletes: list[str] = []
    page.on("request", lambda r: r.method == "DELETE" and deletes.append(r.url))
    page.on("dialog", lambda d: pytest.fail(f"no confirmation expected: {d.message}"))
    assert page.locator("#zone-delete").inner_text() == "Retire"
    page.click("#zone-delete")
    form = page.locator("#move-form")
    form.wait_for()
    assert form.locator("label").first.inner_text() == (
        "Why retire this zone? It stays on record, with its history."
    )
    assert page.locator("#zone-destroy").count() == 0  # deleting is for admins
    page.fill("#move-comment", "Arrêté d'abrogation 2027-4")
    page.click("#move-confirm")
    _wait_status(page, "retired")
    assert deletes == []
    history_url = f"{live_server}/collections/asm-zones/items/{retired_id}/history"
    history = httpx.get(history_url).json()["versions"]
    assert [v["properties"]["status"] for v in history][-2:] == ["gazetted", "retired"]
    assert history[-1]["comment"] == "Arrêté d'abrogation 2027-4"

    # An admin retiring a zone in force is offered to delete it instead, once confirmed.
    deleted_id = _zone(live_server, admin, small, status="gazetted")
    chief = open_map("admin")
    _open_zone(chief, deleted_id)
    chief.click("#zone-delete")
    chief.fill("#move-comment", "Saisie en double")
    messages: list[str] = []

    def accept(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    chief.on("dialog", accept)
    chief.click("#zone-destroy")
    chief.locator(".message-notice", has_text="Zone deleted.").wait_for()
    assert messages and messages[0].startswith("This zone is in force")
    assert httpx.get(f"{live_server}/collections/asm-zones/items/{deleted_id}").status_code == 404
    audited = httpx.get(f"{live_server}/audit", params={"feature": deleted_id}, headers=admin)
    audit = audited.json()["entries"]
    assert audit[0]["action"] == "delete" and audit[0]["comment"] == "Saisie en double"
