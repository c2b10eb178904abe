"""CSV and GeoJSON of analysis results, from a real overlap and a real screening."""

from __future__ import annotations

import csv
import io

import pytest
from shapely.geometry import box, mapping, shape

from geo_service.analysis.export import to_csv, to_geojson
from geo_service.analysis.overlap import overlap
from geo_service.analysis.screen import screen
from geo_service.domain.access import OPERATOR
from tests.analysis.conftest import add_layer, geod_ha

A, B = box(41.0, -8.0, 41.02, -7.98), box(41.01, -7.99, 41.03, -7.97)


@pytest.fixture
def pair(session):
    sid = add_layer(session, "ex-src", [(A, {"name": "a"})])[0]
    tid = add_layer(session, "ex-tgt", [(B, {"name": "b", "code": "B1"})], kind="concession")[0]
    return sid, tid


def test_overlap_as_csv_and_geojson(session, pair):
    result = overlap(session, "ex-src", "ex-tgt", with_geometry=True, who=OPERATOR)

    [line] = list(csv.DictReader(io.StringIO(to_csv(result))))
    assert (int(line["source_id"]), line["source_name"]) == (pair[0], "a")
    assert (int(line["target_id"]), line["target_name"]) == (pair[1], "b")
    assert float(line["overlap_ha"]) == pytest.approx(geod_ha(A.intersection(B)), rel=0.005)
    assert "geometry" not in line

    [feature] = to_geojson(result)["features"]
    assert shape(feature["geometry"]).equals_exact(A.intersection(B).normalize(), 1e-9) or (
        shape(feature["geometry"]).symmetric_difference(A.intersection(B)).area < 1e-12
    )
    assert feature["properties"]["target_id"] == pair[1]


def test_screening_as_csv_and_geojson(session, pair):
    result = screen(session, mapping(A), who=OPERATOR)

    lines = list(csv.DictReader(io.StringIO(to_csv(result))))
    assert lines[0]["category"] == "zone" and lines[0]["verdict"] == result["verdict"]
    assert {line["id"] for line in lines if line["category"] == "rule"} == {
        r["id"] for r in result["rules"]
    }
    [title] = [line for line in lines if line["category"] == "concessions"]
    assert (int(title["id"]), title["code"]) == (pair[1], "B1")

    categories = [f["properties"]["category"] for f in to_geojson(result)["features"]]
    assert categories == ["zone", "concessions"]
