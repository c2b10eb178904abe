"""The available-land finder against an independent computation: the same region, exclusions
and deposits, buffered in a local azimuthal equidistant projection (pyproj), cut with shapely
and measured with pyproj.Geod, on generated data in the Ténéré (far from every demo feature).

Tolerance on hectares: 0.5 %. PostGIS buffers each feature on geography in its own UTM zone
(scale 0.9996-1.0002 here, so up to 0.04 % in a distance and 0.08 % in a buffered area) and we
buffer in an azimuthal projection centred on the region (scale error below 1e-6 over 20 km);
both draw a circle as a 64-gon (quad_segs 16) whose vertices need not coincide, which moves an
area by under 0.16 %. A buffer in degrees would be 5 % off at this latitude, far outside.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, box, mapping, shape
from shapely.ops import unary_union
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.settings import get_settings
from geo_service.store import layers as store
from tests.analysis.conftest import add_layer, geod_distance_m, geod_ha

LON, LAT = 13.0, 19.0
REGION = box(LON, LAT, LON + 0.2, LAT + 0.2)
GOLD_WEST = Point(LON + 0.05, LAT + 0.1)
GOLD_EAST = Point(LON + 0.15, LAT + 0.08)
TIN = Point(LON + 0.1, LAT + 0.18)  # not gold: no land around it when minerals = gold
ROAD = LineString([(LON + 0.06, LAT - 0.01), (LON + 0.06, LAT + 0.21)])  # ~1 km east of GOLD_WEST
TITLE = box(LON + 0.16, LAT + 0.06, LON + 0.19, LAT + 0.1)
TOWN = Point(LON + 0.14, LAT + 0.09)
CAMP = Point(LON + 0.04, LAT + 0.11)  # left out by the filter: no hole around it
WITHIN_M, ROAD_M, TITLE_M, TOWN_M = 4000.0, 300.0, 500.0, 1000.0
TOLERANCE = 0.005

_TO_LOCAL = Transformer.from_crs(
    "EPSG:4326", f"+proj=aeqd +lat_0={LAT + 0.1} +lon_0={LON + 0.1} +datum=WGS84", always_xy=True
)
_TO_LONLAT = Transformer.from_crs(_TO_LOCAL.target_crs, "EPSG:4326", always_xy=True)


def _through(transformer: Transformer, g):
    return shapely.transform(g, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def _local(g):
    return _through(_TO_LOCAL, g)


def _lonlat(g):
    return _through(_TO_LONLAT, g)


def _grown(geoms, metres: float):
    return unary_union([_local(g).buffer(metres, quad_segs=16) for g in geoms])


def expected_pieces(min_area_ha: float) -> list[float]:
    """The pieces' geodesic hectares by shapely + pyproj alone, largest first."""
    free = _local(REGION)
    free = free.difference(_grown([ROAD], ROAD_M))
    free = free.difference(_grown([TITLE], TITLE_M))
    free = free.difference(_grown([TOWN], TOWN_M))
    free = free.intersection(_grown([GOLD_WEST, GOLD_EAST], WITHIN_M))
    parts = getattr(free, "geoms", [free])
    areas = sorted((geod_ha(_lonlat(p)) for p in parts), reverse=True)
    return [a for a in areas if a >= min_area_ha]


@pytest.fixture(scope="module")
def land(engine: Engine) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {name: f"land-{name}-{tag}" for name in ("roads", "titles", "places", "sites")}
    with Session(engine) as s:
        add_layer(s, slugs["roads"], [(ROAD, {"name": "RN-test"})], theme="road")
        titles = add_layer(
            s, slugs["titles"], [(TITLE, {"code": "PE-T-1", "holder": "Test SA", "status": "active"})],
            kind="concession",
        )  # fmt: skip
        places = add_layer(
            s,
            slugs["places"],
            [(TOWN, {"name": "Town", "category": "town"}),
             (CAMP, {"name": "Camp", "category": "camp"})],
            theme="settlement",
        )  # fmt: skip
        sites = add_layer(
            s,
            slugs["sites"],
            [(GOLD_WEST, {"name": "West", "minerals": ["gold"]}),
             (GOLD_EAST, {"name": "East", "minerals": ["Gold", "silver"]}),
             (TIN, {"name": "Tin hill", "minerals": ["tin"]})],
            kind="mine_site",
        )  # fmt: skip
        s.commit()
    yield {**slugs, "title_id": titles[0], "town_id": places[0], "camp_id": places[1],
           "site_ids": sites}  # fmt: skip
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _body(land: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "region": mapping(REGION),
        "minerals": ["gold"],
        "exclude": [
            {"layer": land["roads"], "buffer_m": ROAD_M},
            {"layer": land["titles"], "buffer_m": TITLE_M},
            {"layer": land["places"], "buffer_m": TOWN_M, "filter": "category = 'town'"},
        ],
        "near": {"layer": land["sites"], "within_m": WITHIN_M},
        **extra,
    }


def test_the_generated_data_make_three_pieces_of_distinct_sizes() -> None:
    areas = expected_pieces(0)
    assert len(areas) == 3
    # Far enough apart in size (beyond the tolerance) that their order is certain.
    assert areas[0] > 1.02 * areas[1] and areas[1] > 1.5 * areas[2] > 1000


@pytest.mark.parametrize("min_area_ha", [0.0, 2000.0])
def test_pieces_and_hectares_match_shapely_and_pyproj(client, land, min_area_ha) -> None:
    answer = client.post("/analysis/available-land", json=_body(land, min_area_ha=min_area_ha))
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["type"] == "FeatureCollection"
    expected = expected_pieces(min_area_ha)
    areas = [f["properties"]["area_ha"] for f in found["features"]]
    assert len(areas) == len(expected)
    assert areas == pytest.approx(expected, rel=TOLERANCE)
    assert [f["properties"]["piece"] for f in found["features"]] == list(range(1, len(areas) + 1))
    # Each piece's own geometry has the area it claims, measured by Geod.
    for feature in found["features"]:
        geod = geod_ha(shape(feature["geometry"]))
        assert feature["properties"]["area_ha"] == pytest.approx(geod, rel=1e-4)
    assert found["region_area_ha"] == pytest.approx(geod_ha(REGION), rel=1e-4)
    assert found["minerals"] == ["gold"]


def test_each_piece_names_what_was_excluded_near_it(client, land) -> None:
    found = client.post("/analysis/available-land", json=_body(land)).json()
    by_size = found["features"]
    east = next(f for f in by_size if shape(f["geometry"]).distance(GOLD_EAST) < 1e-9)
    listed = east["properties"]["excluded_nearby"]
    assert [x["id"] for x in listed[land["places"]]] == [land["town_id"]]  # not the camp
    (title,) = listed[land["titles"]]
    assert title["id"] == land["title_id"] and title["name"] == "PE-T-1"
    # Pieces stop at the buffers: their distance to the feature is the buffer.
    piece = shape(east["geometry"])
    measured = geod_distance_m(piece, TITLE, step_deg=0.0005)  # every ~50 m: well within 1 %
    assert title["distance_m"] == pytest.approx(measured, rel=0.01)
    assert title["distance_m"] == pytest.approx(TITLE_M, rel=0.01)
    assert listed[land["places"]][0]["distance_m"] == pytest.approx(TOWN_M, rel=0.01)
    assert listed[land["roads"]] == []  # 8 km away
    assert [x["id"] for x in east["properties"]["near"]] == [land["site_ids"][1]]
    west = [f for f in by_size if shape(f["geometry"]).distance(GOLD_WEST) < 0.05]
    assert len(west) == 2
    for piece_west in west:
        (road,) = piece_west["properties"]["excluded_nearby"][land["roads"]]
        assert road["distance_m"] == pytest.approx(ROAD_M, rel=0.01)


def test_without_minerals_the_tin_deposit_gives_land_too(client, land) -> None:
    body = _body(land)
    del body["minerals"]
    found = client.post("/analysis/available-land", json=body).json()
    near_ids = {x["id"] for f in found["features"] for x in f["properties"]["near"]}
    assert land["site_ids"][2] in near_ids
    assert len(found["features"]) == 4


def test_a_region_given_as_a_feature_and_no_exclusions(client, land) -> None:
    body = {"region": {"layer": land["titles"], "id": land["title_id"]}}
    found = client.post("/analysis/available-land", json=body).json()
    (piece,) = found["features"]
    assert piece["properties"]["area_ha"] == pytest.approx(geod_ha(TITLE), rel=1e-4)


def test_csv_and_geopackage_hold_the_same_pieces(client, land, tmp_path) -> None:
    body = _body(land)
    expected = expected_pieces(0)
    csv = client.post("/analysis/available-land", params={"format": "csv"}, json=body)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].split(",")[:2] == ["piece", "area_ha"]
    assert len(lines) == 1 + len(expected)
    gpkg = client.post("/analysis/available-land", params={"format": "gpkg"}, json=body)
    assert gpkg.status_code == 200
    path = tmp_path / "land.gpkg"
    path.write_bytes(gpkg.content)
    frame = pyogrio.read_dataframe(path)
    assert sorted(frame["area_ha"], reverse=True) == pytest.approx(expected, rel=TOLERANCE)
    assert [geod_ha(g) for g in frame.geometry] == pytest.approx(list(frame["area_ha"]), rel=1e-4)
    assert "PE-T-1" in " ".join(str(v) for v in frame[f"excluded.{land['titles']}"])


def test_a_large_region_runs_as_a_job_with_progress(client, land, monkeypatch) -> None:
    monkeypatch.setattr(get_settings().zoning, "job_area_ha", 100.0)
    started = client.post("/analysis/available-land", json=_body(land))
    assert started.status_code == 202
    href = started.json()["href"]
    for _ in range(200):
        job = client.get(href).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0
    areas = [f["properties"]["area_ha"] for f in job["result"]["features"]]
    assert areas == pytest.approx(expected_pieces(0), rel=TOLERANCE)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"minerals": ["gold"], "near": None}, "minerals"),
        ({"region": {"type": "Point", "coordinates": [LON, LAT]}}, "region"),
        ({"region": {"layer": "no-such-layer", "id": 1}}, None),
        ({"exclude": [{"layer": "x", "buffer_m": -1}]}, None),
        ({"near": {"layer": "x"}}, None),
    ],
)
def test_bad_requests_are_problems(client, land, change, field) -> None:
    body = {**_body(land), **change}
    if body.get("near") is None:
        body.pop("near")
    refused = client.post("/analysis/available-land", json=body)
    assert 400 <= refused.status_code < 500, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert refused.json()["where"]["field"] == field
