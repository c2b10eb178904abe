"""The map's monitoring tab in headless Chromium, in English and in French: a layer's sites
coloured by their qualification today and at a past date, incident markers with the unverified
ones hollow and dashed (an incident verified today was still unverified a week ago), a site's
popup with its status and its visit's photo thumbnail, and the links to the field form and the
dashboard."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from PIL import Image

from geo_service.domain.registry import KINDS
from tests.conftest import bearer
from tests.web.conftest import _messages, english_on

TODAY = date.today()
COLOURS = KINDS["mine_site"].colours
SITES = {"Kalima": (27.60, -3.30), "Lugushwa": (27.80, -3.40), "Namoya": (27.70, -3.50)}


def _day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


@pytest.fixture(scope="module")
def programme(live_server: str, keys: dict[str, str]) -> Iterator[dict[str, object]]:
    """Three sites: Kalima green 60 days ago then red 10 days ago, with a visit and its photo 3
    days ago and an incident of 50 days ago verified today; Lugushwa yellow from 30 days ago with
    an unverified incident of 5 days ago; Namoya never assessed."""
    admin = bearer(keys["admin"])
    slug = f"web-monitoring-{uuid.uuid4().hex[:6]}"
    api = httpx.Client(base_url=live_server, headers=admin, timeout=30)
    made = api.post("/layers", json={"slug": slug, "kind": "mine_site", "visibility": "public"})
    assert made.status_code == 201, made.text
    ids = {}
    for name, (lon, lat) in SITES.items():
        feature = {"type": "Feature", "properties": {"name": name},
                   "geometry": {"type": "Point", "coordinates": [lon, lat]}}  # fmt: skip
        made = api.post(f"/collections/{slug}/items", json=feature)
        assert made.status_code == 201, made.text
        ids[name] = made.json()["id"]
    for name, days, status in (("Kalima", 60, {"qualification": "green", "operating": "active"}),
                               ("Kalima", 10, {"qualification": "red", "operating": "suspended"}),
                               ("Lugushwa", 30, {"qualification": "yellow"})):  # fmt: skip
        url = f"/monitoring/sites/{slug}/{ids[name]}/status"
        made = api.post(url, json={"effective_on": _day(days), **status})
        assert made.status_code == 201, made.text
    visit = api.post("/monitoring/visits", json={
        "layer": slug, "feature_id": ids["Kalima"], "visited_on": _day(3), "team": "Equipe 2",
        "workers": 40, "women": 12, "children": 0, "methods": ["mercury"]})  # fmt: skip
    assert visit.status_code == 201, visit.text
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (180, 90, 20)).save(picture, "JPEG")
    photo = api.post(f"/monitoring/visits/{visit.json()['id']}/photos",
                     files={"photo": ("pit.jpg", picture.getvalue(), "image/jpeg")})  # fmt: skip
    assert photo.status_code == 201, photo.text
    incidents = {}
    for name, days, category, severity in (("Kalima", 50, "emissions_waste", "high"),
                                           ("Lugushwa", 5, "child_labour", "critical")):  # fmt: skip
        made = api.post("/monitoring/incidents", json={
            "layer": slug, "feature_id": ids[name], "occurred_on": _day(days),
            "category": category, "severity": severity})  # fmt: skip
        assert made.status_code == 201, made.text
        incidents[name] = made.json()["id"]
    verified = api.post(f"/monitoring/incidents/{incidents['Kalima']}/verification",
                        json={"verdict": "verified"})  # fmt: skip
    assert verified.status_code == 200, verified.text
    yield {"slug": slug, "ids": ids, "incidents": incidents, "photo": photo.json()["id"]}
    api.delete(f"/layers/{slug}")
    api.close()


def _drawn(page, selector: str, attribute: str) -> dict[str, str]:
    return page.evaluate(
        """([selector, attribute]) => Object.fromEntries([...document.querySelectorAll(selector)]
            .map((e) => [e.getAttribute(attribute), { value: e.dataset[attribute === "data-site" ?
              "qualification" : "verification"], fill: e.getAttribute("fill"),
              dash: e.getAttribute("stroke-dasharray"), opacity: e.getAttribute("fill-opacity") }]))""",
        [selector, attribute],
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_sites_by_qualification_incidents_and_photos_today_and_a_month_ago(
    open_map, programme, lang: str
) -> None:
    words = _messages(lang)
    slug, ids, incidents = programme["slug"], programme["ids"], programme["incidents"]
    page = open_map("viewer", lang=lang, layers=[slug])
    tab = page.locator("[data-tab=monitoring]")
    assert tab.inner_text() == words["tab.monitoring"]
    tab.click()
    page.select_option("#monitoring-layer", slug)
    # settled: the tab's first read (of whichever layer it chose) must not redraw over the popup
    settled = "document.getElementById('monitoring-panel').getAttribute('aria-busy') === 'false'"
    page.wait_for_function(settled)
    page.wait_for_selector("[data-site]")
    page.wait_for_function("document.querySelectorAll('[data-incident]').length === 2")

    sites = _drawn(page, "[data-site]", "data-site")
    expected = {ids["Kalima"]: "red", ids["Lugushwa"]: "yellow", ids["Namoya"]: "not_assessed"}
    assert {int(k): v["value"] for k, v in sites.items()} == expected
    assert {int(k): v["fill"] for k, v in sites.items()} == {
        k: COLOURS[v] for k, v in expected.items()
    }
    drawn = {int(k): v for k, v in _drawn(page, "[data-incident]", "data-incident").items()}
    kalima, lugushwa = drawn[incidents["Kalima"]], drawn[incidents["Lugushwa"]]
    assert kalima["value"] == "verified" and kalima["dash"] is None
    assert lugushwa["value"] == "unverified" and lugushwa["dash"] and lugushwa["opacity"] == "0"
    summary = page.locator("#monitoring-summary").inner_text()
    assert words["monitoring.summary_incidents"].format(verified=1, unverified=1) in summary

    # A site's popup: its status as of today and its visit with the photo's thumbnail.
    # (opened as a click on it would: the incident's marker covers the site's centre, and a
    # click on its rim lands on whatever the browser draws there at that moment)
    page.evaluate(
        "id => app.monitoring.sites.getLayers().find((s) => s.feature.id === id).openPopup()",
        ids["Kalima"],
    )
    popup = page.locator(".leaflet-popup .popup-monitoring")
    popup.locator(f"[data-photo='{programme['photo']}'] img").wait_for()
    page.wait_for_function(
        "document.querySelector('.popup-monitoring img').naturalWidth > 0"
    )  # the thumbnail came, read with the viewer's key
    qualification = popup.locator("[data-field=qualification] td").inner_text()
    assert qualification == words["value.qualification.red"]
    operating = popup.locator("[data-field=operating] td").inner_text()
    assert operating == words["monitoring.operating.suspended"]
    assert words["monitoring.method.mercury"] in popup.inner_text()
    page.keyboard.press("Escape")

    # A month and a half ago: Kalima was green, Lugushwa not yet assessed; Kalima's incident had
    # occurred but waited for its verdict (given today); Lugushwa's had not happened.
    page.fill("#monitoring-as-of", _day(45))
    page.dispatch_event("#monitoring-as-of", "change")
    page.wait_for_function(settled)
    page.wait_for_function(
        "id => document.querySelector(`[data-site='${id}']`)?.dataset.qualification === 'green'",
        arg=ids["Kalima"],
    )
    then = {int(k): v["value"] for k, v in _drawn(page, "[data-site]", "data-site").items()}
    assert then == {ids["Kalima"]: "green", ids["Lugushwa"]: "not_assessed",
                    ids["Namoya"]: "not_assessed"}  # fmt: skip
    markers = _drawn(page, "[data-incident]", "data-incident")
    assert {int(k): v["value"] for k, v in markers.items()} == {incidents["Kalima"]: "unverified"}

    page.locator(f"[data-incident='{incidents['Kalima']}']").click()
    state = page.locator(".leaflet-popup .verification").inner_text()
    assert state == words["monitoring.verification.unverified"]

    assert page.get_attribute("#monitoring-field", "href") == f"/field?lang={lang}"
    assert page.get_attribute("#monitoring-dashboard", "href") == f"/dashboard?lang={lang}"
    if lang == "fr":
        assert english_on(page) == []


def test_signed_out_the_tab_asks_for_a_key_and_draws_nothing(open_map, programme) -> None:
    page = open_map(None, layers=[programme["slug"]])
    page.locator("[data-tab=monitoring]").click()
    page.wait_for_selector("#monitoring-sign-in")
    assert page.locator("[data-site], [data-incident]").count() == 0
