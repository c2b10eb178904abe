"""The MapLibre preview (/tiles/preview) in headless Chromium: the vendored MapLibre GL JS loads
the style of a demo layer, and of several, from its URL, draws their features from our tiles
with the attributes the API gives them, and says nothing in the console; a key in the page's
URL reaches every request for the layer's data."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page

from tests.conftest import bearer
from tests.web.conftest import internal_parcel

# Every feature a style layer draws in the view, once each (a feature cut by tile edges comes
# once per tile), with its id and the tile's attributes.
RENDERED = """(layer) => {
  const seen = new Map();
  for (const f of previewMap.queryRenderedFeatures({ layers: [layer] }))
    seen.set(f.id, { id: f.id, ...f.properties });
  return [...seen.values()];
}"""


def _open(page: Page, live_server: str, query: str) -> dict[str, Any]:
    """The preview of `query`, drawn; the style it loaded, as the server gives it."""
    page.goto(f"{live_server}/tiles/preview?{query}")
    page.wait_for_selector("body.ready")
    style_url = page.get_attribute("#style-url", "href")
    assert style_url == page.evaluate(
        "JSON.parse(document.getElementById('preview-config').textContent).style"
    )
    return httpx.get(style_url, timeout=10).json()


def _in_view(page: Page, live_server: str, slug: str, headers: dict | None = None) -> list[dict]:
    """The features of `slug` within the map's view, as the API gives them."""
    west, south, east, north = page.evaluate("previewMap.getBounds().toArray().flat()")
    answer = httpx.get(
        f"{live_server}/collections/{slug}/items",
        params={"bbox": f"{west},{south},{east},{north}", "limit": 1000},
        headers=headers,
        timeout=10,
    )
    return answer.json()["features"]


def test_the_style_of_a_layer_draws_its_features(new_page, live_server: str, demo) -> None:
    page = new_page()
    style = _open(page, live_server, "layers=concessions&lang=en")
    drawn = page.evaluate("previewMap.getStyle().layers.map(l => l.id)")
    assert drawn == ["basemap", *(layer["id"] for layer in style["layers"])]
    assert {"concessions-fill", "concessions-outline"} <= set(drawn)
    expected = {f["id"]: f["properties"] for f in _in_view(page, live_server, "concessions")}
    assert len(expected) >= 10  # the style's centre and zoom show the demo cadastre
    rendered = {f["id"]: f for f in page.evaluate(RENDERED, "concessions-fill")}
    assert rendered.keys() == expected.keys()
    for fid, feature in rendered.items():
        for field in ("title_type", "status", "code", "holder"):
            assert feature.get(field) == expected[fid].get(field), (fid, field)


def test_a_style_of_several_layers_draws_each(new_page, live_server: str, demo) -> None:
    page = new_page()
    style = _open(page, live_server, "layers=concessions,mine-sites&lang=fr")
    assert list(style["sources"]) == ["geo-service"]
    drawn = page.evaluate("previewMap.getStyle().layers.map(l => l.id)")
    # The first layer at the bottom: titles under the sites.
    assert drawn.index("concessions-fill") < drawn.index("mine-sites-circle")
    titles = {f["id"] for f in page.evaluate(RENDERED, "concessions-fill")}
    assert titles == {f["id"] for f in _in_view(page, live_server, "concessions")}
    sites = {f["id"]: f for f in page.evaluate(RENDERED, "mine-sites-circle")}
    expected = {f["id"]: f["properties"] for f in _in_view(page, live_server, "mine-sites")}
    assert sites.keys() == expected.keys() and len(sites) >= 10
    for fid, site in sites.items():
        assert site["qualification"] == expected[fid]["qualification"]


def test_a_key_in_the_preview_url_reaches_the_tiles(
    new_page, live_server: str, keys: dict[str, str], demo
) -> None:
    with internal_parcel(live_server, bearer(keys["admin"]), "maplibre-interne") as slug:
        assert httpx.get(f"{live_server}/tiles/preview?layers={slug}").status_code == 404
        page = new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        _open(page, live_server, f"layers={slug}&key={keys['viewer']}")
        (drawn,) = page.evaluate(RENDERED, f"{slug}-fill")
        assert drawn["name"] == "Parcelle interne" and drawn["usage"] == "agriculture"
    data = [url for url in requested if "/tiles/" in url and "/tiles/preview" not in url]
    assert any(".mvt" in url for url in data)
    assert data and all(f"key={keys['viewer']}" in url for url in data), data
