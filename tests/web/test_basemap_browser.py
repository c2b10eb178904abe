"""The web map's basemaps: the offline one always, online ones in the switcher when configured
(named in the page's language), and the fall back to the offline one when online tiles fail.

The "online" basemap of these tests is the offline one served under another address by the
live server itself: no test reaches the network."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from geo_service.settings import APISettings, OnlineBasemap

IMAGERY = OnlineBasemap(
    name={"en": "Test imagery", "fr": "Imagerie d'essai"},
    url="/basemap/{z}/{x}/{y}.png?v=online",
    attribution="Test imagery credit",
    max_zoom=12,
)
BROKEN = OnlineBasemap(
    name={"en": "Unreachable", "fr": "Injoignable"}, url="/no-such-basemap/{z}/{x}/{y}.png"
)
TILES = ".leaflet-tile-pane img.leaflet-tile"


def _config(html: str) -> dict:
    match = re.search(r'<script id="config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its configuration"
    return json.loads(match.group(1))


@pytest.fixture
def configure(app, monkeypatch) -> Callable[..., None]:
    """configure(basemaps, default=None): the online basemaps the server offers from now to the
    end of the test (and its GEO_SERVICE_BASEMAP_URL)."""

    def set_(basemaps: list[OnlineBasemap], default: str | None = None) -> None:
        monkeypatch.setattr(app.state.settings.api, "basemaps", basemaps)
        if default:
            monkeypatch.setattr(app.state.settings.api, "basemap_url", default)

    return set_


def _switcher(page) -> list[str]:
    """The names in the basemap switcher, in order (opened as a pointer would)."""
    page.hover(".leaflet-control-layers")
    names = page.locator(".leaflet-control-layers-base label").all_inner_texts()
    return [name.strip() for name in names]


def _shown(page, fragment: str) -> None:
    """Wait until a loaded basemap tile's address holds `fragment`."""
    page.wait_for_function(
        """f => [...document.querySelectorAll("img.leaflet-tile")].some(
            i => i.src.includes(f) && i.complete && i.naturalWidth === 256)""",
        arg=fragment,
    )


def test_no_online_basemap_unless_configured(client) -> None:
    config = _config(client.get("/map").text)
    assert config["basemaps"] == []
    assert config["fallback_basemap_url"] == config["basemap_url"] == "/basemap/{z}/{x}/{y}.png"


def test_configured_basemaps_reach_the_page(client, configure) -> None:
    configure([IMAGERY])
    assert _config(client.get("/map").text)["basemaps"] == [IMAGERY.model_dump()]


def test_a_basemap_needs_both_names_and_an_xyz_address(monkeypatch) -> None:
    unnamed = [{"name": {"en": "Streets"}, "url": "https://tiles.example.org/{z}/{x}/{y}.png"}]
    monkeypatch.setenv("GEO_SERVICE_BASEMAPS", json.dumps(unnamed))
    with pytest.raises(ValidationError, match="name in fr"):
        APISettings()
    not_xyz = [{"name": {"en": "Streets", "fr": "Rues"}, "url": "https://tiles.example.org/"}]
    monkeypatch.setenv("GEO_SERVICE_BASEMAPS", json.dumps(not_xyz))
    with pytest.raises(ValidationError, match="XYZ template"):
        APISettings()


def test_the_switcher_offers_the_online_basemap_beside_the_offline_one(open_map, configure) -> None:
    configure([IMAGERY])
    page = open_map()
    assert _switcher(page) == ["Test imagery", "Offline map"]
    assert page.locator(".leaflet-control-layers-base input").nth(1).is_checked()
    _shown(page, "/basemap/")
    sources = page.eval_on_selector_all(TILES, "imgs => imgs.map(i => i.src)")
    assert sources and all("lang=en" in s and "v=online" not in s for s in sources)
    assert "GeoNames" in page.locator(".leaflet-control-attribution").inner_text()

    page.locator(".leaflet-control-layers-base label", has_text="Test imagery").click()
    _shown(page, "v=online")
    credit = page.locator(".leaflet-control-attribution").inner_text()
    assert "Test imagery credit" in credit and "GeoNames" not in credit

    # In French the switcher renames both, and the offline tiles are asked for in French.
    page.select_option("#lang-select", "fr")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    assert _switcher(page) == ["Imagerie d'essai", "Carte hors ligne"]
    page.locator(".leaflet-control-layers-base label", has_text="Carte hors ligne").click()
    _shown(page, "lang=fr")
    assert "lacs" in page.locator(".leaflet-control-attribution").inner_text()


def test_an_unreachable_online_basemap_gives_way_to_the_offline_one(
    open_map, configure, console
) -> None:
    configure([BROKEN], default=BROKEN.url)
    console.expect("status of 404")  # the browser reports each missing tile
    page = open_map()
    notice = page.locator(".message-notice")
    notice.wait_for()
    assert "offline basemap" in notice.inner_text()
    _shown(page, "/basemap/")
    assert _switcher(page) == ["Unreachable", "Offline map"]
    assert page.locator(".leaflet-control-layers-base input").nth(1).is_checked()
