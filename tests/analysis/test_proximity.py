"""Nearest distances against pyproj.Geod (within 0.5 % or 1 m), with the same pairs."""

from __future__ import annotations

import random

import numpy as np
import pytest
from shapely import get_coordinates, segmentize
from shapely.geometry import LineString, MultiPolygon, Point, box, shape
from sqlalchemy import text

from geo_service.analysis.proximity import nearest
from geo_service.domain.access import OPERATOR
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

    rows = nearest(session, "px-src", "px-tgt", k=2, who=OPERATOR)["rows"]

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

    rows = nearest(session, "pxp-src", "pxp-tgt", who=OPERATOR)["rows"]

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

    rows = nearest(session, "pxw-src", "pxw-tgt", within_m=3500, k=None, who=OPERATOR)["rows"]

    assert {r["target"]["id"] for r in rows} == {t for t, d in expected.items() if d <= 3500}
    assert all(close(r["distance_m"], expected[r["target"]["id"]]) for r in rows)
    assert nearest(session, "pxw-src", "pxw-tgt", within_m=50, who=OPERATOR)["rows"] == []
    assert (
        len(nearest(session, "pxw-src", "pxw-tgt", within_m=3500, k=2, who=OPERATOR)["rows"]) == 2
    )


def test_geodesic_not_planar_ranking_at_high_latitude(session):
    """At 60°N a degree of longitude is half a degree of latitude: planar degrees would rank
    the northern target first, the spheroid says the eastern one is nearer."""
    src = Point(10.0, 60.0)
    east, north = Point(10.1, 60.0), Point(10.0, 60.06)
    add_layer(session, "hl-src", [(src, {"name": "s"})])
    tids = add_layer(session, "hl-tgt", [(north, {"name": "north"}), (east, {"name": "east"})])
    assert src.distance(north) < src.distance(east)

    [row] = nearest(session, "hl-src", "hl-tgt", who=OPERATOR)["rows"]

    assert row["target"]["id"] == tids[1]
    assert close(row["distance_m"], GEOD.inv(src.x, src.y, east.x, east.y)[2])


def test_filters_and_bad_arguments(session):
    add_layer(session, "pxf-src", [(Point(33.0, -5.0), {"name": "s"})])
    tids = add_layer(
        session,
        "pxf-tgt",
        [(Point(33.01, -5.0), {"kind": "village"}), (Point(33.05, -5.0), {"kind": "town"})],
    )
    [row] = nearest(session, "pxf-src", "pxf-tgt", target_filter={"kind": "town"}, who=OPERATOR)[
        "rows"
    ]
    assert row["target"]["id"] == tids[1]
    with pytest.raises(InvalidInput):
        nearest(session, "pxf-src", "pxf-tgt", k=0, who=OPERATOR)
    with pytest.raises(InvalidInput):
        nearest(session, "pxf-src", "pxf-tgt", k=None, who=OPERATOR)


@pytest.mark.parametrize("side", [1, -1], ids=["east-of-180", "west-of-180"])
def test_nearest_across_the_antimeridian(session, side):
    """Fiji: a target 2 km away across ±180° must beat the same-side ones, even when those
    fill the planar probe (degrees say the one across is 360° away)."""
    src = Point(side * 179.99, -16.5)
    across, same = Point(-side * 179.99, -16.5), Point(side * 179.5, -16.5)
    decoys = [Point(side * (179.0 + i * 0.02), -16.6) for i in range(20)]
    slug = f"am{side}"
    add_layer(session, f"{slug}-src", [(src, {"name": "s"})])
    targets = [across, same, *decoys]
    tids = add_layer(
        session, f"{slug}-tgt", [(p, {"name": f"t{i}"}) for i, p in enumerate(targets)]
    )
    ranked = sorted(
        (GEOD.inv(src.x, src.y, t.x, t.y)[2], tid) for tid, t in zip(tids, targets, strict=True)
    )
    assert ranked[0][1] == tids[0] and ranked[1][1] == tids[1]

    [nearest_row] = nearest(
        session, f"{slug}-src", f"{slug}-tgt", with_geometry=True, who=OPERATOR
    )["rows"]
    within = nearest(session, f"{slug}-src", f"{slug}-tgt", within_m=5000, k=None, who=OPERATOR)[
        "rows"
    ]
    two = nearest(session, f"{slug}-src", f"{slug}-tgt", k=2, who=OPERATOR)["rows"]

    assert nearest_row["target"]["id"] == tids[0]
    assert abs(nearest_row["distance_m"] - ranked[0][0]) <= 1.0
    # The line drawn is the short one, cut at ±180° (RFC 7946), not one across the whole map.
    line = shape(nearest_row["geometry"])
    assert line.geom_type == "MultiLineString"
    assert all(-180 <= x <= 180 for x in get_coordinates(line)[:, 0])
    assert abs(GEOD.geometry_length(line) - ranked[0][0]) <= 1.0
    assert [r["target"]["id"] for r in within] == [tids[0]]
    assert [r["target"]["id"] for r in two] == [tids[0], tids[1]]
    assert all(abs(r["distance_m"] - d) <= 1.0 for r, (d, _) in zip(two, ranked[:2], strict=True))


def test_nearest_polygon_split_at_the_antimeridian(session):
    """An island stored as a MultiPolygon split at 180° (RFC 7946), dense enough to be cut into
    pieces: its nearest part lies across 180° from the source, about 6 km away, before a point
    about 10 km away on the source's side."""
    east = box(179.95, -16.30, 180.0, -16.20)
    west = box(-180.0, -16.30, -179.95, -16.05)
    island = MultiPolygon([segmentize(east, 0.001), segmentize(west, 0.001)])
    src, same = Point(179.99, -16.0), Point(179.9, -16.0)
    add_layer(session, "amp-src", [(src, {"name": "s"})])
    island_id, same_id = add_layer(
        session, "amp-tgt", [(island, {"name": "island"}), (same, {"name": "same"})]
    )
    # Every boundary point of both parts, measured on the spheroid (Geod takes any longitude).
    boundary = get_coordinates(segmentize(island.boundary, 0.00005))
    n = len(boundary)
    expected = float(
        np.min(GEOD.inv(np.full(n, src.x), np.full(n, src.y), boundary[:, 0], boundary[:, 1])[2])
    )
    same_m = GEOD.inv(src.x, src.y, same.x, same.y)[2]
    assert expected < same_m

    rows = nearest(session, "amp-src", "amp-tgt", k=2, who=OPERATOR)["rows"]
    [within] = nearest(session, "amp-src", "amp-tgt", within_m=expected + 100, who=OPERATOR)["rows"]

    assert [r["target"]["id"] for r in rows] == [island_id, same_id]
    assert abs(rows[0]["distance_m"] - expected) <= 1.0
    assert abs(rows[1]["distance_m"] - same_m) <= 1.0
    assert within["target"]["id"] == island_id
    assert (
        session.execute(
            text("SELECT count(*) FROM feature_parts WHERE feature_id = :id"), {"id": island_id}
        ).scalar_one()
        > 1
    )
