"""Country risk and trade routes in headless Chromium, in English and in French: the choropleth
coloured by the registry's level colours for a chosen category, the Mano River Union zoomed to
and summarised, its diamond features marked for the Kimberley Process, a trade route drawn in
its legality's colour, and a site's popup showing its country's ratings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from shapely.geometry import LineString, Point, mapping
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.api.test_country_risk import CSV, add_countries
from tests.conftest import bearer
from tests.web.conftest import DEMO_LAYERS, _messages, english_on

KONO, KENEMA, MONROVIA = (-11.0, 8.6), (-11.19, 7.88), (-10.8, 6.3)


@pytest.fixture(scope="module")
def trade(live_server: str, keys, engine, demo) -> Iterator[dict[str, object]]:
    admin = bearer(keys["admin"])
    tag = uuid.uuid4().hex[:6]
    slugs = {"countries": f"web-countries-{tag}", "sites": f"web-risk-sites-{tag}",
             "routes": f"web-routes-{tag}"}  # fmt: skip
    with Session(engine) as s:
        add_countries(s, slugs["countries"])
        s.commit()
    for key, kind in (("sites", "mine_site"), ("routes", "trade_route")):
        made = httpx.post(
            f"{live_server}/layers",
            headers=admin,
            json={"slug": slugs[key], "kind": kind, "visibility": "public"},
        )
        assert made.status_code == 201, made.text
    ids = {}
    for key, geom, props in [
        ("sites", Point(KONO), {"name": "Kono", "minerals": ["diamonds"]}),
        ("routes", LineString([KONO, KENEMA, MONROVIA]),
         {"name": "Kono - Monrovia", "mineral": "diamonds", "legality": "suspected"}),
    ]:  # fmt: skip
        feature = {"type": "Feature", "geometry": mapping(geom), "properties": props}
        made = httpx.post(f"{live_server}/collections/{slugs[key]}/items", json=feature,
                          headers=admin)  # fmt: skip
        assert made.status_code == 201, made.text
        ids[key] = made.json()["id"]
    imported = httpx.post(f"{live_server}/country-risk/import", headers=admin,
                          files={"file": ("risk.csv", CSV.encode(), "text/csv")})  # fmt: skip
    assert imported.status_code == 200, imported.text
    yield {**slugs, "ids": ids}
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_choropleth_region_and_trade_routes(open_map, trade, live_server, lang) -> None:
    words = _messages(lang)
    registry = httpx.get(f"{live_server}/kinds").json()
    risk, route_colours = registry["country_risk"], registry["kinds"]["trade_route"]["colours"]
    page = open_map("viewer", lang=lang, layers=[*DEMO_LAYERS, trade["sites"], trade["routes"]])
    page.click('[data-tab="risk"]')
    options = page.locator("#risk-category option").all_inner_texts()
    assert options == [risk["labels"][c][lang] for c in risk["categories"]]
    legend = page.locator(".risk-legend li")
    assert [text.strip() for text in legend.all_inner_texts()] == [
        *(risk["labels"][level][lang] for level in risk["levels"]),
        words["risk.not_rated"],
    ]
    swatch = page.locator('.risk-legend li[data-level="very_high"] .swatch')
    assert swatch.evaluate("e => e.style.background") == page.evaluate(
        "c => { const e = document.createElement('i'); e.style.background = c;"
        " return e.style.background; }",
        risk["colours"]["very_high"],
    )

    page.select_option("#risk-category", "human_rights")
    page.check("#risk-show")
    page.wait_for_selector('path[data-iso3="LBR"]', state="attached")
    fill = page.get_attribute('path[data-iso3="LBR"]', "fill")
    assert fill == risk["colours"]["high"]  # Liberia: high on human rights (CSV)
    assert page.get_attribute('path[data-iso3="GIN"]', "fill") == registry["grey"]  # not rated

    page.select_option("#risk-region", "MRU")
    page.wait_for_selector("#risk-summary table.risk-counts")
    region = httpx.get(f"{live_server}/regions/MRU").json()
    west, south, east, north = region["bbox"]
    assert page.evaluate(
        "b => app.map.getBounds().pad(0.01).contains(L.latLngBounds(b))",
        [[south, west], [north, east]],
    )
    page.wait_for_function("document.querySelectorAll('path[data-iso3]').length === 4")
    summary = httpx.get(f"{live_server}/regions/MRU/summary").json()
    routes = page.locator('#risk-summary tr[data-count="routes"] td').inner_text()
    assert int(routes) == summary["counts"]["routes"] >= 1
    kimberley = httpx.get(f"{live_server}/analysis/kimberley", params={"region": "MRU"}).json()
    assert page.evaluate("app.risk.kimberley.getLayers().length") == len(kimberley["features"])
    member = page.locator('#risk-summary tr[data-iso3="LBR"] td').inner_text()
    assert member == risk["labels"]["high"][lang]

    # The route is drawn in its legality's colour, as the registry says.
    (style, _) = page.evaluate(
        "s => app.layers.styleFor(s, {legality: 'suspected'})", trade["routes"]
    )
    assert (style["color"], style["dashArray"]) == (route_colours["suspected"], "8 4")
    page.wait_for_selector(f'path[stroke="{route_colours["suspected"]}"]', state="attached")

    # A site's popup shows its country (Sierra Leone), its diamonds rating and the KP flag.
    page.evaluate(
        "([slug, id]) => app.layers.openPopup(app.layers.bySlug(slug), {id}, L.latLng(8.6, -11.0))",
        [trade["sites"], trade["ids"]["sites"]],
    )
    page.wait_for_selector(".popup-country h4")
    assert "SLE" in page.inner_text(".popup-country h4")
    assert page.inner_text(".popup-country .kimberley-flag") == words["risk.kimberley"]
    row = page.locator(".popup-country li[data-level]")
    assert row.count() == 1 and risk["labels"]["very_high"][lang] in row.inner_text()
    if lang == "fr":
        assert english_on(page) == []
