"""The embed page in headless Chromium with a key in its URL (an iframe sends no header): a layer
that needs the key is drawn, with its popup, and every request for its data carries the key."""

from __future__ import annotations

import httpx

from tests.conftest import bearer
from tests.web.conftest import internal_parcel

STATIC = ("/static/", "/embed/assets/", "/basemap/")


def test_embed_of_an_internal_layer_with_the_key_in_the_url(
    new_page, live_server: str, keys, demo
) -> None:
    with internal_parcel(live_server, bearer(keys["admin"]), "embed-interne") as slug:
        assert httpx.get(f"{live_server}/embed?layers={slug}").is_error  # refused without it
        page = new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{live_server}/embed?layers={slug}&key={keys['viewer']}&lang=fr")
        page.wait_for_function(
            """() => { const grids = [];
                embedMap.eachLayer(l => { if (l._vectorTiles) grids.push(l); });
                return grids.length === 1 && !grids[0].isLoading()
                    && document.querySelectorAll('.leaflet-tile-container path').length > 0; }"""
        )
        page.evaluate("() => embedMap.setView([12.35, -8.55], 12)")
        page.wait_for_function(
            """() => { let done = false;
                embedMap.eachLayer(l => { if (l._vectorTiles) done = !l.isLoading(); });
                return done; }"""
        )
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        popup = page.locator(".embed-popup")
        popup.wait_for()
        assert "Parcelle interne" in popup.inner_text() and "agriculture" in popup.inner_text()
    data = [
        url
        for url in requested
        if url.startswith(live_server) and not any(part in url for part in STATIC)
    ]
    assert any("/tiles/" in url for url in data)
    assert all(f"key={keys['viewer']}" in url for url in data), data
