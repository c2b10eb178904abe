"""Tailings exposure: settlements, rivers and protected areas within a distance of a facility,
counted per theme, downstream first; every distance checked against pyproj.Geod by hand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from shapely.geometry import LineString, Point, box
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.analysis.conftest import GEOD, add_layer, geod_distance_m, geod_point_m

LON, LAT = 13.70, 21.30  # the Ténéré, nothing of the demo near
FACILITY = Point(LON, LAT)
# A river along a meridian (its great circle is the meridian itself), digitised north to south:
# its flow, by the documented convention, is southwards.
RIVER = LineString([(LON - 0.02, LAT + 0.10), (LON - 0.02, LAT - 0.10)])
DOWN = Point(LON - 0.015, LAT - 0.05)  # south of the facility, near the river: downstream
UP = Point(LON - 0.01, LAT + 0.05)  # north: upstream
FAR = Point(LON + 0.2, LAT)  # about 20 km east: out of reach
_corner = GEOD.fwd(LON, LAT, 45, 3000)[:2]
PARK = box(_corner[0], _corner[1], _corner[0] + 0.01, _corner[1] + 0.01)
WITHIN_M = 10_000.0


@pytest.fixture(scope="module")
def layers(engine: Engine, demo) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {t: f"tx-{t.replace('_', '-')}-{tag}" for t in ("tailings", "settlement", "river",
                                                           "protected_area")}  # fmt: skip
    with Session(engine) as s:
        ids = {
            "facility": add_layer(s, slugs["tailings"], [(FACILITY, {"name": "TSF Nord",
                                  "consequence": "very_high", "classification_system": "GISTM"})],
                                  kind="tailings_facility")[0],
            "settlement": add_layer(s, slugs["settlement"], [(DOWN, {"name": "Aval"}),
                                    (UP, {"name": "Amont"}), (FAR, {"name": "Loin"})],
                                    theme="settlement"),
            "river": add_layer(s, slugs["river"], [(RIVER, {"name": "Kori"})], theme="river"),
            "park": add_layer(s, slugs["protected_area"], [(PARK, {"name": "Réserve"})],
                              theme="protected_area"),
        }  # fmt: skip
        s.commit()
    yield {"slugs": slugs, "ids": ids}
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def test_exposure_lists_and_counts_with_geodesic_distances(client, layers) -> None:
    answer = client.get(
        "/analysis/tailings-exposure",
        params={"layer": layers["slugs"]["tailings"], "within_m": WITHIN_M},
    )
    assert answer.status_code == 200, answer.text
    (facility,) = answer.json()["facilities"]
    by_hand = {
        "Aval": geod_point_m(FACILITY, DOWN),
        "Amont": geod_point_m(FACILITY, UP),
        "Loin": geod_point_m(FACILITY, FAR),
        "Kori": geod_distance_m(FACILITY, RIVER),
        "Réserve": geod_point_m(FACILITY, Point(_corner)),
    }
    reached = {name for name, d in by_hand.items() if d <= WITHIN_M}
    assert reached == {"Aval", "Amont", "Kori", "Réserve"}  # the data say what they test
    exposed = {e["name"]: e for e in facility["exposed"]}
    assert set(exposed) == reached
    for name in reached:
        assert exposed[name]["distance_m"] == pytest.approx(by_hand[name], abs=0.5), name
    assert facility["counts"] == {"settlement": 2, "river": 1, "protected_area": 1}
    assert facility["consequence"] == "very_high"

    # Downstream first: the settlement south of the facility on the south-flowing river, then
    # everything else nearest first.
    assert facility["flow_river"]["name"] == "Kori"
    names = [e["name"] for e in facility["exposed"]]
    assert names[0] == "Aval" and exposed["Aval"]["downstream"] is True
    assert exposed["Amont"]["downstream"] is False
    rest = sorted(reached - {"Aval"}, key=lambda n: by_hand[n])
    assert names[1:] == rest
    assert exposed["Aval"]["river_distance_m"] == pytest.approx(
        geod_distance_m(DOWN, RIVER), abs=0.5
    )


def test_one_facility_and_a_shorter_reach(client, layers) -> None:
    answer = client.get(
        "/analysis/tailings-exposure",
        params={"layer": layers["slugs"]["tailings"], "within_m": 2500,
                "id": layers["ids"]["facility"]},
    ).json()  # fmt: skip
    (facility,) = answer["facilities"]
    expected = {"Kori"} if geod_distance_m(FACILITY, RIVER) <= 2500 else set()
    assert {e["name"] for e in facility["exposed"]} == expected
    assert facility["flow_river"] is not None if expected else facility["flow_river"] is None


def test_refusals(client, layers) -> None:
    wrong = client.get(
        "/analysis/tailings-exposure",
        params={"layer": layers["slugs"]["river"], "within_m": 1000},
    )
    assert wrong.status_code == 400 and "tailings_facility" in wrong.json()["detail"]
    too_far = client.get(
        "/analysis/tailings-exposure",
        params={"layer": layers["slugs"]["tailings"], "within_m": 10**7},
    )
    assert too_far.status_code in (400, 422)
