"""Trade points and routes through the API: typed fields and geometries of their kinds, features
with diamonds flagged for the Kimberley Process (all, and within the Mano River Union, checked
against shapely on the Natural Earth countries), and the region summary's route counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from shapely.geometry import LineString, Point, mapping, shape
from shapely.ops import unary_union
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.api.test_country_risk import MRU, add_countries

KENEMA, FREETOWN, KONO = (-11.19, 7.88), (-13.23, 8.48), (-11.0, 8.6)
POINTS = [
    (Point(KENEMA), {"name": "Kenema", "type": "Trading centre", "minerals": "diamonds; gold",
                     "operator": "Kenema traders"}),
    (Point(-11.5, 8.1), {"name": "Bo", "type": "buying-centre", "minerals": ["diamonds"]}),
    (Point(-10.6, 8.2), {"name": "Checkpoint", "type": "roadblock"}),
    (Point(-10.28, 8.0), {"name": "Koindu", "type": "border crossing"}),
]  # fmt: skip
ROUTES = [
    (LineString([KONO, KENEMA, FREETOWN]),
     {"name": "Kono - Freetown", "mineral": "diamonds", "origin": "Kono", "via": "Kenema",
      "destination": "Freetown", "stages": "extraction, trading, export", "legality": "licit"}),
    (LineString([KONO, (-10.28, 8.0), (-9.5, 7.0)]),
     {"name": "Kono - Liberia", "mineral": "diamonds", "origin": "Kono",
      "destination": "Monrovia", "legality": "Suspected"}),
    (LineString([(-10.0, 10.5), (-8.0, 12.6)]),
     {"name": "Siguiri - Bamako", "mineral": "gold", "stages": ["trading"]}),
]  # fmt: skip
SITES = [
    (Point(KONO), {"name": "Kono", "minerals": ["diamonds"]}),
    (Point(-8.0, 12.6), {"name": "Malian diamonds", "minerals": ["Diamant"]}),  # outside MRU
    (Point(-9.5, 6.8), {"name": "Gold", "minerals": ["gold"]}),
]


@pytest.fixture(scope="module")
def world(engine: Engine, as_role) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {"countries": f"trade-countries-{tag}", "points": f"trade-points-{tag}",
             "routes": f"trade-routes-{tag}", "sites": f"trade-sites-{tag}"}  # fmt: skip
    admin, editor = as_role("admin"), as_role("editor")
    with Session(engine) as s:
        shapes = add_countries(s, slugs["countries"])
        s.commit()
    before = admin.get("/regions/MRU/summary").json()["counts"]  # what other tests left there
    with Session(engine) as s:
        sites = store.create_layer(s, slugs["sites"], OPERATOR, kind="mine_site")
        site_ids = [store.create_feature(s, sites, mapping(g), p, who=OPERATOR).id
                    for g, p in SITES]  # fmt: skip
        s.commit()
    for key, kind in (("points", "trade_point"), ("routes", "trade_route")):
        made = admin.post(
            "/layers", json={"slug": slugs[key], "kind": kind, "visibility": "public"}
        )
        assert made.status_code == 201, made.text
    ids: dict[str, list[int]] = {"points": [], "routes": []}
    for key, features in (("points", POINTS), ("routes", ROUTES)):
        for geom, props in features:
            made = editor.post(f"/collections/{slugs[key]}/items",
                               json={"type": "Feature", "geometry": mapping(geom),
                                     "properties": props})  # fmt: skip
            assert made.status_code == 201, made.text
            ids[key].append(made.json()["id"])
    yield {**slugs, "shapes": shapes, "ids": ids, "site_ids": site_ids, "before": before}
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def test_trade_points_and_routes_keep_typed_fields(anon, world) -> None:
    points = anon.get(f"/collections/{world['points']}/items").json()["features"]
    assert sorted(f["properties"]["type"] for f in points) == [
        "border_crossing", "buying_centre", "roadblock", "trading_centre"]  # fmt: skip
    kenema = next(f for f in points if f["properties"]["name"] == "Kenema")
    assert kenema["properties"]["minerals"] == ["diamonds", "gold"]
    routes = anon.get(f"/collections/{world['routes']}/items").json()["features"]
    first = next(f for f in routes if f["properties"]["name"] == "Kono - Freetown")
    assert first["properties"]["via"] == ["Kenema"]
    assert first["properties"]["stages"] == ["extraction", "trading", "export"]
    assert first["geometry"]["type"] == "LineString"
    legality = {f["properties"]["name"]: f["properties"]["legality"] for f in routes}
    assert legality == {
        "Kono - Freetown": "licit",
        "Kono - Liberia": "suspected",
        "Siguiri - Bamako": "unknown",
    }
    kinds = anon.get("/kinds").json()["kinds"]
    assert set(kinds["trade_point"]["colours"]) == {
        "trading_centre", "buying_centre", "roadblock", "border_crossing"}  # fmt: skip
    assert kinds["trade_route"]["geometry_types"] == ["LineString", "MultiLineString"]
    assert kinds["trade_route"]["colour_by"] == "legality"


def test_trade_kinds_refuse_wrong_geometries_and_values(as_role, world) -> None:
    editor = as_role("editor")
    polygon = mapping(Point(KENEMA).buffer(0.01))
    wrong = editor.post(
        f"/collections/{world['points']}/items",
        json={"type": "Feature", "geometry": polygon, "properties": {}},
    )
    assert wrong.status_code == 422 and "Point" in wrong.json()["detail"]
    point_route = editor.post(f"/collections/{world['routes']}/items",
                              json={"type": "Feature", "geometry": mapping(Point(KONO)),
                                    "properties": {}})  # fmt: skip
    assert point_route.status_code == 422 and "LineString" in point_route.json()["detail"]
    bad_stage = editor.post(f"/collections/{world['routes']}/items",
                            json={"type": "Feature", "geometry": mapping(ROUTES[0][0]),
                                  "properties": {"stages": "smuggling"}})  # fmt: skip
    assert bad_stage.status_code == 422 and "stages" in bad_stage.json()["detail"]
    bad_type = editor.post(f"/collections/{world['points']}/items",
                           json={"type": "Feature", "geometry": mapping(Point(KENEMA)),
                                 "properties": {"type": "market"}})  # fmt: skip
    assert bad_type.status_code == 422 and "type" in bad_type.json()["detail"]


def _diamond_features(world: dict[str, Any]) -> dict[tuple[str, int], Any]:
    found = {}
    for (geom, props), fid in zip(ROUTES, world["ids"]["routes"], strict=True):
        if props["mineral"] == "diamonds":
            found[(world["routes"], fid)] = geom
    for (geom, props), fid in zip(POINTS, world["ids"]["points"], strict=True):
        minerals = props.get("minerals", [])
        if "diamonds" in (minerals if isinstance(minerals, list) else minerals.split("; ")):
            found[(world["points"], fid)] = geom
    for (geom, props), fid in zip(SITES, world["site_ids"], strict=True):
        if props["minerals"][0].lower() in ("diamonds", "diamant"):
            found[(world["sites"], fid)] = geom
    return found


def test_diamond_features_are_flagged_for_the_kimberley_process(anon, world) -> None:
    expected = _diamond_features(world)
    ours = {world["routes"], world["points"], world["sites"]}
    answer = anon.get("/analysis/kimberley")
    assert answer.status_code == 200
    got = {(f["properties"]["layer"], f["id"]) for f in answer.json()["features"]
           if f["properties"]["layer"] in ours}  # fmt: skip
    assert got == set(expected) and len(got) == 6
    assert all(f["properties"]["kimberley_process"] for f in answer.json()["features"])
    union = unary_union([world["shapes"][c] for c in MRU])
    in_mru = {k for k, g in expected.items() if union.intersects(g)}
    assert len(in_mru) == 5  # the Malian site is outside
    mru = anon.get("/analysis/kimberley", params={"region": "MRU"}).json()["features"]
    assert {(f["properties"]["layer"], f["id"]) for f in mru
            if f["properties"]["layer"] in ours} == in_mru  # fmt: skip
    assert anon.get("/analysis/kimberley", params={"region": "XYZ"}).status_code == 404


def test_a_route_shows_its_kimberley_flag_and_a_country_it_crosses(anon, world) -> None:
    for (geom, props), fid in zip(ROUTES, world["ids"]["routes"], strict=True):
        context = anon.get(f"/layers/{world['routes']}/features/{fid}/context").json()
        assert context["kimberley_process"] == (props["mineral"] == "diamonds")
        crossed = {c for c, g in world["shapes"].items() if g.intersects(geom)}
        assert context["country"]["iso3"] in crossed


def test_the_region_summary_counts_routes_and_trade_points(as_role, world) -> None:
    union = unary_union([world["shapes"][c] for c in MRU])
    after = as_role("admin").get("/regions/MRU/summary").json()["counts"]
    before = world["before"]
    routes_in = sum(union.intersects(g) for g, _ in ROUTES)
    points_in = sum(union.intersects(g) for g, _ in POINTS)
    assert after["routes"] - before["routes"] == routes_in == 3
    assert after["trade_points"] - before["trade_points"] == points_in == 4
    flagged = sum(union.intersects(g) for g in _diamond_features(world).values())
    assert after["kimberley_process"] - before["kimberley_process"] == flagged
    region = shape(as_role("admin").get("/regions/MRU").json()["geometry"])
    assert region.symmetric_difference(union).area < 1e-6 * union.area
