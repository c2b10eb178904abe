"""The lifecycle of an ASM zone through the API: every move recorded (who, when, comment,
decree) with its screening report, read back as it was; gazetting refused without a decree or
over a title whose holder has not consented; a zone near an international border flagged.

Generated data in the Ténéré and on the Niger-Chad border (Natural Earth 1:110m countries);
areas checked with pyproj.Geod, distances with Geod on densified boundaries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pyogrio
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box, mapping
from shapely.ops import unary_union
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.demo import NATURAL_EARTH
from geo_service.domain.access import OPERATOR
from geo_service.settings import get_settings
from geo_service.store import layers as store
from tests.analysis.conftest import add_layer, geod_distance_m, geod_ha

GEOD = Geod(ellps="WGS84")
LON, LAT = 14.0, 18.5  # the Ténéré, over 100 km from Chad and from every demo feature
ZONE = box(LON, LAT, LON + 0.01, LAT + 0.01)  # about 110 ha
GROWN = box(LON, LAT, LON + 0.02, LAT + 0.01)
TITLE_ZONE = box(LON + 0.1, LAT, LON + 0.11, LAT + 0.01)
TITLE = box(LON + 0.105, LAT - 0.01, LON + 0.13, LAT + 0.02)  # overlaps half of TITLE_ZONE
# A straight stretch of the Niger-Chad border in Natural Earth 1:110m.
BORDER = LineString([(15.30044111497972, 17.927949937405003),
                     (15.247731154041844, 16.627305813050782)])  # fmt: skip


def _zone_near_border(metres: float):
    """A ~40 ha square whose east edge lies `metres` due west of the border's middle."""
    mid = BORDER.interpolate(0.5, normalized=True)
    lon, lat, _ = GEOD.fwd(mid.x, mid.y, 270, metres)
    return box(lon - 0.006, lat - 0.003, lon, lat + 0.003)


def _countries():
    """Cameroon, Chad, Niger and Nigeria, whole, from Natural Earth 1:110m."""
    return pyogrio.read_dataframe(
        f"zip://{NATURAL_EARTH / 'ne_110m_admin_0_countries.zip'}", bbox=(10, 12, 20, 20)
    )


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {"zones": f"life-zones-{tag}", "titles": f"life-titles-{tag}",
             "countries": f"life-countries-{tag}"}  # fmt: skip
    frame = _countries()
    with Session(engine) as s:
        store.create_layer(s, slugs["zones"], OPERATOR, kind="asm_zone")
        (title_id,) = add_layer(
            s, slugs["titles"],
            [(TITLE, {"code": "PR-LIFE-1", "holder": "Ténéré Exploration SA",
                      "title_type": "exploration", "status": "active"})],
            kind="concession",
        )  # fmt: skip
        add_layer(
            s, slugs["countries"],
            [(g, {"name": n}) for g, n in zip(frame.geometry, frame["name"], strict=True)],
            theme="admin_boundary",
        )  # fmt: skip
        s.commit()
    yield {**slugs, "title_id": title_id}
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _draft(client, world, geometry, **properties) -> str:
    made = client.post(
        "/analysis/available-land/zone",
        json={"layer": world["zones"], "geometry": mapping(geometry), "name": "Test zone",
              "minerals": ["gold"], "manager": "Coopérative test", "capacity": 120,
              **properties},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["properties"]["status"] == "draft"
    return f"/layers/{world['zones']}/features/{made.json()['id']}"


def _move(client, zone: str, to: str, comment: str, **extra):
    return client.post(f"{zone}/transitions", json={"to": to, "comment": comment, **extra})


def test_a_zone_walks_its_lifecycle_and_each_report_reads_back_as_it_was(as_role, world):
    editor = as_role("editor")
    zone = _draft(editor, world, ZONE)
    feature = editor.get(f"/collections/{world['zones']}/items/{zone.rsplit('/', 1)[1]}").json()
    assert (feature["properties"]["manager"], feature["properties"]["capacity"]) == (
        "Coopérative test", 120)  # fmt: skip
    steps = [
        ("proposed", "proposed by the ASM agency", {}),
        ("in_consultation", "sent to the land and environment ministries", {}),
        ("gazetted", "decision of the council of ministers",
         {"decree_ref": "Arrêté 2026-077/MMG"}),
        ("suspended", "boundary dispute", {}),
        ("retired", "dispute settled, zone closed", {}),
    ]  # fmt: skip
    for i, (to, comment, extra) in enumerate(steps):
        if to == "suspended":  # redrawn while gazetted: later reports see the new outline
            redrawn = editor.patch(
                f"/collections/{world['zones']}/items/{zone.rsplit('/', 1)[1]}",
                json={"geometry": mapping(GROWN)},
            )
            assert redrawn.status_code == 200, redrawn.text
        moved = _move(editor, zone, to, comment, **extra)
        assert moved.status_code == 201, moved.text
        record = moved.json()
        assert (record["from"], record["to"], record["comment"]) == (
            steps[i - 1][0] if i else "draft", to, comment)  # fmt: skip
        assert record["by"] == "test-editor"
        assert record["decree_ref"] == extra.get("decree_ref")
        assert record["border"] is None
    listed = editor.get(f"{zone}/transitions").json()["transitions"]
    assert [(t["from"], t["to"]) for t in listed] == [
        (None, "draft"), ("draft", "proposed"), ("proposed", "in_consultation"),
        ("in_consultation", "gazetted"), ("gazetted", "suspended"), ("suspended", "retired"),
    ]  # fmt: skip
    assert [t["at"] for t in listed] == sorted(t["at"] for t in listed)
    assert listed[3]["decree_ref"] == "Arrêté 2026-077/MMG"
    reports = [editor.get(f"{zone}/transitions/{t['id']}").json()["screening"] for t in listed]
    # Stored as produced: the gazetting's report has the first outline, later ones the second.
    for report in reports[:4]:
        assert report["area_ha"] == pytest.approx(geod_ha(ZONE), rel=1e-6)
    for report in reports[4:]:
        assert report["area_ha"] == pytest.approx(geod_ha(GROWN), rel=1e-6)
    assert all(r["verdict"] in ("pass", "warn") for r in reports)
    assert {rule["id"] for rule in reports[3]["rules"]} >= {"max_area"}
    # The feature's history tells the same moves.
    history = editor.get(f"/collections/{world['zones']}/items/{zone.rsplit('/', 1)[1]}/history")
    statuses = [v["properties"]["status"] for v in history.json()["versions"]]
    assert statuses[-1] == "retired" and "gazetted" in statuses


def test_gazetting_without_a_decree_is_refused_and_nothing_written(as_role, world):
    editor = as_role("editor")
    zone = _draft(editor, world, ZONE)
    for to in ("proposed", "in_consultation"):
        assert _move(editor, zone, to, "next").status_code == 201
    before = editor.get(f"{zone}/transitions").json()["transitions"]
    refused = _move(editor, zone, "gazetted", "no decree yet")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["where"]["field"] == "properties.decree_ref"
    assert "decree" in problem["detail"]
    assert editor.get(f"{zone}/transitions").json()["transitions"] == before
    french = editor.post(
        f"{zone}/transitions", json={"to": "gazetted", "comment": "sans acte"},
        headers={"Accept-Language": "fr"},
    )  # fmt: skip
    assert "référence de son acte" in french.json()["detail"]


def test_a_zone_over_a_title_needs_its_holders_consent(as_role, world):
    editor = as_role("editor")
    zone = _draft(editor, world, TITLE_ZONE)
    for to in ("proposed", "in_consultation"):
        assert _move(editor, zone, to, "next").status_code == 201
    refused = _move(editor, zone, "gazetted", "decree signed", decree_ref="Arrêté 2026-078")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert [t["id"] for t in problem["titles"]] == [world["title_id"]]
    assert "PR-LIFE-1" in problem["detail"] and "Ténéré Exploration SA" in problem["detail"]
    not_title = editor.post(
        f"{zone}/consents",
        json={"title_id": int(zone.rsplit("/", 1)[1]), "holder": "x", "date": "2026-11-30",
              "document_ref": "x"},
    )  # fmt: skip
    assert not_title.status_code == 400 and not_title.json()["where"]["field"] == "title_id"
    consent = editor.post(
        f"{zone}/consents",
        json={"title_id": world["title_id"], "holder": "Ténéré Exploration SA",
              "date": "2026-11-30", "document_ref": "Lettre TE/2026/114"},
    )  # fmt: skip
    assert consent.status_code == 201, consent.text
    assert consent.json()["recorded_by"] == "test-editor"
    done = _move(editor, zone, "gazetted", "decree signed", decree_ref="Arrêté 2026-078")
    assert done.status_code == 201, done.text
    (relied,) = done.json()["consents"]
    assert (relied["title_id"], relied["document_ref"], relied["date"]) == (
        world["title_id"], "Lettre TE/2026/114", "2026-11-30")  # fmt: skip
    listed = editor.get(f"{zone}/transitions").json()
    assert listed["consents"][0]["holder"] == "Ténéré Exploration SA"


def test_a_zone_near_an_international_border_is_flagged_not_refused(as_role, world):
    editor = as_role("editor")
    within = get_settings().zoning.border_distance_m
    near, far = _zone_near_border(within / 2), _zone_near_border(within * 3)
    expected = geod_distance_m(near, BORDER)
    assert within / 2 * 0.98 < expected < within / 2 * 1.02
    zone = _draft(editor, world, near)
    (created,) = editor.get(f"{zone}/transitions").json()["transitions"]
    flag = created["border"]
    assert flag["within_m"] == within
    assert flag["distance_m"] == pytest.approx(expected, rel=0.005)
    assert sorted(flag["borders"][0]["countries"]) == ["Chad", "Niger"]
    moved = _move(editor, zone, "proposed", "proposed near the border")
    assert moved.status_code == 201
    assert moved.json()["border"]["distance_m"] == pytest.approx(expected, rel=0.005)
    # The feature's history carries the flag with each version it marks.
    feature = zone.replace(
        f"/layers/{world['zones']}/features/", f"/collections/{world['zones']}/items/"
    )
    versions = editor.get(f"{feature}/history").json()["versions"]
    assert [v["border"]["distance_m"] for v in versions] == pytest.approx([expected] * 2, rel=0.005)
    other = _draft(editor, world, far)
    assert editor.get(f"{other}/transitions").json()["transitions"][0]["border"] is None


def test_a_coast_is_no_border(as_role, world):
    """A zone on Cameroon's coast, far from its neighbours: the coast is part of the country's
    boundary but no edge it shares with another country, so the zone is not flagged."""
    frame = _countries()
    cameroon = frame[frame["name"] == "Cameroon"].geometry.iloc[0]
    others = unary_union(list(frame[frame["name"] != "Cameroon"].geometry))
    coast = [Point(xy) for xy in cameroon.exterior.coords if others.distance(Point(xy)) > 1]
    far = max(coast, key=lambda p: others.distance(p))
    zone_geometry = far.buffer(0.01).intersection(cameroon)
    assert not zone_geometry.is_empty and zone_geometry.geom_type == "Polygon"
    within = get_settings().zoning.border_distance_m
    # Over a degree from every neighbour: over 110 km near the equator, ten times the limit.
    assert others.distance(zone_geometry) > 1 and within <= 11_000
    zone = _draft(as_role("editor"), world, zone_geometry)
    (created,) = as_role("editor").get(f"{zone}/transitions").json()["transitions"]
    assert created["border"] is None


def test_draft_zones_go_only_into_zone_layers_and_moves_are_checked(as_role, world):
    editor = as_role("editor")
    wrong = editor.post(
        "/analysis/available-land/zone",
        json={"layer": world["titles"], "geometry": mapping(ZONE)},
    )
    assert wrong.status_code == 400 and wrong.json()["where"] == {"layer": world["titles"]}
    zone = _draft(editor, world, ZONE)
    jump = _move(editor, zone, "gazetted", "too fast", decree_ref="A-1")
    assert jump.status_code == 409 and "allowed" in jump.json()["detail"]
    assert (
        as_role("viewer")
        .post(f"{zone}/transitions", json={"to": "proposed", "comment": "x"})
        .status_code
        == 403
    )
    missing = editor.get(f"{zone}/transitions/999999999")
    assert missing.status_code == 404
    not_zone = editor.get(f"/layers/{world['titles']}/features/{world['title_id']}/transitions")
    assert not_zone.status_code == 400
