"""Overlap areas against shapely intersections measured with pyproj.Geod (within 0.5 %)."""

from __future__ import annotations

import math
import random

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import text

from geo_service.analysis import overlap as overlap_module
from geo_service.analysis.overlap import overlap
from geo_service.domain.access import OPERATOR
from geo_service.errors import InvalidInput, UnknownLayer
from tests.analysis.conftest import GEOD, add_layer, geod_ha


def blob(lon: float, lat: float, radius: float, n: int) -> Polygon:
    """A wavy ring of `n` vertices around (lon, lat), radius in degrees."""
    return Polygon(
        (
            lon + radius * (1 + 0.1 * math.sin(9 * a)) * math.cos(a),
            lat + radius * (1 + 0.1 * math.sin(9 * a)) * math.sin(a),
        )
        for a in (2 * math.pi * i / n for i in range(n))
    )


def expected_pairs(sources, targets, min_ha=0.01):
    """(source id, target id) -> (overlap ha, source ha, target ha), all by shapely + Geod."""
    pairs = {}
    for sid, s in sources:
        for tid, t in targets:
            if s.intersects(t):
                ha = geod_ha(s.intersection(t))
                if ha >= min_ha:
                    pairs[(sid, tid)] = (ha, geod_ha(s), geod_ha(t))
    return pairs


def check_rows(result, expected):
    got = {(r["source"]["id"], r["target"]["id"]): r for r in result["rows"]}
    assert set(got) == set(expected)
    for key, (ha, s_ha, t_ha) in expected.items():
        assert got[key]["overlap_ha"] == pytest.approx(ha, rel=0.005)
        assert got[key]["source_pct"] == pytest.approx(100 * ha / s_ha, rel=0.005)
        assert got[key]["target_pct"] == pytest.approx(100 * ha / t_ha, rel=0.005)
    total = sum(v[0] for v in expected.values())
    assert result["total_overlap_ha"] == pytest.approx(total, rel=0.005)


def test_overlap_matches_geod_on_the_same_pairs(session):
    rng = random.Random(4)
    sources = []
    for _ in range(25):
        x, y = rng.uniform(20, 20.5), rng.uniform(-3, -2.5)
        sources.append(box(x, y, x + rng.uniform(0.01, 0.05), y + rng.uniform(0.01, 0.05)))
    # A park of 3,000 vertices: the analysis has to work through its subdivided pieces.
    park = blob(20.25, -2.75, 0.2, 3000)
    targets = [park, box(20.0, -3.0, 20.2, -2.9), box(20.3, -2.6, 20.5, -2.5)]
    sids = add_layer(session, "ov-src", [(g, {"name": f"s{i}"}) for i, g in enumerate(sources)])
    tids = add_layer(session, "ov-tgt", [(g, {"name": f"t{i}"}) for i, g in enumerate(targets)])
    parts = session.execute(
        text("SELECT count(*) FROM feature_parts WHERE feature_id = :id"), {"id": tids[0]}
    ).scalar_one()
    assert parts > 10

    result = overlap(session, "ov-src", "ov-tgt", who=OPERATOR)

    check_rows(
        result,
        expected_pairs(
            list(zip(sids, sources, strict=True)), list(zip(tids, targets, strict=True))
        ),
    )
    names = {r["source"]["id"]: r["source"]["name"] for r in result["rows"]}
    assert all(names[sid] == f"s{sids.index(sid)}" for sid in names)


def test_overlap_honours_min_overlap_and_filters(session):
    a = box(21.0, -3.0, 21.1, -2.9)
    sources = [
        (box(21.05, -2.95, 21.2, -2.8), {"name": "big", "status": "active"}),
        (box(21.0999, -2.9001, 21.2, -2.8), {"name": "tiny", "status": "active"}),
        (box(20.95, -3.05, 21.02, -2.98), {"name": "expired", "status": "expired"}),
    ]
    sids = add_layer(session, "ovf-src", sources)
    tids = add_layer(session, "ovf-tgt", [(a, {"name": "a"})])
    src = list(zip(sids, [g for g, _ in sources], strict=True))

    result = overlap(session, "ovf-src", "ovf-tgt", min_overlap_ha=1.0, who=OPERATOR)
    check_rows(result, expected_pairs(src, [(tids[0], a)], min_ha=1.0))
    assert {r["source"]["name"] for r in result["rows"]} == {"big", "expired"}

    filtered = overlap(
        session,
        "ovf-src",
        "ovf-tgt",
        source_filter={"status": ["active"]},
        min_overlap_ha=0,
        who=OPERATOR,
    )
    check_rows(filtered, expected_pairs(src[:2], [(tids[0], a)], min_ha=0))
    assert (
        overlap(session, "ovf-src", "ovf-tgt", source_filter={"status": "none"}, who=OPERATOR)[
            "rows"
        ]
        == []
    )


def test_overlap_across_the_antimeridian(session):
    """Polygons crossing 180° are stored split at 180; hectares match the unsplit polygon's."""

    def split(w: float, s: float, e: float, n: float) -> MultiPolygon:  # e > 180
        return MultiPolygon([box(w, s, 180, n), box(-180, s, e - 360, n)])

    zone = split(179.6, -17.2, 180.3, -16.8)
    park = split(179.9, -17.0, 180.6, -16.5)
    sids = add_layer(session, "am-src", [(zone, {"name": "zone"})])
    tids = add_layer(session, "am-tgt", [(park, {"name": "park"})])
    # Independent: the intersection as one polygon in 0..360° longitudes, measured by Geod.
    lons, lats = [179.9, 180.3, 180.3, 179.9], [-17.0, -17.0, -16.8, -16.8]
    expected_ha = abs(GEOD.polygon_area_perimeter(lons, lats)[0]) / 1e4
    zone_ha = (
        abs(
            GEOD.polygon_area_perimeter([179.6, 180.3, 180.3, 179.6], [-17.2, -17.2, -16.8, -16.8])[
                0
            ]
        )
        / 1e4
    )

    [row] = overlap(session, "am-src", "am-tgt", who=OPERATOR)["rows"]

    assert (row["source"]["id"], row["target"]["id"]) == (sids[0], tids[0])
    assert row["overlap_ha"] == pytest.approx(expected_ha, rel=0.005)
    assert row["source_pct"] == pytest.approx(100 * expected_ha / zone_ha, rel=0.005)


def test_overlap_of_a_layer_imported_from_a_projected_crs(session, tmp_path):
    """A GeoPackage in UTM 29N (EPSG:32629), reprojected on import: hectares stay geodesic."""
    x0, y0 = 500000.0, 1400000.0  # about 9°W 12.66°N, in the demo region
    squares = [box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 500, y0 + 500, x0 + 2500, y0 + 1500)]
    path = tmp_path / "utm.gpkg"
    gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=squares, crs="EPSG:32629").to_file(path)
    assert pyogrio.read_info(path)["crs"] == "EPSG:32629"
    lonlat = gpd.read_file(path).to_crs(4326)
    aid = add_layer(session, "utm-a", [(lonlat.geometry[0], {"name": "a"})])[0]
    bid = add_layer(session, "utm-b", [(lonlat.geometry[1], {"name": "b"})])[0]

    [row] = overlap(session, "utm-a", "utm-b", who=OPERATOR)["rows"]

    expected = geod_ha(lonlat.geometry[0].intersection(lonlat.geometry[1]))
    assert (row["source"]["id"], row["target"]["id"]) == (aid, bid)
    assert row["overlap_ha"] == pytest.approx(expected, rel=0.005)
    # 500 m x 500 m in UTM is 25 ha up to the projection's scale factor (0.9996 at the meridian).
    assert row["overlap_ha"] == pytest.approx(25.0, rel=0.005)
    assert row["source_pct"] == pytest.approx(25.0, rel=0.005)


def test_point_sources_give_containment(session):
    park = box(22.0, -3.0, 22.1, -2.9)
    points = [Point(22.05, -2.95), Point(22.2, -2.95), Point(22.1, -2.95)]
    pids = add_layer(session, "pt-src", [(p, {"name": f"p{i}"}) for i, p in enumerate(points)])
    tid = add_layer(session, "pt-tgt", [(park, {"name": "park"})])[0]

    rows = overlap(session, "pt-src", "pt-tgt", with_geometry=True, who=OPERATOR)["rows"]

    inside = {r["source"]["id"]: r["inside"] for r in rows}
    assert inside == {pid: park.intersects(p) for pid, p in zip(pids, points, strict=True)}
    assert all(r["target"] == ({"id": tid, "name": "park"} if r["inside"] else None) for r in rows)
    assert all(r["geometry"]["type"] == "Point" for r in rows)


def test_invalid_geometries_are_made_valid_not_fatal(session):
    bowtie = Polygon([(23.0, -3.0), (23.1, -2.9), (23.1, -3.0), (23.0, -2.9)])
    assert not bowtie.is_valid
    target = box(23.0, -3.0, 23.05, -2.9)
    add_layer(session, "bad-src", [(bowtie, {"name": "bowtie"})])
    add_layer(session, "bad-tgt", [(target, {"name": "t"})])

    [row] = overlap(session, "bad-src", "bad-tgt", with_geometry=True, who=OPERATOR)["rows"]

    fixed = shapely.make_valid(bowtie)
    assert row["overlap_ha"] == pytest.approx(geod_ha(fixed.intersection(target)), rel=0.005)
    assert row["source_pct"] == pytest.approx(
        100 * geod_ha(fixed.intersection(target)) / geod_ha(fixed), rel=0.005
    )
    assert row["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_progress_is_reported_per_batch(session, monkeypatch):
    sources = [box(24 + i * 0.01, -3.0, 24.005 + i * 0.01, -2.995) for i in range(7)]
    add_layer(session, "prog-src", [(g, {"name": str(i)}) for i, g in enumerate(sources)])
    add_layer(session, "prog-tgt", [(box(24.0, -3.0, 24.1, -2.9), {"name": "all"})])
    monkeypatch.setattr(overlap_module, "BATCH", 3)
    seen = []

    result = overlap(
        session, "prog-src", "prog-tgt", report=lambda p, m: seen.append(p), who=OPERATOR
    )

    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert len(result["rows"]) == 7


def test_unknown_layer_and_bad_arguments(session):
    add_layer(session, "ok-layer", [(box(0, 0, 1, 1), {})])
    with pytest.raises(UnknownLayer):
        overlap(session, "ok-layer", "no-such-layer", who=OPERATOR)
    with pytest.raises(InvalidInput):
        overlap(session, "ok-layer", "ok-layer", min_overlap_ha=-1, who=OPERATOR)
    with pytest.raises(InvalidInput):
        overlap(session, "ok-layer", "ok-layer", source_filter=["status"], who=OPERATOR)  # type: ignore[arg-type]
