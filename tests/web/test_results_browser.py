"""Analysis results in the research panel, in headless Chromium: an overlap of two layers
imported from files whose label field is `Code` (a cadastre's zipped Shapefile with Code, Parties,
Licence_), named by a chosen attribute, sorted by hectares (checked against pyproj.Geod), a row
clicked to zoom to the pair and highlight it, downloads that hold the labels and the features'
own ids, numbers in French, and every result in a colour of its own."""

from __future__ import annotations

import csv
import io
import math
import os
import uuid
import zipfile
from pathlib import Path

import geopandas as gpd
import httpx
import pyogrio
import pytest
from pyproj import Geod
from shapely.geometry import box

from tests.conftest import bearer
from tests.web.conftest import DEMO_LAYERS

GEOD = Geod(ellps="WGS84")
# Near Kédougou (Senegal), away from the demo region. ZOP-01 crosses two titles, ZOP-02 one.
TITLES = {
    "PR 2019/044": (box(-12.20, 12.50, -12.17, 12.53), "SOMIKA SARL", "Permis de recherche"),
    "PE 2021/007": (
        box(-12.16, 12.50, -12.12, 12.54),
        "Coopérative minière de Kédougou",
        "Permis d'exploitation",
    ),
    "AE 2022/113": (box(-12.30, 12.60, -12.28, 12.62), "GIE Tomboronkoto", "Autorisation"),
}
ZONES = {
    "ZOP-01": box(-12.185, 12.51, -12.14, 12.52),
    "ZOP-02": box(-12.13, 12.535, -12.125, 12.545),
    "ZOP-03": box(-12.40, 12.40, -12.39, 12.41),
}
PARTIES = {code: parties for code, (_, parties, _) in TITLES.items()}


def _hectares(geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geometry)[0]) / 10_000


# Every pair that overlaps, with its geodesic hectares: (zone, title) -> ha.
EXPECTED = {
    (zone, title): _hectares(z.intersection(t))
    for zone, z in ZONES.items()
    for title, (t, _, _) in TITLES.items()
    if z.intersection(t).area > 0
}


def _shot(page, name: str) -> None:
    """A screenshot for the docs when GEO_SERVICE_SHOTS names a folder."""
    folder = os.environ.get("GEO_SERVICE_SHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _settled(page) -> None:
    """The map done moving and every shown layer's tiles in."""
    page.wait_for_function(
        """() => { let busy = app.map._animatingZoom;
            app.map.eachLayer((layer) => { busy = busy || (layer.isLoading && layer.isLoading()); });
            return !busy; }"""
    )


def _upload(base: str, key: str, slug: str, path: Path) -> None:
    with path.open("rb") as f:
        r = httpx.post(
            f"{base}/layers/{slug}/import",
            files={"file": (path.name, f)},
            headers=bearer(key),
            timeout=60,
        )
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def imported(live_server: str, keys, tmp_path_factory) -> dict[str, object]:
    """The cadastre and the zones, imported by the editor; slugs and the features' ids."""
    folder = tmp_path_factory.mktemp("results-browser")
    run = uuid.uuid4().hex[:6]
    cadastre, zones = f"cadastre-{run}", f"zones-{run}"
    titles = gpd.GeoDataFrame(
        [{"Code": c, "Parties": p, "Licence_": lic} for c, (_, p, lic) in TITLES.items()],
        geometry=[g for g, _, _ in TITLES.values()],
        crs="EPSG:4326",
    )
    (folder / "shp").mkdir()
    pyogrio.write_dataframe(titles, folder / "shp" / "cadastre.shp", encoding="UTF-8")
    with zipfile.ZipFile(folder / "cadastre.zip", "w") as archive:
        for member in (folder / "shp").iterdir():
            archive.write(member, member.name)
    areas = gpd.GeoDataFrame({"Code": list(ZONES)}, geometry=list(ZONES.values()), crs="EPSG:4326")
    pyogrio.write_dataframe(areas, folder / "zones.geojson", driver="GeoJSON")
    _upload(live_server, keys["editor"], cadastre, folder / "cadastre.zip")
    _upload(live_server, keys["editor"], zones, folder / "zones.geojson")
    ids = {}
    for slug in (cadastre, zones):
        items = httpx.get(
            f"{live_server}/collections/{slug}/items", headers=bearer(keys["editor"])
        ).json()
        ids.update({f["properties"]["Code"]: f["id"] for f in items["features"]})
    yield {"cadastre": cadastre, "zones": zones, "ids": ids}
    for slug in (cadastre, zones):
        httpx.delete(f"{live_server}/layers/{slug}", headers=bearer(keys["admin"]))


@pytest.fixture
def page(open_map, imported):
    """The map as the editor, with the imported layers ticked beside the demo's."""
    return open_map("editor", layers=ticked(imported))


def ticked(imported) -> list[str]:
    return [*DEMO_LAYERS, imported["cadastre"], imported["zones"]]


def _run_overlap(page, imported, target_label: str = "Parties") -> None:
    page.evaluate("app.layers.load()")
    page.click('[data-tab="research"]')
    page.select_option("#analysis-type", "overlap")
    page.select_option("#analysis-source", imported["zones"])
    page.select_option("#analysis-target", imported["cadastre"])
    page.select_option("#analysis-target-label", target_label)
    page.click("#analysis-run")
    page.locator("table.results tbody tr").first.wait_for()


def _column(page, index: int) -> list[str]:
    return page.locator(f"table.results tbody tr td:nth-child({index})").all_inner_texts()


def _number(text: str, lang: str = "en") -> float:
    """A number as the interface prints it: 1,234.5 in English, 1 234,5 in French."""
    if lang == "fr":
        return float(text.replace("\u202f", "").replace("\xa0", "").replace(",", "."))
    return float(text.replace(",", ""))


def _delta_e(a: str, b: str) -> float:
    """CIE76 colour difference of two #rrggbb colours (sRGB, D65)."""

    def lab(colour: str) -> tuple[float, float, float]:
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in rgb]
        xyz = (
            (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
            0.2126 * r + 0.7152 * g + 0.0722 * b,
            (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
        )
        x, y, z = [v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116 for v in xyz]
        return 116 * y - 16, 500 * (x - y), 200 * (y - z)

    return math.dist(lab(a), lab(b))


def test_overlap_table_with_a_chosen_label_sorted_zoomed_and_downloaded(
    page, imported, live_server: str
) -> None:
    page.evaluate("app.layers.load()")
    page.click('[data-tab="research"]')
    page.select_option("#analysis-target", imported["cadastre"])
    options = page.locator("#analysis-target-label option").all_inner_texts()
    assert options == ["automatic (name, code…)", "Code", "Licence_", "Parties"]
    _run_overlap(page, imported, "Parties")

    # Named by the chosen attribute; the zones, with no choice, by their Code.
    rows = page.locator("table.results tbody tr")
    assert rows.count() == len(EXPECTED)
    heads = page.locator("table.results th").all_inner_texts()
    title = "slug => app.layers.bySlug(slug).title"
    zones, cadastre = (page.evaluate(title, imported[k]) for k in ("zones", "cadastre"))
    assert heads[:2] == [zones, "Parties"]  # the layer's title, the chosen field
    assert page.get_attribute("table.results th >> nth=1", "title") == f"{cadastre}: Parties"
    pairs = set(zip(_column(page, 1), _column(page, 2), strict=True))
    assert pairs == {(zone, PARTIES[title]) for zone, title in EXPECTED}

    # Sorted by hectares, as numbers, both ways; the figures are pyproj's.
    page.click('th[data-column="overlap_ha"] button')
    assert page.get_attribute('th[data-column="overlap_ha"]', "aria-sort") == "ascending"
    shown = [_number(text) for text in _column(page, 3)]
    assert shown == sorted(shown)
    by_pair = {(zone, PARTIES[title]): ha for (zone, title), ha in EXPECTED.items()}
    expected = sorted(by_pair.values())
    assert shown == pytest.approx(expected, rel=0.005, abs=0.006)
    page.click('th[data-column="overlap_ha"] button')
    assert page.get_attribute('th[data-column="overlap_ha"]', "aria-sort") == "descending"
    shown = [_number(text) for text in _column(page, 3)]
    assert shown == sorted(shown, reverse=True)

    # Hover highlights the row's shape; a click zooms to the pair and keeps it highlighted.
    smallest = rows.last
    zone, parties = (
        smallest.locator("td").nth(0).inner_text(),
        smallest.locator("td").nth(1).inner_text(),
    )
    title = next(code for code, p in PARTIES.items() if p == parties)
    key = f"{imported['ids'][zone]}:{imported['ids'][title]}"
    assert smallest.get_attribute("data-key") == key  # the features' own ids
    weight = "key => app.research.current.byKey.get(key).options.weight"
    smallest.hover()
    assert page.evaluate(weight, key) == 5
    zoom_before = page.evaluate("app.map.getZoom()")
    page.evaluate("() => { window.zoomed = new Promise((done) => app.map.once('zoomend', done)); }")
    smallest.click()
    page.evaluate("window.zoomed.then(() => true)")
    assert page.evaluate("app.map.getZoom()") > zoom_before
    assert smallest.get_attribute("aria-selected") == "true"
    assert "selected" in smallest.get_attribute("class")
    overlap = ZONES[zone].intersection(TITLES[title][0])
    west, south, east, north = overlap.bounds
    inside = page.evaluate(
        "b => app.map.getBounds().contains([[b[1], b[0]], [b[3], b[2]]])",
        [west, south, east, north],
    )
    assert inside
    # The view is about the pair: centred on the overlap, closer than the whole result.
    lat, lng = page.evaluate("(() => { const c = app.map.getCenter(); return [c.lat, c.lng]; })()")
    assert west < lng < east and south < lat < north
    assert page.evaluate("app.map.getZoom()") >= 13
    style = page.evaluate("key => app.research.current.byKey.get(key).options", key)
    assert style["color"] == "#111111" and style["weight"] >= 4
    outlined = page.evaluate(
        "([slug, id]) => app.layers.overlays[slug]._overriddenStyles[id]?.color",
        [imported["cadastre"], imported["ids"][title]],
    )
    assert outlined == "#111111"
    _settled(page)
    _shot(page, "results-overlap-selected")

    # The downloads hold the labels, the ids and every attribute of both sides.
    with page.expect_download() as download:
        page.click("#analysis-csv")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {(line["source_name"], line["target_name"]) for line in lines} == set(by_pair)
    for line in lines:
        assert int(line["target_id"]) == imported["ids"][line["target.Code"]]
        assert line["target_name"] == PARTIES[line["target.Code"]]
        assert int(line["source_id"]) == imported["ids"][line["source.Code"]]
        assert line["target.Licence_"] == TITLES[line["target.Code"]][2]
        pair = (line["source.Code"], line["target.Code"])
        assert float(line["overlap_ha"]) == pytest.approx(EXPECTED[pair], rel=0.005)
    with page.expect_download() as download:
        page.click("#analysis-geojson")
    features = httpx.Response(200, content=Path(download.value.path()).read_bytes()).json()[
        "features"
    ]
    assert {f["properties"]["target_name"] for f in features} == {
        PARTIES[title] for _, title in EXPECTED
    }
    assert all(f["properties"]["target.Code"] in TITLES for f in features)


def test_attribute_columns_sort_and_every_result_has_its_own_colour(page, imported) -> None:
    _run_overlap(page, imported, "Code")
    page.check("#analysis-attributes")
    heads = page.locator("table.results th").all_inner_texts()
    assert "Parties (target)" in heads and "Licence_ (target)" in heads
    column = heads.index("Parties (target)") + 1
    page.click('th[data-column="target.Parties"] button')
    values = _column(page, column)
    assert values == sorted(values, key=str.casefold)

    # A second analysis keeps the first on the map, each in a colour no layer has.
    page.select_option("#analysis-target-label", "Licence_")
    page.click("#analysis-run")
    page.locator("#analysis-runs li").nth(1).wait_for()
    colours = page.evaluate("app.research.runs.map((r) => r.colour)")
    assert len(colours) == len(set(colours)) == 2
    layer_colours = page.evaluate(
        """import('/static/app/styles.js').then((s) => [
            ...Object.values(s.STYLE_BY_KIND).flatMap((r) => Object.values(r.colours)),
            ...Object.values(s.THEME_COLOURS)])"""
    )
    for colour in colours:
        assert min(_delta_e(colour, other) for other in layer_colours) >= 40, colour
    drawn = page.evaluate("app.research.runs.map((r) => r.shapes.getLayers()[0].options.color)")
    assert drawn == colours
    assert page.locator("table.results tbody td:nth-child(2)").all_inner_texts()[0] in {
        lic for _, _, lic in TITLES.values()
    }
    _settled(page)
    _shot(page, "results-two-runs")
    page.locator("#analysis-runs li").nth(1).locator(".run-remove").click()
    assert page.evaluate("app.research.runs.length") == 1
    assert page.evaluate("app.research.results.getLayers().length") == 1


def test_french_numbers_sort_as_numbers(open_map, imported) -> None:
    page = open_map("editor", lang="fr", layers=ticked(imported))
    _run_overlap(page, imported, "Parties")
    assert page.locator('label[for="analysis-target-label"]').inner_text() == "Cible nommée par"
    page.click('th[data-column="overlap_ha"] button')
    texts = _column(page, 3)
    assert all("," in text and "." not in text for text in texts), texts
    shown = [_number(text, "fr") for text in texts]
    assert shown == sorted(shown)
    assert shown == pytest.approx(sorted(EXPECTED.values()), rel=0.005, abs=0.006)
    _settled(page)
    _shot(page, "results-overlap-fr")
