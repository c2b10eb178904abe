"""The map at a past date, in headless Chromium: a date in the layer panel redraws every vector
layer as it stood then (tiles asked with `as_of`), a title since moved is back where it was,
its popup shows its version of then; "Today" brings the present back. In English and French."""

from __future__ import annotations

import pytest

from tests.tiles.test_as_of import BEFORE, history  # noqa: F401 (a fixture)
from tests.web.conftest import _messages, english_on
from tests.web.test_map_browser import DRAWN, _click_lat_lng


def _count(page, slug: str) -> int:
    page.wait_for_function(f"slug => ({DRAWN})(slug) >= 0", arg=slug)
    return page.evaluate(DRAWN, slug)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_map_as_it_stood_on_a_past_day(open_map, history, lang: str) -> None:  # noqa: F811
    words = _messages(lang)
    slug = history["slug"]
    page = open_map("viewer", lang=lang, layers=[slug])
    tiles: list[str] = []
    page.on("request", lambda r: tiles.append(r.url) if ".mvt" in r.url else None)
    lon, lat = BEFORE
    page.evaluate("([lat, lng]) => app.map.setView([lat, lng], 12, { animate: false })", [lat, lon])
    assert _count(page, slug) == 0  # K-1 has moved from here since
    assert page.locator("label[for=map-as-of]").inner_text() == words["layers.as_of"]

    page.fill("#map-as-of", "2025-03-01")
    page.dispatch_event("#map-as-of", "change")
    page.wait_for_function(f"slug => ({DRAWN})(slug) > 0", arg=slug)
    assert _count(page, slug) == 1
    assert any("as_of=2025-03-01" in url for url in tiles)
    note = page.locator("#map-as-of-note")
    assert note.is_visible()
    assert ("1 March 2025" if lang == "en" else "1 mars 2025") in note.inner_text()

    _click_lat_lng(page, lat, lon)
    popup = page.locator(".leaflet-popup-content .popup")
    popup.locator("h3", has_text="K-1").wait_for()
    assert words["value.status.application"] in popup.inner_text()
    assert popup.locator(".popup-as-of").inner_text() == words["layers.as_of_version"].format(
        version=1
    )
    if lang == "fr":
        assert english_on(page) == []

    page.click("#map-as-of-clear")
    page.wait_for_function("!document.body.classList.contains('as-of')")
    assert _count(page, slug) == 0
    assert not note.is_visible()
