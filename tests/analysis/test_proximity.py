"""Nearest distances against pyproj.Geod (within 0.5 % or 1 m), with the same pairs."""

from __future__ import annotations

import random

import pytest
from shapely.geometry import LineString, Point, box

from geo_service.analysis.proximity import nearest
from geo_service.errors import InvalidInput
from tests.analysis.conftest import GEOD, add_layer, geod_distance_m


def close(value: float, expected: float) -> bool:
    return abs(value - expected) <= max(1.0, 0.005 * expected)


def test_nearest_points_match_geod_inv(session):
    rng = random.Random(7)
    sources = [Point(rng.uniform(30, 30.5), rng.uniform(-5, -4.5)) for _ in range(15)]
    targets = [Point(rng.uniform(30, 30.5), rng.uniform(-5, -4.5)) for _ in range(40)]
    sids = add_layer(session, "px-src", [(p, {"name": f"s{i}"}) for i, p in enumerate(sources)])
    tids = add_layer(session, "px-tgt", [(p, {"name": f"t{i}"}) for i, p in enumerate(targets)])

    rows = nearest(session, "px-src", "px-tgt", k=2)["rows"]

    assert len(rows) == 2 * len(sources)
    for sid, s in zip(sids, sources, strict=True):
        ranked = sorted(
            (GEOD.inv(s.x, s.y, t.x, t.y)[2], tid) for tid, t in zip(tids, targets, strict=True)
        )[:2]
        got = [(r["distance_m"], r["target"]["id"]) for r in rows if r["source"]["id"] == sid]
        assert [tid for _, tid in got] == [tid for _, tid in ranked]
        assert all(close(d, e) for (d, _), (e, _) in zip(got, ranked, strict=True))


def test_nearest_polygon_and_line_distances_and_inside(session):
    park = box(31.0, -5.0, 31.1, -4.9)
    river = LineString([(31.2, -5.1), (31.25, -4.8)])
    sources = [Point(31.05, -4.95), Point(31.13, -4.97), Point(30.98, -5.02), Point(31.3, -4.9)]
    sids = add_layer(session, "pxp-src", [(p, {"name": f"s{i}"}) for i, p in enumerate(sources)])
    tids = add_layer(session, "pxp-tgt", [(park, {"name": "park"}), (river, {"name": "river"})])

    rows = nearest(session, "pxp-src", "pxp-tgt")["rows"]

    assert [r["source"]["id"] for r in rows] == sids
    for row, s in zip(rows, sources, strict=True):
        expected = {tid: geod_distance_m(s, t) for tid, t in zip(tids, (park, river), strict=True)}
        best = min(expected, key=expected.get)
        assert row["target"]["id"] == best
        assert close(row["distance_m"], expected[best])
    assert rows[0]["distance_m"] == 0


def test_within_m_keeps_only_close_targets(session):
    targets = [Point(32.0 + i * 0.01, -5.0) for i in range(10)]
    src = Point(32.0, -5.001)
    [sid] = add_layer(session, "pxw-src", [(src, {"name": "s"})])
    tids = add_layer(session, "pxw-tgt", [(p, {"name": f"t{i}"}) for i, p in enumerate(targets)])
    expected = {
        tid: GEOD.inv(src.x, src.y, t.x, t.y)[2] for tid, t in zip(tids, targets, strict=True)
    }

    rows = nearest(session, "pxw-src", "pxw-tgt", within_m=3500, k=None)["rows"]

    assert {r["target"]["id"] for r in rows} == {t for t, d in expected.items() if d <= 3500}
    assert all(close(r["distance_m"], expected[r["target"]["id"]]) for r in rows)
    assert nearest(session, "pxw-src", "pxw-tgt", within_m=50)["rows"] == []
    assert len(nearest(session, "pxw-src", "pxw-tgt", within_m=3500, k=2)["rows"]) == 2


def test_geodesic_not_planar_ranking_at_high_latitude(session):
    """At 60°N a degree of longitude is half a degree of latitude: planar degrees would rank
    the northern target first, the spheroid says the eastern one is nearer."""
    src = Point(10.0, 60.0)
    east, north = Point(10.1, 60.0), Point(10.0, 60.06)
    add_layer(session, "hl-src", [(src, {"name": "s"})])
    tids = add_layer(session, "hl-tgt", [(north, {"name": "north"}), (east, {"name": "east"})])
    assert src.distance(north) < src.distance(east)

    [row] = nearest(session, "hl-src", "hl-tgt")["rows"]

    assert row["target"]["id"] == tids[1]
    assert close(row["distance_m"], GEOD.inv(src.x, src.y, east.x, east.y)[2])


def test_filters_and_bad_arguments(session):
    add_layer(session, "pxf-src", [(Point(33.0, -5.0), {"name": "s"})])
    tids = add_layer(
        session,
        "pxf-tgt",
        [(Point(33.01, -5.0), {"kind": "village"}), (Point(33.05, -5.0), {"kind": "town"})],
    )
    [row] = nearest(session, "pxf-src", "pxf-tgt", target_filter={"kind": "town"})["rows"]
    assert row["target"]["id"] == tids[1]
    with pytest.raises(InvalidInput):
        nearest(session, "pxf-src", "pxf-tgt", k=0)
    with pytest.raises(InvalidInput):
        nearest(session, "pxf-src", "pxf-tgt", k=None)
