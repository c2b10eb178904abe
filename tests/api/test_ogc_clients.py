"""Real OGC clients against the live server: GDAL's OAPIF driver (what QGIS uses) and OWSLib."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from owslib.ogcapi.features import Features

SLUG = "ogc-clients"


@pytest.fixture(scope="module")
def layer(live_server: str) -> str:
    httpx.post(f"{live_server}/layers", json={"slug": SLUG, "title": "Client sites"})
    for i in range(3):
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-8.5 + i / 10, 12.0]},
            "properties": {"name": f"Site {i}", "workers": 10 * i},
        }
        assert (
            httpx.post(f"{live_server}/collections/{SLUG}/items", json=feature).status_code == 201
        )
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


def test_owslib_features(live_server: str, layer: str) -> None:
    api = Features(live_server)
    ids = [c["id"] for c in api.collections()["collections"]]
    assert layer in ids
    items = api.collection_items(layer, limit=2)
    assert items["numberMatched"] == 3 and len(items["features"]) == 2
    assert {f["properties"]["name"] for f in items["features"]} <= {"Site 0", "Site 1", "Site 2"}
