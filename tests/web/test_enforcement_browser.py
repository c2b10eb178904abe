"""Tailings by consequence class, abandoned-mine priority and permits in a zone, in headless
Chromium, in English and in French: the panel shows what the analyses answer, the priority
legend and markers carry the classes' colours, and a zone's popup lists its permits' flags."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from shapely.geometry import shape

from tests.conftest import bearer
from tests.web.conftest import DEMO_LAYERS

WORDS = {
    "en": {"outside": "Mining permit outside every gazetted zone", "legend": "Rehabilitation priority",
           "none": "no flag", "expired": "Past expiry", "closure": "closure",
           "next": "next step: notice served", "over": "over the limit of"},
    "fr": {"outside": "Permis d'exploitation hors de toute zone classée",
           "legend": "Priorité de réhabilitation", "none": "aucune alerte", "expired": "Échu",
           "closure": "fermeture", "next": "prochaine étape : mise en demeure notifiée",
           "over": "au-delà de la limite de"},
}  # fmt: skip


@pytest.fixture(scope="module")
def permits(live_server: str, keys: dict[str, str], demo) -> Iterator[dict]:
    admin = bearer(keys["admin"])
    zones = httpx.get(
        f"{live_server}/collections/asm-zones/items",
        params={"filter": "status = 'gazetted'", "limit": 1},
        headers=admin,
    ).json()["features"]
    zone = zones[0]
    inside = shape(zone["geometry"]).representative_point()
    slug = f"web-permits-{uuid.uuid4().hex[:6]}"
    made = httpx.post(f"{live_server}/layers", json={"slug": slug, "kind": "asm_permit", "visibility": "public"},
                      headers=admin)  # fmt: skip
    assert made.status_code == 201, made.text
    for number, point, extra in (
        ("PI-IN", [inside.x, inside.y], {}),
        ("PI-OUT", [inside.x + 3, inside.y + 3], {"expires": "2020-06-30"}),
    ):
        item = {"type": "Feature", "geometry": {"type": "Point", "coordinates": point},
                "properties": {"number": number, "category": "mining", "holder": "Coop",
                               "issued": "2019-01-01", **extra}}  # fmt: skip
        assert httpx.post(f"{live_server}/collections/{slug}/items", json=item,
                          headers=admin).status_code == 201  # fmt: skip
    out = httpx.get(f"{live_server}/collections/{slug}/items", params={"filter": "number = 'PI-OUT'"},
                    headers=admin).json()["features"][0]  # fmt: skip
    base = f"{live_server}/layers/{slug}/features/{out['id']}"
    inspection = httpx.post(f"{base}/inspections", headers=admin, json={
        "date": "2026-05-10", "team": ["Brigade minière"],
        "findings": [{"text": "Puits non sécurisé", "severity": "critical"}],
        "samples": [{"medium": "water", "parameter": "Hg", "value": 0.02, "unit": "mg/L",
                     "limit": 0.006}]}).json()  # fmt: skip
    closure = httpx.post(f"{base}/sanctions", headers=admin, json={
        "finding_id": inspection["findings"][0]["id"], "kind": "closure",
        "date": "2026-05-11"}).json()  # fmt: skip
    assert closure["next_step"] == "notice_served"
    yield {"slug": slug, "zone": zone, "inside": inside, "out": out}
    httpx.delete(f"{live_server}/layers/{slug}", headers=admin)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_tailings_priority_and_permits_in_a_zone(open_map, live_server, keys, permits, lang):
    words = WORDS[lang]
    page = open_map("editor", lang=lang, layers=[*DEMO_LAYERS, permits["slug"]])
    registry = page.evaluate("JSON.parse(document.getElementById('registry').textContent)")
    page.click('[data-tab="research"]')
    page.click("#hazards-box summary")

    # Tailings: each facility listed with its consequence class's registry colour.
    page.select_option("#exposure-layer", "tailings")
    page.click("#hazards-exposure")
    page.wait_for_selector(".exposure-list")
    answer = httpx.get(f"{live_server}/analysis/tailings-exposure",
                       params={"layer": "tailings", "within_m": 10000}).json()  # fmt: skip
    shown = page.eval_on_selector_all(
        ".exposure-list > li",
        "items => items.map(li => [Number(li.dataset.id), li.querySelector('.swatch').style.background])",
    )
    assert [i for i, _ in shown] == [f["id"] for f in answer["facilities"]]
    colours = registry["kinds"]["tailings_facility"]["colours"]
    for (fid, colour), facility in zip(shown, answer["facilities"], strict=True):
        expected = colours.get(facility["consequence"], "#8c8c8c")
        rgb = page.evaluate(
            "c => { const d = document.createElement('div'); d.style.background = c; return d.style.background; }",
            expected,
        )  # noqa: E501
        assert colour == rgb, fid

    # Abandoned mines: ranked, drawn by class with the legend in the page's language.
    page.click("#hazards-priority")
    page.wait_for_selector(".priority-list li")
    ranked = httpx.get(f"{live_server}/analysis/abandoned-mine-priority",
                       params={"layer": "abandoned-mines"}).json()  # fmt: skip
    assert page.eval_on_selector_all(
        ".priority-list li", "l => l.map(x => Number(x.dataset.id))"
    ) == [r["id"] for r in ranked["rows"]]
    legend = page.locator(".priority-legend")
    assert words["legend"] in legend.inner_text()
    assert page.locator(".priority-legend .legend-item").count() == len(ranked["classes"])
    for row in ranked["rows"]:
        assert page.locator(f"path.priority-{row['class']}").count() >= 1

    # Permits: the flagged one with its reasons; a zone's popup lists the permit inside it.
    page.select_option("#flags-layer", permits["slug"])
    page.click("#hazards-flags")
    page.wait_for_selector(".flag-list")
    flagged = page.locator("#flags-result").inner_text()
    assert "PI-OUT" in flagged and words["outside"] in flagged and words["expired"] in flagged
    assert "PI-IN" not in flagged
    assert page.locator("path.permit-flag").count() == 1
    page.evaluate(
        "([id, lat, lon]) => app.layers.openPopup(app.layers.bySlug('asm-zones'), {id}, L.latLng(lat, lon))",
        [permits["zone"]["id"], permits["inside"].y, permits["inside"].x],
    )
    page.wait_for_selector(".zone-permits li")
    popup = page.locator(".zone-permits").inner_text()
    assert "PI-IN" in popup and words["none"] in popup and "PI-OUT" not in popup

    # The flagged permit's popup: its inspection, the sample over its limit, the closure.
    page.keyboard.press("Escape")
    page.evaluate(
        "([slug, id, lat, lon]) => app.layers.openPopup(app.layers.bySlug(slug), {id}, L.latLng(lat, lon))",
        [
            permits["slug"],
            permits["out"]["id"],
            *reversed(permits["out"]["geometry"]["coordinates"]),
        ],
    )
    page.wait_for_selector(".inspections .finding")
    shown = page.locator(".inspections").inner_text()
    assert "Puits non sécurisé" in shown and words["over"] in shown
    assert words["closure"] in shown and words["next"] in shown
