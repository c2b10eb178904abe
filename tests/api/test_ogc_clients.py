"""Real OGC clients against the live server: GDAL's OAPIF driver (what QGIS uses) and OWSLib."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from owslib.ogcapi.features import Features

SLUG = "ogc-clients"
INTERNAL = "ogc-clients-internal"  # readable with any key


@pytest.fixture(scope="module")
def layer(live_server: str, keys: dict[str, str]) -> str:
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    for slug, visibility in ((SLUG, "public"), (INTERNAL, "internal")):
        created = httpx.post(
            f"{live_server}/layers",
            json={"slug": slug, "title": "Client sites", "visibility": visibility},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        for i in range(3):
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-8.5 + i / 10, 12.0]},
                "properties": {"name": f"Site {i}", "workers": 10 * i},
            }
            url = f"{live_server}/collections/{slug}/items"
            assert httpx.post(url, json=feature, headers=admin).status_code == 201
    return SLUG


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin not installed")
def test_gdal_oapif_lists_and_reads(live_server: str, layer: str) -> None:
    listing = subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{live_server}"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert layer in listing
    features = subprocess.run(
        ["ogrinfo", "-ro", "-al", f"OAPIF:{live_server}/collections/{layer}"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert "Feature Count: 3" in features or features.count("OGRFeature") == 3
    assert "Site 2" in features and "POINT (-8.3 12.0)" in features
    assert INTERNAL not in listing  # no key, no internal layer


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin not installed")
def test_gdal_sends_a_key_as_qgis_does(live_server: str, layer: str, keys: dict[str, str]) -> None:
    """QGIS passes an authentication header to GDAL; GDAL_HTTP_HEADERS is how."""
    header = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {keys['viewer']}"]
    listing = subprocess.run(
        ["ogrinfo", "-ro", "-q", *header, f"OAPIF:{live_server}"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert INTERNAL in listing and layer in listing
    features = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", *header, f"OAPIF:{live_server}/collections/{INTERNAL}"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert "Feature Count: 3" in features


def test_owslib_features(live_server: str, layer: str, keys: dict[str, str]) -> None:
    api = Features(live_server)
    ids = [c["id"] for c in api.collections()["collections"]]
    assert layer in ids and INTERNAL not in ids
    with_key = Features(live_server, headers={"X-API-Key": keys["viewer"]})
    assert INTERNAL in [c["id"] for c in with_key.collections()["collections"]]
    assert with_key.collection_items(INTERNAL, limit=5)["numberMatched"] == 3
    items = api.collection_items(layer, limit=2)
    assert items["numberMatched"] == 3 and len(items["features"]) == 2
    assert {f["properties"]["name"] for f in items["features"]} <= {"Site 0", "Site 1", "Site 2"}


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin not installed")
@pytest.mark.parametrize(
    "where, count",
    [("workers > 5", 2), ("name = 'Site 1'", 1), ("workers >= 10 AND name LIKE 'Site%'", 2)],
)
def test_gdal_sends_an_attribute_filter_to_the_server(
    live_server: str, layer: str, where: str, count: int
) -> None:
    """QGIS's filter of an OAPIF layer is GDAL's -where: it must reach the server as a CQL2
    `filter`, found from the collection's own path in /api, not be run by GDAL on every page."""
    run = subprocess.run(
        ["ogrinfo", "-ro", "-al", "--debug", "on", f"OAPIF:{live_server}", layer, "-where", where],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    fetched = [line for line in run.stderr.splitlines() if "/items" in line and "Fetch(" in line]
    # The first page is read unfiltered once, to learn the fields; the features come filtered.
    assert len(fetched) >= 2 and "filter=" in fetched[-1], run.stderr[-2000:]
    assert "filter-lang=cql-text" in fetched[-1]
    assert run.stdout.count("OGRFeature(") == count


def test_owslib_sends_a_cql2_filter(live_server: str, layer: str) -> None:
    api = Features(live_server)
    items = api.collection_items(layer, filter="workers > 5 AND name <> 'Site 2'", limit=10)
    assert items["numberMatched"] == 1
    assert [f["properties"]["name"] for f in items["features"]] == ["Site 1"]
    queryables = api.collection_queryables(layer)
    assert {"name", "workers"} <= set(queryables["properties"])
