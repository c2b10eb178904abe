"""Abandoned-mine priority: the score recomputed here from the formula domain/priority.py
documents, with every distance measured by hand with pyproj.Geod."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from shapely.geometry import LineString, Point
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.domain import priority
from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.analysis.conftest import GEOD, add_layer, geod_point_m

LON, LAT = 10.6, 22.4  # the Ténéré's west, far from the demo data
WITHIN_M = 5000.0


def _at(lon: float, lat: float, azimuth: float, metres: float) -> Point:
    x, y, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return Point(x, y)


SHAFT = Point(LON, LAT)
QUIET = Point(LON + 0.5, LAT)  # 50 km away from everything below
TOWN = _at(LON, LAT, 90, 1200)
HAMLET = _at(LON, LAT, 0, 3000)
OUT_OF_REACH = _at(LON, LAT, 270, 6000)
# A river running due south from 800 m south of the shaft: its nearest point is its start.
_START = _at(LON, LAT, 180, 800)
RIVER = LineString([(_START.x, _START.y), (_START.x, _START.y - 0.02)])
POND = _at(LON, LAT, 300, 2500)


@pytest.fixture(scope="module")
def layers(engine: Engine, demo) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {n: f"ap-{n}-{tag}" for n in ("mines", "places", "rivers", "ponds")}
    with Session(engine) as s:
        ids = add_layer(s, slugs["mines"], [
            (SHAFT, {"name": "Puits", "hazards": ["mercury", "open_shaft"],
                     "rehabilitation": "none"}),
            (QUIET, {"name": "Calme", "hazards": ["subsidence"], "rehabilitation": "planned"}),
        ], kind="abandoned_mine")  # fmt: skip
        add_layer(s, slugs["places"], [(TOWN, {"name": "Ville", "pop_max": 5000}),
                                       (HAMLET, {"name": "Hameau"}),
                                       (OUT_OF_REACH, {"name": "Loin", "pop_max": 10**6})],
                  theme="settlement")  # fmt: skip
        add_layer(s, slugs["rivers"], [(RIVER, {"name": "Oued"})], theme="river")
        add_layer(s, slugs["ponds"], [(POND, {"name": "Mare"})], theme="water_body")
        s.commit()
    yield {"slugs": slugs, "ids": ids}
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _closeness(d: float) -> float:
    return max(0.0, 1 - d / WITHIN_M)


def test_score_is_the_documented_formula_on_hand_measured_distances(client, layers) -> None:
    answer = client.get(
        "/analysis/abandoned-mine-priority",
        params={"layer": layers["slugs"]["mines"], "within_m": WITHIN_M},
    )
    assert answer.status_code == 200, answer.text
    rows = {r["name"]: r for r in answer.json()["rows"]}
    shaft = rows["Puits"]

    hazard = 4.0 + 3.0  # mercury, open shaft (the weights the docstring gives)
    assert (
        priority.HAZARD_WEIGHTS["mercury"] == 4.0 and priority.HAZARD_WEIGHTS["open_shaft"] == 3.0
    )
    people = _closeness(geod_point_m(SHAFT, TOWN)) * (1 + math.log10(1 + 5000)) + _closeness(
        geod_point_m(SHAFT, HAMLET)
    ) * (1 + math.log10(1))
    water = 2.0 * (_closeness(geod_point_m(SHAFT, _START)) + _closeness(geod_point_m(SHAFT, POND)))
    terms = shaft["terms"]
    assert terms["hazard"]["value"] == pytest.approx(hazard)
    assert terms["people"]["value"] == pytest.approx(people, abs=1e-3)
    assert terms["water"]["value"] == pytest.approx(water, abs=1e-3)
    assert shaft["score"] == pytest.approx(hazard + people + water, abs=1e-3)

    # Explained: which feature gave how much, at which distance.
    people_from = {p["name"]: p for p in terms["people"]["from"]}
    assert set(people_from) == {"Ville", "Hameau"}  # Loin is 6 km off
    assert people_from["Ville"]["distance_m"] == pytest.approx(1200, abs=0.5)
    assert people_from["Ville"]["population"] == 5000
    water_from = {w["name"]: w for w in terms["water"]["from"]}
    assert water_from["Oued"]["distance_m"] == pytest.approx(800, abs=0.5)
    assert water_from["Mare"]["distance_m"] == pytest.approx(2500, abs=0.5)
    assert {h["hazard"] for h in terms["hazard"]["from"]} == {"mercury", "open_shaft"}

    quiet = rows["Calme"]
    assert quiet["score"] == pytest.approx(2.0)  # subsidence alone, nothing near
    assert [r["name"] for r in answer.json()["rows"]] == ["Puits", "Calme"]
    assert (shaft["rank"], quiet["rank"]) == (1, 2)
    assert shaft["class"] == priority.priority_class(hazard + people + water)


def test_one_mine_and_the_wrong_layer(client, layers) -> None:
    one = client.get(
        "/analysis/abandoned-mine-priority",
        params={"layer": layers["slugs"]["mines"], "id": layers["ids"][1]},
    ).json()
    assert [r["name"] for r in one["rows"]] == ["Calme"]
    wrong = client.get(
        "/analysis/abandoned-mine-priority", params={"layer": layers["slugs"]["places"]}
    )
    assert wrong.status_code == 400 and "abandoned_mine" in wrong.json()["detail"]
