"""Zone screening: conflicts by category with figures checked against shapely + pyproj.Geod,
and rules giving pass, warn or fail with reasons."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, Point, box, mapping
from sqlalchemy import text

from geo_service.analysis.screen import screen
from geo_service.errors import InvalidGeometry, InvalidInput, UnknownFeature
from tests.analysis.conftest import add_layer, geod_distance_m, geod_ha
from tests.analysis.test_overlap import blob

# A region of its own (lon 40, lat -8) so that no other test's layers are found.
ZONE = box(40.0, -8.0, 40.02, -7.98)
TITLE_ACTIVE = box(40.015, -8.01, 40.05, -7.99)
TITLE_EXPIRED = box(39.99, -7.985, 40.005, -7.97)
TITLE_FAR = box(40.2, -8.2, 40.3, -8.1)
PARK = blob(40.03 + 0.1, -7.99, 0.095, 4000)  # its west edge ~0.6 km east of the zone
RIVER = LineString([(39.9985, -8.05), (39.9985, -7.9)])  # ~165 m west of the zone
VILLAGE = Point(40.01, -7.972)  # ~890 m north
TAILINGS = Point(40.025, -7.99)
OLD_MINE = Point(40.0, -7.97)
SITE_IN, SITE_OUT = Point(40.01, -7.99), Point(40.03, -7.99)
OTHER_ZONE = box(40.018, -7.985, 40.03, -7.975)


@pytest.fixture
def region(session):
    ids = {}
    ids["titles"] = add_layer(
        session,
        "sc-titles",
        [
            (TITLE_ACTIVE, {"code": "PE-1", "holder": "Mines SA", "title_type": "exploitation",
                            "status": "active", "name": "PE-1"}),
            (TITLE_EXPIRED, {"code": "PR-2", "holder": "Explo SARL", "title_type": "exploration",
                             "status": "expired", "name": "PR-2"}),
            (TITLE_FAR, {"code": "PE-3", "title_type": "exploitation", "status": "active"}),
        ],
        kind="concession",
    )  # fmt: skip
    ids["park"] = add_layer(session, "sc-parks", [(PARK, {"name": "Parc"})], theme="protected_area")
    ids["river"] = add_layer(session, "sc-rivers", [(RIVER, {"name": "Fleuve"})], theme="river")
    ids["village"] = add_layer(
        session, "sc-places", [(VILLAGE, {"name": "Village"})], theme="settlement"
    )
    ids["tailings"] = add_layer(
        session,
        "sc-tailings",
        [(TAILINGS, {"name": "TSF", "consequence": "high"})],
        kind="tailings_facility",
    )
    ids["old"] = add_layer(
        session,
        "sc-abandoned",
        [(OLD_MINE, {"name": "Old", "hazards": ["open_shaft"]})],
        kind="abandoned_mine",
    )
    ids["sites"] = add_layer(
        session,
        "sc-sites",
        [(SITE_IN, {"name": "In", "qualification": "green"}), (SITE_OUT, {"name": "Out"})],
        kind="mine_site",
    )
    ids["zones"] = add_layer(
        session,
        "sc-zones",
        [(ZONE, {"name": "Z", "status": "draft"}), (OTHER_ZONE, {"name": "Y", "code": "Y1"})],
        kind="asm_zone",
    )
    return ids


def close(value: float, expected: float) -> bool:
    return abs(value - expected) <= max(1.0, 0.005 * expected)


def test_screening_lists_every_conflict_with_geodesic_figures(session, region):
    result = screen(session, mapping(ZONE), exclude_id=region["zones"][0])

    zone_ha = geod_ha(ZONE)
    assert result["area_ha"] == pytest.approx(zone_ha, rel=0.005)
    c = result["conflicts"]

    assert [t["id"] for t in c["concessions"]] == region["titles"][:2]
    for item, title in zip(c["concessions"], (TITLE_ACTIVE, TITLE_EXPIRED), strict=True):
        ha = geod_ha(ZONE.intersection(title))
        assert item["overlap_ha"] == pytest.approx(ha, rel=0.005)
        assert item["overlap_pct"] == pytest.approx(100 * ha / zone_ha, rel=0.005)
        assert item["geometry"]["type"] == "Polygon"
        assert item["layer"] == "sc-titles"
    assert c["concessions"][0] | {"geometry": None} == {
        "layer": "sc-titles", "id": region["titles"][0], "name": "PE-1", "code": "PE-1",
        "holder": "Mines SA", "title_type": "exploitation", "status": "active",
        "overlap_ha": c["concessions"][0]["overlap_ha"],
        "overlap_pct": c["concessions"][0]["overlap_pct"], "geometry": None,
    }  # fmt: skip

    [park] = c["protected_areas"]
    assert park["id"] == region["park"][0]
    assert park["overlap_ha"] == 0
    assert close(park["distance_m"], geod_distance_m(ZONE, PARK))

    [river] = c["rivers"]
    assert close(river["distance_m"], geod_distance_m(ZONE, RIVER))
    [village] = c["settlements"]
    assert close(village["distance_m"], geod_distance_m(ZONE, VILLAGE))

    [tsf] = c["tailings"]
    assert tsf["consequence"] == "high"
    assert close(tsf["distance_m"], geod_distance_m(ZONE, TAILINGS))
    [old] = c["abandoned_mines"]
    assert old["hazards"] == ["open_shaft"]
    assert close(old["distance_m"], geod_distance_m(ZONE, OLD_MINE))

    assert [s["name"] for s in c["mine_sites"]] == ["In"]
    assert c["mine_sites"][0]["qualification"] == "green"

    [other] = c["asm_zones"]
    assert (other["id"], other["code"]) == (region["zones"][1], "Y1")
    assert other["overlap_ha"] == pytest.approx(geod_ha(ZONE.intersection(OTHER_ZONE)), rel=0.005)


def test_rules_give_verdicts_with_reasons(session, region):
    result = screen(session, mapping(ZONE), exclude_id=region["zones"][0])
    verdicts = {r["id"]: r["verdict"] for r in result["rules"]}
    assert verdicts == {
        "max_area": "pass",
        "active_exploitation_titles": "fail",
        "protected_areas": "fail",  # ~600 m, closer than the default 1,000 m
        "rivers": "warn",  # ~165 m: beyond 100 m but within twice that
        "settlements": "warn",  # ~890 m: beyond 500 m, within 1,000 m
        "asm_zones": "warn",
        "hazards": "warn",
    }
    assert result["verdict"] == "fail"
    assert all(r["reason"] for r in result["rules"])
    assert "PE-1" in next(r["reason"] for r in result["rules"] if r["id"].startswith("active"))

    relaxed = screen(
        session,
        mapping(ZONE),
        exclude_id=region["zones"][0],
        rules={"max_area_ha": 1.0, "protected_area_distance_m": 200, "river_distance_m": 200},
    )
    verdicts = {r["id"]: r["verdict"] for r in relaxed["rules"]}
    assert verdicts["max_area"] == "fail"
    assert verdicts["protected_areas"] == "pass"  # 600 m is beyond twice 200 m
    assert verdicts["rivers"] == "fail"


def test_a_saved_zone_is_screened_without_itself(session, region):
    zone_id = region["zones"][0]
    result = screen(session, zone_id=zone_id)
    assert result["area_ha"] == pytest.approx(geod_ha(ZONE), rel=0.005)
    assert [z["id"] for z in result["conflicts"]["asm_zones"]] == [region["zones"][1]]
    assert result["geometry"]["type"] == "Polygon"


def test_a_clear_zone_passes(session, region):
    clear = box(40.5, -8.5, 40.51, -8.49)
    result = screen(session, mapping(clear))
    assert result["verdict"] == "pass"
    assert all(not items for items in result["conflicts"].values())


def test_an_invalid_zone_is_repaired_and_bad_input_refused(session, region):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[40.0, -8.0], [40.02, -7.98], [40.02, -8.0], [40.0, -7.98], [40.0, -8.0]]],
    }
    result = screen(session, bowtie)
    assert result["area_ha"] == pytest.approx(geod_ha(ZONE) / 2, rel=0.005)
    with pytest.raises(InvalidGeometry):
        screen(session, {"type": "Point", "coordinates": [40.0, -8.0]})
    with pytest.raises(InvalidInput):
        screen(session, mapping(ZONE), rules={"max_area_ha": -1})
    with pytest.raises(InvalidInput):
        screen(session, mapping(ZONE), rules={"no_such_rule": 1})
    with pytest.raises(InvalidInput):
        screen(session)
    missing = session.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM features")).scalar()
    with pytest.raises(UnknownFeature):
        screen(session, zone_id=missing)
