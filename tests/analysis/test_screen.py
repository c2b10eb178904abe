"""Zone screening: conflicts by category with figures checked against shapely + pyproj.Geod,
and rules giving pass, warn or fail with reasons."""

from __future__ import annotations

import re

import pytest
from shapely.affinity import translate
from shapely.geometry import LineString, Point, box, mapping
from sqlalchemy import text

from geo_service.analysis.screen import screen
from geo_service.domain.access import OPERATOR
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
    result = screen(session, mapping(ZONE), exclude_id=region["zones"][0], who=OPERATOR)

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
    result = screen(session, mapping(ZONE), exclude_id=region["zones"][0], who=OPERATOR)
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
        who=OPERATOR,
    )
    verdicts = {r["id"]: r["verdict"] for r in relaxed["rules"]}
    assert verdicts["max_area"] == "fail"
    assert verdicts["protected_areas"] == "pass"  # 600 m is beyond twice 200 m
    assert verdicts["rivers"] == "fail"


def test_a_saved_zone_is_screened_without_itself(session, region):
    zone_id = region["zones"][0]
    result = screen(session, zone_id=zone_id, who=OPERATOR)
    assert result["area_ha"] == pytest.approx(geod_ha(ZONE), rel=0.005)
    assert [z["id"] for z in result["conflicts"]["asm_zones"]] == [region["zones"][1]]
    assert result["geometry"]["type"] == "Polygon"


def test_a_clear_zone_passes(session, region):
    clear = box(40.5, -8.5, 40.51, -8.49)
    result = screen(session, mapping(clear), who=OPERATOR)
    assert result["verdict"] == "pass"
    assert all(not items for items in result["conflicts"].values())


def test_an_invalid_zone_is_repaired_and_bad_input_refused(session, region):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[40.0, -8.0], [40.02, -7.98], [40.02, -8.0], [40.0, -7.98], [40.0, -8.0]]],
    }
    result = screen(session, bowtie, who=OPERATOR)
    assert result["area_ha"] == pytest.approx(geod_ha(ZONE) / 2, rel=0.005)
    with pytest.raises(InvalidGeometry):
        screen(session, {"type": "Point", "coordinates": [40.0, -8.0]}, who=OPERATOR)
    with pytest.raises(InvalidInput):
        screen(session, mapping(ZONE), rules={"max_area_ha": -1}, who=OPERATOR)
    with pytest.raises(InvalidInput):
        screen(session, mapping(ZONE), rules={"no_such_rule": 1}, who=OPERATOR)
    with pytest.raises(InvalidInput):
        screen(session, who=OPERATOR)
    missing = session.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM features")).scalar()
    with pytest.raises(UnknownFeature):
        screen(session, zone_id=missing, who=OPERATOR)


def _by_id(result) -> dict[str, dict]:
    return {r["id"]: r for r in result["rules"]}


def test_every_rule_gives_a_code_with_its_parameters(session, region):
    rules = _by_id(screen(session, mapping(ZONE), exclude_id=region["zones"][0], who=OPERATOR))
    assert {r: (v["verdict"], v["code"]) for r, v in rules.items()} == {
        "max_area": ("pass", "area_within_max"),
        "active_exploitation_titles": ("fail", "exploitation_title_overlap"),
        "protected_areas": ("fail", "protected_area_too_close"),
        "rivers": ("warn", "river_near"),
        "settlements": ("warn", "settlement_near"),
        "asm_zones": ("warn", "asm_zones_overlap"),
        "hazards": ("warn", "hazards_near"),
    }
    area = rules["max_area"]["params"]
    assert area["area_ha"] == pytest.approx(geod_ha(ZONE), rel=0.005)
    assert area.keys() == {"area_ha", "max_ha"} and area["max_ha"] == 500
    assert rules["active_exploitation_titles"]["params"] == {"count": 1, "titles": "PE-1"}
    park = rules["protected_areas"]["params"]
    assert park.keys() == {"id", "name", "distance_m", "limit_m"}
    assert (park["id"], park["name"], park["limit_m"]) == (region["park"][0], "Parc", 1000)
    assert close(park["distance_m"], geod_distance_m(ZONE, PARK))
    river = rules["rivers"]["params"]
    assert (river["name"], river["limit_m"]) == ("Fleuve", 100)
    assert close(river["distance_m"], geod_distance_m(ZONE, RIVER))
    village = rules["settlements"]["params"]
    assert (village["name"], village["limit_m"]) == ("Village", 500)
    assert close(village["distance_m"], geod_distance_m(ZONE, VILLAGE))
    assert rules["asm_zones"]["params"] == {"count": 1}
    assert rules["hazards"]["params"] == {"count": 2, "within_m": 2000}


def test_codes_of_the_other_verdicts(session, region):
    stricter = _by_id(
        screen(
            session,
            mapping(ZONE),
            exclude_id=region["zones"][0],
            rules={
                "max_area_ha": 1.0,
                "exploitation_title_types": ["quarry"],  # PE-1 is then just another live title
                "protected_area_distance_m": 500,  # the park at ~600 m: within twice that
                "river_distance_m": 200,
                "settlement_distance_m": 1000,
            },
            who=OPERATOR,
        )
    )
    assert {r: (v["verdict"], v["code"]) for r, v in stricter.items()} == {
        "max_area": ("fail", "area_over_max"),
        "active_exploitation_titles": ("warn", "other_title_overlap"),
        "protected_areas": ("warn", "protected_area_near"),
        "rivers": ("fail", "river_too_close"),
        "settlements": ("fail", "settlement_too_close"),
        "asm_zones": ("warn", "asm_zones_overlap"),
        "hazards": ("warn", "hazards_near"),
    }
    assert stricter["max_area"]["params"]["max_ha"] == 1
    assert stricter["active_exploitation_titles"]["params"] == {"count": 1, "titles": "PE-1"}
    assert stricter["protected_areas"]["params"]["limit_m"] == 500
    assert stricter["rivers"]["params"]["limit_m"] == 200

    clear = _by_id(screen(session, mapping(box(40.5, -8.5, 40.51, -8.49)), who=OPERATOR))
    assert {r: (v["verdict"], v["code"], v["params"]) for r, v in clear.items()} == {
        "max_area": ("pass", "area_within_max", clear["max_area"]["params"]),
        "active_exploitation_titles": ("pass", "titles_clear", {}),
        "protected_areas": ("pass", "protected_area_clear", {"within_m": 2000}),
        "rivers": ("pass", "river_clear", {"within_m": 200}),
        "settlements": ("pass", "settlement_clear", {"within_m": 1000}),
        "asm_zones": ("pass", "asm_zones_clear", {}),
        "hazards": ("pass", "hazards_clear", {"within_m": 2000}),
    }

    # A zone across the river, the park and the village: each touches.
    across = box(39.99, -7.99, 40.05, -7.97)
    assert across.intersects(RIVER) and across.intersects(PARK) and across.contains(VILLAGE)
    touching = _by_id(screen(session, mapping(across), who=OPERATOR))
    for rule_id, code, name in [
        ("rivers", "river_touches", "Fleuve"),
        ("protected_areas", "protected_area_touches", "Parc"),
        ("settlements", "settlement_touches", "Village"),
    ]:
        assert (touching[rule_id]["verdict"], touching[rule_id]["code"]) == ("fail", code)
        assert touching[rule_id]["params"]["name"] == name
        assert touching[rule_id]["params"].keys() == {"id", "name"}


def _french(value: float, digits: int) -> str:
    """A number as Intl writes it for fr-FR with at most `digits` decimals: narrow no-break
    space between thousands, decimal comma, no trailing zeros."""
    written = f"{value:,.{digits}f}"
    if "." in written:
        written = written.rstrip("0").rstrip(".")
    return written.replace(",", "\u202f").replace(".", ",")


def test_reasons_in_english_by_default_and_in_french_on_request(session, region):
    english = _by_id(screen(session, mapping(ZONE), exclude_id=region["zones"][0], who=OPERATOR))
    assert english["active_exploitation_titles"]["reason"] == (
        "Overlaps an active exploitation title: PE-1"
    )
    assert english["asm_zones"]["reason"] == "Overlaps another ASM zone"
    assert english["hazards"]["reason"] == (
        "2 tailings facilities or abandoned mines within 2,000 m"
    )

    big = box(39.95, -8.05, 40.06, -7.95)  # about 12,000 ha
    french = _by_id(screen(session, mapping(big), lang="fr", who=OPERATOR))
    area = french["max_area"]
    assert area["code"] == "area_over_max"
    assert area["reason"] == (
        f"Superficie de la zone : {_french(area['params']['area_ha'], 2)} ha, "
        "au-delà de la limite de 500 ha"
    )
    shown = re.search(r"zone : ([\d\u202f]+,\d\d) ha", area["reason"]).group(1)
    assert "\u202f" in shown
    assert float(shown.replace("\u202f", "").replace(",", ".")) == pytest.approx(
        geod_ha(big), rel=0.005
    )
    assert french["hazards"]["reason"] == (
        "2 installations de stockage de résidus ou anciennes mines à moins de 2\u202f000 m"
    )
    assert french["settlements"]["reason"] == "La zone touche ou englobe la localité « Village »"

    near = _by_id(
        screen(session, mapping(ZONE), exclude_id=region["zones"][0], lang="fr", who=OPERATOR)
    )
    assert near["active_exploitation_titles"]["reason"] == (
        "Chevauche un titre minier d'exploitation en vigueur : PE-1"
    )
    assert near["asm_zones"]["reason"] == "Chevauche une autre zone d'orpaillage"
    river = near["rivers"]
    assert river["reason"] == (
        f"La zone est à {_french(river['params']['distance_m'], 0)} m du cours d'eau « Fleuve », "
        "à moins du double des 100 m exigés"
    )
    assert [r["code"] for r in near.values()] == [r["code"] for r in english.values()]

    with pytest.raises(InvalidInput, match="de"):
        screen(session, mapping(ZONE), lang="de", who=OPERATOR)


@pytest.mark.parametrize("side", [1, -1])
def test_a_river_across_the_antimeridian_is_found(session, side) -> None:
    """A zone just west of 180° (or east of -180°) and a river 1.6 km away on the other side."""
    zone = (
        box(179.98, -16.52, 179.995, -16.5) if side == 1 else box(-179.995, -16.52, -179.98, -16.5)
    )
    across = LineString([(-179.99 * side, -16.6), (-179.99 * side, -16.4)])
    add_layer(session, "sc-am-rivers", [(across, {"name": "Across"})], theme="river")
    result = screen(session, zone=mapping(zone), rules={"river_distance_m": 2000}, who=OPERATOR)
    (river,) = [r for r in result["conflicts"]["rivers"] if r["name"] == "Across"]
    # pyproj measures the same river carried 360° round to the zone's side (the same place on
    # the spheroid), so the yardstick's planar shortcut looks only near the zone; points every
    # 55 m put it within 0.3 m of the true distance between a box and a straight line 1.6 km off.
    expected = geod_distance_m(zone, translate(across, xoff=360 * side), step_deg=0.0005)
    assert close(river["distance_m"], expected)
    assert 1500 < river["distance_m"] < 1700
