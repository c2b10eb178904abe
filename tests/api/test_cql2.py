"""CQL2 filters, strict parameters, sortby, properties and CRS (Features Parts 1-3) on the demo
data. Every expected set is computed here from the demo files (data/demo) with plain Python,
shapely and pyproj, never from the service's own answers."""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from pathlib import Path
from urllib.parse import quote

import mapbox_vector_tile
import morecantile
import pytest
from pyproj import Geod, Transformer
from shapely.geometry import box, mapping, shape

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
SITES = json.loads((DEMO / "mine-sites.geojson").read_text())["features"]
TITLES = json.loads((DEMO / "concessions.geojson").read_text())["features"]
GEOD = Geod(ellps="WGS84")


def codes(client, slug: str, query: str) -> list[str]:
    response = client.get(f"/collections/{slug}/items?limit=1000&{query}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberMatched"] == body["numberReturned"]
    return [f["properties"]["code"] for f in body["features"]]


def site_codes(client, cql: str) -> set[str]:
    return set(codes(client, "mine-sites", f"filter={quote(cql)}"))


def expected(predicate, features=SITES) -> set[str]:
    return {f["properties"]["code"] for f in features if predicate(f["properties"])}


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


# The basic-cql2 examples of OGC 21-065 (Annex B), on the demo's attributes.
BASIC = [
    ("qualification = 'red'", lambda p: p["qualification"] == "red"),
    ("qualification <> 'red'", lambda p: p["qualification"] != "red"),
    ("workers > 300", lambda p: p["workers"] is not None and p["workers"] > 300),
    ("workers >= 300", lambda p: p["workers"] is not None and p["workers"] >= 300),
    ("workers < 100", lambda p: p["workers"] is not None and p["workers"] < 100),
    ("workers <= 100", lambda p: p["workers"] is not None and p["workers"] <= 100),
    ("mercury_use = true", lambda p: p["mercury_use"] is True),
    ("operator IS NULL", lambda p: p.get("operator") is None),
    ("operator IS NOT NULL", lambda p: p.get("operator") is not None),
    (
        "last_visit > DATE('2025-01-01')",
        lambda p: (
            p["last_visit"] is not None and date.fromisoformat(p["last_visit"]) > date(2025, 1, 1)
        ),
    ),
    (
        "last_visit <= DATE('2024-06-30')",
        lambda p: (
            p["last_visit"] is not None and date.fromisoformat(p["last_visit"]) <= date(2024, 6, 30)
        ),
    ),
    (
        "scale = 'artisanal' AND (workers > 200 OR mercury_use = true)",
        lambda p: (
            p["scale"] == "artisanal" and ((p["workers"] or 0) > 200 or p["mercury_use"] is True)
        ),
    ),
    ("NOT (qualification = 'green')", lambda p: p["qualification"] != "green"),
    ("country = 'Mali' OR country = 'Guinea'", lambda p: p["country"] in ("Mali", "Guinea")),
    ("workers = women_workers * 2", lambda p: p["workers"] == 2 * (p["women_workers"] or -1)),
    ("true", lambda p: True),
]


@pytest.mark.parametrize("cql, predicate", BASIC, ids=[c for c, _ in BASIC])
def test_basic_cql2_on_the_demo_sites(client, demo, cql, predicate) -> None:
    assert site_codes(client, cql) == expected(predicate)


ADVANCED = [
    ("name LIKE 'Placer de K%'", lambda p: p["name"].startswith("Placer de K")),
    ("name NOT LIKE '%K%'", lambda p: "K" not in p["name"]),
    ("code LIKE 'ML-ASM-000_'", lambda p: p["code"][:-1] == "ML-ASM-000" and len(p["code"]) == 11),
    ("qualification IN ('red', 'yellow')", lambda p: p["qualification"] in ("red", "yellow")),
    (
        "qualification NOT IN ('red', 'yellow')",
        lambda p: p["qualification"] not in ("red", "yellow"),
    ),
    (
        "workers BETWEEN 100 AND 250",
        lambda p: p["workers"] is not None and 100 <= p["workers"] <= 250,
    ),
    ("CASEI(country) = casei('MALI')", lambda p: (p["country"] or "").lower() == "mali"),
    ("CASEI(admin_area) LIKE casei('KOU%')", lambda p: p["admin_area"].lower().startswith("kou")),
]


@pytest.mark.parametrize("cql, predicate", ADVANCED, ids=[c for c, _ in ADVANCED])
def test_comparison_and_text_functions(client, demo, cql, predicate) -> None:
    chosen = expected(predicate)
    assert chosen and chosen != expected(lambda p: True)  # each example tells sites apart
    assert site_codes(client, cql) == chosen


# Sites of a layer of its own, with the lists and accents the demo lacks.
LISTED = [
    {"code": "L-1", "name": "Kéniéba", "minerals": ["gold"]},
    {"code": "L-2", "name": "Kenieba Sud", "minerals": ["gold", "tin"]},
    {"code": "L-3", "name": "Sìguiri", "minerals": ["coltan", "tin"]},
    {"code": "L-4", "name": "Siguiri Est", "minerals": ["diamond"]},
    {"code": "L-5", "name": "Doko", "minerals": []},
]
LISTS = [
    ("minerals = 'gold'", {"L-1", "L-2"}),
    ("minerals <> 'gold'", {"L-3", "L-4", "L-5"}),
    ("minerals IN ('tin', 'diamond')", {"L-2", "L-3", "L-4"}),
    ("minerals LIKE 'co%'", {"L-3"}),
    ("A_CONTAINS(minerals, ('gold', 'tin'))", {"L-2"}),
    ("A_CONTAINEDBY(minerals, ('gold', 'tin'))", {"L-1", "L-2", "L-5"}),
    ("A_OVERLAPS(minerals, ('tin', 'diamond'))", {"L-2", "L-3", "L-4"}),
    ("A_EQUALS(minerals, ('diamond'))", {"L-4"}),
    ("ACCENTI(CASEI(name)) LIKE accenti(casei('KÉNIÉBA%'))", {"L-1", "L-2"}),
    ("ACCENTI(name) = accenti('Siguiri')", {"L-3"}),
]


@pytest.fixture(scope="module")
def listed(client, demo):
    created = client.post("/layers", json={"slug": "cql-listed", "kind": "mine_site"})
    assert created.status_code == 201, created.text
    for i, props in enumerate(LISTED):
        feature = {"type": "Feature", "properties": props,
                   "geometry": {"type": "Point", "coordinates": [-8.0 + i / 10, 12.0]}}  # fmt: skip
        assert client.post("/collections/cql-listed/items", json=feature).status_code == 201
    yield "cql-listed"
    client.delete("/layers/cql-listed")


@pytest.mark.parametrize("cql, chosen", LISTS, ids=[c for c, _ in LISTS])
def test_lists_and_accents(client, listed, cql, chosen) -> None:
    assert set(codes(client, listed, f"filter={quote(cql)}")) == chosen
    # A list attribute equals a value it holds in a property parameter too, as on tiles.
    assert set(codes(client, listed, "minerals=tin")) == {"L-2", "L-3"}


def test_spatial_functions_match_shapely_and_the_geodesic(client, demo) -> None:
    area = box(-9.5, 11.0, -8.0, 12.5)
    inside = expected(lambda p: True, [f for f in SITES if shape(f["geometry"]).intersects(area)])
    assert site_codes(client, "S_INTERSECTS(geom, BBOX(-9.5, 11.0, -8.0, 12.5))") == inside
    polygon = "POLYGON((-9.5 11, -8 11, -8 12.5, -9.5 12.5, -9.5 11))"
    assert site_codes(client, f"S_WITHIN(geom, {polygon})") == inside
    assert site_codes(client, f"S_DISJOINT(geom, {polygon})") == expected(lambda p: True) - inside
    near = (-8.9, 12.1)
    within = {
        f["properties"]["code"]
        for f in SITES
        if GEOD.inv(*near, *shape(f["geometry"]).representative_point().coords[0])[2] <= 40_000
    }
    assert within and within != expected(lambda p: True)
    assert site_codes(client, "S_DWITHIN(geom, POINT(-8.9 12.1), 40, kilometers)") == within
    # The same filter in CQL2 JSON.
    as_json = {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [-9.5, 11, -8, 12.5]}]}
    assert (
        set(
            codes(
                client, "mine-sites", f"filter-lang=cql2-json&filter={quote(json.dumps(as_json))}"
            )
        )
        == inside
    )


def test_filter_crs_reads_the_geometry_in_that_crs(client, demo) -> None:
    to_utm = Transformer.from_crs(4326, 32629, always_xy=True)
    (x0, x1), (y0, y1) = to_utm.transform([-9.5, -8.0], [11.0, 12.5])
    square = box(x0, y0, x1, y1)  # straight-edged in UTM, curved in degrees
    inside = {
        f["properties"]["code"]
        for f in SITES
        if square.contains(
            shape({"type": "Point", "coordinates": to_utm.transform(*f["geometry"]["coordinates"])})
        )
    }
    assert inside
    ring = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
    got = codes(
        client, "mine-sites", f"filter-crs=EPSG:32629&filter={quote(f'S_INTERSECTS(geom, {ring})')}"
    )
    assert set(got) == inside


def test_the_same_filter_on_items_tiles_exports_and_an_analysis(client, demo) -> None:
    cql = "status IN ('active', 'renewal') OR minerals = 'copper'"
    chosen = expected(
        lambda p: p["status"] in ("active", "renewal") or "copper" in p["minerals"], TITLES
    )
    assert chosen and chosen != expected(lambda p: True, TITLES)
    items = client.get(f"/collections/concessions/items?limit=1000&filter={quote(cql)}").json()
    ids = {f["id"] for f in items["features"]}
    assert {f["properties"]["code"] for f in items["features"]} == chosen
    # Tiles: every tile at zoom 8 over the titles, decoded.
    west, south, east, north = shape_bounds(items["features"])
    in_tiles: set[int] = set()
    for tile in morecantile.tms.get("WebMercatorQuad").tiles(west, south, east, north, [8]):
        response = client.get(
            f"/tiles/concessions/{tile.z}/{tile.x}/{tile.y}.mvt?filter={quote(cql)}"
        )
        assert response.status_code in (200, 204), response.text
        if response.status_code == 200:
            layer = mapbox_vector_tile.decode(response.content).get("concessions", {"features": []})
            in_tiles |= {f["id"] for f in layer["features"]}
    assert in_tiles == ids
    # Exports: the GeoJSON download, parsed.
    exported = client.get(f"/layers/concessions/export?format=geojson&filter={quote(cql)}")
    assert exported.status_code == 200, exported.text
    assert {f["properties"]["code"] for f in json.loads(exported.content)["features"]} == chosen
    # Analyses: the nearest place to each chosen title (every source feature has a row), and
    # the overlap with a frame that covers every title (every chosen one overlaps it).
    near = client.post(
        "/analysis/proximity",
        json={"source": "concessions", "target": "places", "source_filter": cql},
    )
    assert near.status_code == 200, near.text
    assert {row["source"]["id"] for row in near.json()["rows"]} == ids
    frame = box(west - 0.1, south - 0.1, east + 0.1, north + 0.1)
    assert client.post("/layers", json={"slug": "cql-frame"}).status_code == 201
    try:
        feature = {"type": "Feature", "geometry": mapping(frame), "properties": {}}
        assert client.post("/collections/cql-frame/items", json=feature).status_code == 201
        for body in (
            {"source": "concessions", "target": "cql-frame", "source_filter": cql},
            {"source": "concessions", "target": "cql-frame", "source_filter": {"op": "or", "args": [
                {"op": "in", "args": [{"property": "status"}, ["active", "renewal"]]},
                {"op": "=", "args": [{"property": "minerals"}, "copper"]}]}},
        ):  # fmt: skip
            overlap = client.post("/analysis/overlap", json=body)
            assert overlap.status_code == 200, overlap.text
            assert {row["source"]["id"] for row in overlap.json()["rows"]} == ids
    finally:
        client.delete("/layers/cql-frame")


def shape_bounds(features: list[dict]) -> tuple[float, float, float, float]:
    from shapely.ops import unary_union

    return unary_union([shape(f["geometry"]) for f in features]).bounds


def test_property_parameters_are_cql2_equalities_everywhere(client, demo) -> None:
    gold = expected(lambda p: "gold" in p["minerals"])
    assert set(codes(client, "mine-sites", "minerals=gold")) == gold
    assert set(codes(client, "mine-sites", "workers=80")) == expected(lambda p: p["workers"] == 80)
    assert set(codes(client, "mine-sites", "mercury_use=true")) == expected(
        lambda p: p["mercury_use"] is True
    )


@pytest.mark.parametrize(
    "path",
    [
        "/collections/mine-sites/items?sort=name",
        "/collections/mine-sites/items?fliter=workers>3",
        "/collections/mine-sites?limit=3",
        "/collections?bogus=1",
        "/conformance?x=1",
        "/tiles/mine-sites/0/0/0.mvt?no_such_attribute=1",
        "/search?q=Kouroussa&page=2",
        "/layers/mine-sites/export?format=geojson&colour=red",
    ],
)
def test_an_unknown_parameter_is_a_400_naming_it(client, demo, path) -> None:
    response = client.get(path)
    assert response.status_code == 400, response.text
    problem = response.json()
    name = path.split("&")[-1].split("?")[-1].split("=")[0]
    assert name in problem["detail"] and problem["where"]["query"] == [name]


@pytest.mark.parametrize(
    "cql, said",
    [
        ("salary > 3", "salary"),
        ("T_AFTER(last_visit, DATE('2020-01-01'))", "t_after"),
        ("workers >", "cql2-text"),
        ("last_visit > DATE('2020-13-45')", "2020-13-45"),
        ("S_INTERSECTS(geom, workers)", "geometry"),
    ],
)
def test_a_filter_the_api_cannot_run_is_a_400_that_says_why(client, demo, cql, said) -> None:
    response = client.get(f"/collections/mine-sites/items?filter={quote(cql)}")
    assert response.status_code == 400, response.text
    assert said in response.json()["detail"]
    tile = client.get(f"/tiles/mine-sites/0/0/0.mvt?filter={quote(cql)}")
    assert tile.status_code == 400 and said in tile.json()["detail"]


def test_bbox_in_web_mercator_and_in_lat_lon_order_select_what_degrees_do(client, demo) -> None:
    degrees = (-9.5, 11.0, -8.0, 12.5)
    by_degrees = codes(client, "mine-sites", "bbox=" + ",".join(map(str, degrees)))
    assert by_degrees
    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    (x0, x1), (y0, y1) = to_3857.transform([degrees[0], degrees[2]], [degrees[1], degrees[3]])
    by_metres = codes(client, "mine-sites", f"bbox={x0},{y0},{x1},{y1}&bbox-crs=EPSG:3857")
    assert by_metres == by_degrees
    lat_lon = f"{degrees[1]},{degrees[0]},{degrees[3]},{degrees[2]}"
    uri = quote("http://www.opengis.net/def/crs/EPSG/0/4326")
    assert codes(client, "mine-sites", f"bbox={lat_lon}&bbox-crs={uri}") == by_degrees


def test_crs_returns_coordinates_that_match_pyproj(client, demo) -> None:
    plain = client.get("/collections/mine-sites/items?limit=5").json()["features"]
    response = client.get("/collections/mine-sites/items?limit=5&crs=EPSG:32629")
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/32629>"
    to_utm = Transformer.from_crs(4326, 32629, always_xy=True)
    for lonlat, utm in zip(plain, response.json()["features"], strict=True):
        x, y = to_utm.transform(*lonlat["geometry"]["coordinates"])
        assert utm["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.002)
    lat_lon = client.get(f"/collections/mine-sites/items/{plain[0]['id']}?crs=EPSG:4326")
    lon, lat = plain[0]["geometry"]["coordinates"]
    assert lat_lon.json()["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-7)
    collection = client.get("/collections/mine-sites").json()
    assert collection["storageCrs"] in collection["crs"]
    assert "http://www.opengis.net/def/crs/EPSG/0/32629" in collection["crs"]
    unknown = client.get("/collections/mine-sites/items?crs=EPSG:999999")
    assert unknown.status_code == 400 and "EPSG:999999" in unknown.json()["detail"]


def test_sortby_several_keys_and_properties(client, demo) -> None:
    got = client.get(
        "/collections/mine-sites/items?limit=1000&sortby=qualification,-workers,code"
        "&properties=code,workers,qualification"
    ).json()["features"]
    rows = [f["properties"] for f in SITES]
    rows.sort(key=lambda p: p["code"])
    rows.sort(key=lambda p: -(p["workers"] if p["workers"] is not None else -1))
    rows.sort(key=lambda p: p["qualification"])
    assert [f["properties"]["code"] for f in got] == [p["code"] for p in rows]
    assert all(set(f["properties"]) == {"code", "workers", "qualification"} for f in got)
    page = client.get("/collections/mine-sites/items?limit=10&offset=10&sortby=-name").json()
    names = sorted((p["name"] for p in (f["properties"] for f in SITES)), reverse=True)
    assert [f["properties"]["name"] for f in page["features"]] == names[10:20]
    wrong = client.get("/collections/mine-sites/items?sortby=salary")
    assert wrong.status_code == 400 and "salary" in wrong.json()["detail"]
    none = client.get("/collections/mine-sites/items?limit=1&properties=").json()["features"][0]
    assert none["properties"] == {}


def test_conformance_and_queryables_say_what_is_supported(client, demo) -> None:
    conforms = client.get("/conformance").json()["conformsTo"]
    for cls in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2",
                "ogcapi-features-2/1.0/conf/crs"):  # fmt: skip
        assert f"http://www.opengis.net/spec/{cls}" in conforms
    queryables = client.get("/collections/concessions/queryables").json()["properties"]
    assert queryables["title_type"]["enum"][:2] == ["reconnaissance", "exploration"]
    assert queryables["granted"] == {"title": "granted", "type": "string", "format": "date"}
    assert queryables["geom"]["format"] == "geometry-any"


def test_the_openapi_document_is_3_0_and_lists_each_collections_queryables(client, demo) -> None:
    from openapi_spec_validator import validate

    for path in ("/api", "/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200
        doc = response.json()
        validate(doc)
        assert doc["openapi"] == "3.0.3"
    landing = client.get("/?f=json").json()
    desc = next(link for link in landing["links"] if link["rel"] == "service-desc")
    assert desc["type"].endswith("version=3.0") and desc["href"].endswith("/api")
    params = {
        p["name"]: p for p in doc["paths"]["/collections/concessions/items"]["get"]["parameters"]
    }
    assert {"filter", "filter-lang", "sortby", "crs", "bbox-crs", "title_type", "holder"} <= set(
        params
    )
    assert params["title_type"]["schema"]["enum"][0] == "reconnaissance"
    assert "cql-text" in params["filter-lang"]["schema"]["enum"]
