"""OGC API Features: landing, conformance, collections, items (paging, bbox, property and
datetime filters, HTML, CSV) and Part 4 editing with history and ETags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

SLUG = "ogc-grid"


@pytest.fixture(scope="module")
def grid(client: TestClient) -> list[int]:
    """25 square sites on a 5x5 grid of 0.1 degrees from (-9, 12); ids in creation order."""
    client.post("/layers", json={"slug": SLUG, "title": "Grid", "kind": "mine_site"})
    ids = []
    for i in range(25):
        x, y = -9 + (i % 5) * 0.1, 12 + (i // 5) * 0.1
        ring = [[x, y], [x + 0.05, y], [x + 0.05, y + 0.05], [x, y + 0.05], [x, y]]
        feature = {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name": f"Site {i}", "scale": "artisanal" if i % 2 else "small_scale"},
        }
        response = client.post(f"/collections/{SLUG}/items", json=feature)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_landing_and_conformance(client: TestClient) -> None:
    landing = client.get("/", headers={"Accept": "application/json"}).json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    browser = client.get("/", headers={"Accept": "text/html,*/*"}, follow_redirects=False)
    assert browser.status_code == 303 and browser.headers["location"] == "/map"
    assert "<h1>geo-service</h1>" in client.get("/?f=html").text
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes
    assert any("ogcapi-features-4" in c for c in classes)


def test_collections(client: TestClient, grid: list[int]) -> None:
    collections = client.get("/collections").json()["collections"]
    mine = next(c for c in collections if c["id"] == SLUG)
    assert mine["numberMatched"] == 25 and mine["itemType"] == "feature"
    minx, miny, maxx, maxy = mine["extent"]["spatial"]["bbox"][0]
    assert (minx, miny, maxx, maxy) == pytest.approx((-9, 12, -8.55, 12.45))
    assert any(link["rel"] == "items" for link in mine["links"])
    assert client.get(f"/collections/{SLUG}").json()["id"] == SLUG
    assert client.get("/collections/nope").status_code == 404
    assert "Grid" in client.get("/collections?f=html").text
    queryables = client.get(f"/collections/{SLUG}/queryables").json()
    assert queryables["properties"]["scale"]["type"] == "string"


def test_paging_returns_every_feature_once(client: TestClient, grid: list[int]) -> None:
    seen: list[int] = []
    url: str | None = f"/collections/{SLUG}/items?limit=7"
    pages = 0
    while url:
        page = client.get(url).json()
        assert page["numberMatched"] == 25
        assert page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        pages += 1
    assert pages == 4
    assert sorted(seen) == sorted(grid) and len(seen) == len(set(seen))


def test_items_are_geojson_with_name(client: TestClient, grid: list[int]) -> None:
    response = client.get(f"/collections/{SLUG}/items?limit=1")
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()["features"][0]
    assert feature["id"] == grid[0] and feature["properties"]["name"] == "Site 0"
    assert feature["geometry"]["type"] == "Polygon"


def test_bbox_property_and_datetime_filters(client: TestClient, grid: list[int]) -> None:
    # the bbox touches the first column of squares only (x from -9 to -8.95)
    column = client.get(f"/collections/{SLUG}/items?bbox=-9.01,11.9,-8.97,12.5").json()
    assert sorted(f["properties"]["name"] for f in column["features"]) == [
        f"Site {i}" for i in (0, 10, 15, 20, 5)
    ]
    artisanal = client.get(f"/collections/{SLUG}/items?scale=artisanal&limit=100").json()
    assert artisanal["numberMatched"] == 12
    assert all(f["properties"]["scale"] == "artisanal" for f in artisanal["features"])
    by_name = client.get(f"/collections/{SLUG}/items", params={"name": "Site 3"}).json()
    assert [f["id"] for f in by_name["features"]] == [grid[3]]
    now = datetime.now(UTC)
    recent = f"{(now - timedelta(hours=1)).isoformat()}/.."
    assert (
        client.get(f"/collections/{SLUG}/items", params={"datetime": recent}).json()[
            "numberMatched"
        ]
        == 25
    )
    future = f"{(now + timedelta(days=1)).date().isoformat()}/.."
    assert (
        client.get(f"/collections/{SLUG}/items", params={"datetime": future}).json()[
            "numberMatched"
        ]
        == 0
    )
    assert client.get(f"/collections/{SLUG}/items?datetime=yesterday").status_code == 400
    assert client.get(f"/collections/{SLUG}/items?bbox=1,2,3").status_code == 400


def test_html_and_csv(client: TestClient, grid: list[int]) -> None:
    html = client.get(f"/collections/{SLUG}/items?f=html&limit=5")
    assert html.headers["content-type"].startswith("text/html") and "Site 4" in html.text
    assert "Site 5" not in html.text
    csv_text = client.get(f"/collections/{SLUG}/items?f=csv&limit=3").text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,name") and lines[0].endswith(",wkt") and len(lines) == 4
    assert "POLYGON ((-9 12" in lines[1]
    assert "Site 0" in client.get(f"/collections/{SLUG}/items/{grid[0]}?f=html").text


def test_create_replace_update_delete(client: TestClient, grid: list[int]) -> None:
    point = {"type": "Point", "coordinates": [-8.7, 12.3]}
    created = client.post(
        f"/collections/{SLUG}/items",
        json={"type": "Feature", "geometry": point, "properties": {"name": "New", "workers": 10}},
        headers={"X-User": "someone-else"},  # ignored: who changes is the key's name
    )
    assert created.status_code == 201
    location = created.headers["location"]
    fid = created.json()["id"]
    assert location.endswith(f"/collections/{SLUG}/items/{fid}")
    fetched = client.get(location)
    assert fetched.json()["properties"]["workers"] == 10
    etag = fetched.headers["etag"]
    patched = client.patch(
        location, json={"properties": {"workers": 12}}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200 and patched.json()["properties"]["name"] == "New"
    assert patched.json()["geometry"]["coordinates"] == [-8.7, 12.3]
    stale = client.patch(location, json={"properties": {"workers": 13}}, headers={"If-Match": etag})
    assert stale.status_code == 412  # someone changed it since that ETag
    assert stale.json()["current_version"] == 2 and stale.headers["etag"] == '"2"'
    replaced = client.put(
        location, json={"type": "Feature", "geometry": point, "properties": {"name": "Renamed"}}
    )
    assert replaced.json()["properties"]["name"] == "Renamed"
    assert "workers" not in replaced.json()["properties"]  # replaced, not merged
    history = client.get(f"{location}/history").json()["versions"]
    assert [v["properties"].get("workers") for v in history] == [10, 12, None]
    assert history[0]["changed_by"] == "test-admin"
    bad = client.post(f"/collections/{SLUG}/items", json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [500000, 1300000]}})  # fmt: skip
    assert bad.status_code == 422
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404
