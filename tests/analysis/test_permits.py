"""Permit flags: mining permits outside every gazetted ASM zone and permits past expiry, checked
on generated data against shapely (containment) and the dates themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from shapely.geometry import Point, box
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.analysis.conftest import add_layer

# Far from the demo data and the other tests' zones (south-east Ténéré).
LON, LAT = 16.3, 18.7
GAZETTED = box(LON, LAT, LON + 0.05, LAT + 0.05)
DRAFT = box(LON + 0.1, LAT, LON + 0.15, LAT + 0.05)
AS_OF = date(2026, 6, 1)
PERMITS: list[tuple[Any, dict[str, Any]]] = [
    (box(LON + 0.01, LAT + 0.01, LON + 0.02, LAT + 0.02),
     {"number": "P-IN", "category": "mining", "expires": "2027-01-01"}),
    (Point(LON + 0.12, LAT + 0.02), {"number": "P-DRAFT", "category": "mining"}),
    (box(LON + 0.04, LAT + 0.01, LON + 0.06, LAT + 0.02),
     {"number": "P-EDGE", "category": "mining", "expires": "2030-01-01"}),
    (Point(LON + 0.3, LAT), {"number": "P-PROSP", "category": "prospecting"}),
    (Point(LON + 0.03, LAT + 0.03),
     {"number": "P-OLD", "category": "mining", "expires": "2020-01-01", "status": "expired"}),
    (Point(LON + 0.3, LAT + 0.3),
     {"number": "P-GONE", "category": "mining", "expires": "2020-01-01", "status": "cancelled"}),
    (Point(LON + 0.05, LAT + 0.02), {"number": "P-ON-EDGE", "category": "mining"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def layers(engine: Engine, demo) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    zones, permits = f"pf-zones-{tag}", f"pf-permits-{tag}"
    with Session(engine) as s:
        zone_ids = add_layer(
            s, zones, [(GAZETTED, {"code": "Z-G", "status": "gazetted"}),
                       (DRAFT, {"code": "Z-D", "status": "draft"})], kind="asm_zone",
        )  # fmt: skip
        permit_ids = add_layer(s, permits, PERMITS, kind="asm_permit")
        s.commit()
    yield {"zones": zones, "permits": permits, "zone_ids": zone_ids, "ids": permit_ids}
    with Session(engine) as s:
        for slug in (zones, permits):
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _expected(geom: Any, props: dict[str, Any]) -> set[str]:
    """The flags by hand: shapely containment and the date."""
    if props.get("status") == "cancelled":
        return set()
    flags = set()
    if props["category"] == "mining" and not GAZETTED.covers(geom):
        flags.add("outside_gazetted_zone")
    if "expires" in props and date.fromisoformat(props["expires"]) < AS_OF:
        flags.add("past_expiry")
    return flags


def test_flags_match_shapely_containment_and_dates(client, layers) -> None:
    answer = client.get(
        "/analysis/permit-flags", params={"layer": layers["permits"], "as_of": AS_OF.isoformat()}
    )
    assert answer.status_code == 200, answer.text
    rows = {r["id"]: r for r in answer.json()["rows"]}
    assert set(rows) == set(layers["ids"])
    for pid, (geom, props) in zip(layers["ids"], PERMITS, strict=True):
        got = {f["code"] for f in rows[pid]["flags"]}
        assert got == _expected(geom, props), props["number"]
        assert all(f["reason"] for f in rows[pid]["flags"])
        covered = GAZETTED.covers(geom)
        assert (rows[pid]["zone"] is not None) == covered, props["number"]
    # The cases the data were made for, said plainly.
    by_number = {
        props["number"]: rows[pid] for pid, (_g, props) in zip(layers["ids"], PERMITS, strict=True)
    }
    assert by_number["P-IN"]["flags"] == []
    assert by_number["P-ON-EDGE"]["flags"] == []  # on the zone's edge is inside
    assert [f["code"] for f in by_number["P-DRAFT"]["flags"]] == ["outside_gazetted_zone"]
    assert [f["code"] for f in by_number["P-EDGE"]["flags"]] == ["outside_gazetted_zone"]
    assert [f["code"] for f in by_number["P-OLD"]["flags"]] == ["past_expiry"]
    assert answer.json()["counts"] == {"outside_gazetted_zone": 2, "past_expiry": 1}


def test_expiry_moves_with_the_as_of_date_and_flagged_only_filters(client, layers) -> None:
    later = client.get(
        "/analysis/permit-flags",
        params={"layer": layers["permits"], "as_of": "2028-01-01", "flagged_only": "true"},
    ).json()
    numbers = {r["number"] for r in later["rows"]}
    assert numbers == {"P-IN", "P-DRAFT", "P-EDGE", "P-OLD"}  # P-IN expired on 2027-01-01


def test_permits_of_one_zone_are_those_meeting_it(client, layers) -> None:
    zone = layers["zone_ids"][0]
    answer = client.get(
        "/analysis/permit-flags",
        params={"layer": layers["permits"], "zone_layer": layers["zones"], "zone": zone,
                "as_of": AS_OF.isoformat()},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    expected = {
        pid for pid, (g, _p) in zip(layers["ids"], PERMITS, strict=True) if g.intersects(GAZETTED)
    }
    assert {r["id"] for r in answer.json()["rows"]} == expected


def test_bad_requests_are_problems(client, layers) -> None:
    wrong = client.get("/analysis/permit-flags", params={"layer": layers["zones"]})
    assert wrong.status_code == 400 and layers["zones"] in wrong.json()["detail"]
    half = client.get("/analysis/permit-flags", params={"layer": layers["permits"], "zone": 1})
    assert half.status_code == 400 and "zone_layer" in half.json()["detail"]
    missing = client.get(
        "/analysis/permit-flags",
        params={"layer": layers["permits"], "zone_layer": layers["zones"], "zone": 2**40},
    )
    assert missing.status_code == 404 and str(2**40) in missing.json()["detail"]


def test_reasons_are_said_in_the_readers_language(client, layers) -> None:
    answer = client.get(
        "/analysis/permit-flags",
        params={"layer": layers["permits"], "as_of": AS_OF.isoformat(), "flagged_only": "true"},
        headers={"Accept-Language": "fr"},
    ).json()
    reasons = {f["code"]: f["reason"] for r in answer["rows"] for f in r["flags"]}
    assert reasons["outside_gazetted_zone"].startswith("Un permis d'exploitation hors")
    assert "2020-01-01" in reasons["past_expiry"] and reasons["past_expiry"].startswith("Échu")
