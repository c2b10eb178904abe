"""Simplified copies of large features (migration 0003_tiles) and the tiles drawn from them,
checked against shapely, pyproj and morecantile."""

from __future__ import annotations

import math

import mapbox_vector_tile
import morecantile
import pytest
import shapely
from geoalchemy2.shape import to_shape
from pyproj import Transformer
from shapely.geometry import Polygon, box, mapping
from sqlalchemy import text

from geo_service.domain.access import OPERATOR
from geo_service.store import catalog
from geo_service.store import layers as store
from geo_service.tiles import mvt
from tests.tiles.test_mvt import TMS, TO_MERCATOR, tile_box, transform

TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True).transform
BANDS = [3, 6, 9, 12]


def park(lon: float, lat: float, radius: float, vertices: int) -> Polygon:
    """A wobbly disc of `radius` degrees with that many vertices, like a digitised park."""
    return Polygon(
        (
            lon + radius * math.cos(a) * (1 + 0.02 * math.sin(37 * a)),
            lat + radius * math.sin(a) * (1 + 0.01 * math.sin(211 * a)),
        )
        for a in (2 * math.pi * i / vertices for i in range(vertices))
    )


def unit(z: int) -> float:
    """One tile unit at zoom z, in EPSG:3857 metres (from morecantile's tile size)."""
    b = TMS.xy_bounds(morecantile.Tile(0, 0, z))
    return (b.right - b.left) / mvt.EXTENT


def copies(session, feature_id: int) -> dict[int, shapely.Geometry]:
    rows = session.execute(
        text(
            "SELECT maxzoom, ST_AsBinary(geom) FROM feature_simplified WHERE feature_id = :id"
            " ORDER BY maxzoom"
        ),
        {"id": feature_id},
    ).all()
    return {z: shapely.from_wkb(bytes(wkb)) for z, wkb in rows}


def tile_features(session, layer, z: int, x: int, y: int) -> dict[int, dict]:
    conn = session.connection()
    data = mvt.render(conn, catalog.lookup(conn, [layer.slug], OPERATOR), z, x, y, mvt.TileQuery())
    decoded = mapbox_vector_tile.decode(data) if data else {}
    return {f["id"]: f for f in decoded.get(layer.slug, {}).get("features", [])}


def ring_vertices(feature: dict) -> int:
    geometry = feature["geometry"]
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return sum(len(ring) for polygon in polygons for ring in polygon)


def assert_within_a_unit(copy: shapely.Geometry, geom: shapely.Geometry, z: int) -> None:
    """Every vertex of each within one unit of zoom `z` of the other (EPSG:3857)."""
    mercator = transform(TO_MERCATOR, geom)
    assert shapely.hausdorff_distance(copy.boundary, mercator.boundary) <= unit(z) * 1.000001


@pytest.fixture
def parks(session):
    layer = store.create_layer(
        session, "tiles-simplified-parks", theme="protected_area", who=OPERATOR
    )
    big = store.create_feature(
        session, layer, mapping(park(-8, 12, 0.5, 20000)), name="Parc", who=OPERATOR
    )
    small = store.create_feature(
        session, layer, mapping(park(-8.2, 12.1, 0.3, 10)), name="Bois", who=OPERATOR
    )
    return layer, big, small


def test_a_large_feature_gets_one_copy_per_band_within_a_unit_and_a_small_one_none(session, parks):
    _, big, small = parks
    made = copies(session, big.id)
    assert sorted(made) == BANDS
    for maxzoom, copy in made.items():
        assert copy.geom_type == "Polygon"
        assert_within_a_unit(copy, to_shape(big.geom), maxzoom)
    counts = [shapely.get_num_coordinates(made[z]) for z in BANDS]
    assert counts == sorted(counts) and counts[-1] < 20000  # finer bands keep more
    assert copies(session, small.id) == {}


def test_copies_follow_the_geometry_and_go_with_the_feature(session, parks):
    layer, big, _ = parks
    ctids = "SELECT array_agg(ctid::text ORDER BY maxzoom) FROM feature_simplified"
    ctids += " WHERE feature_id = :id"
    before = session.execute(text(ctids), {"id": big.id}).scalar()
    store.update_feature(
        session, layer, big.id, properties={"designation": "Parc national"}, who=OPERATOR
    )
    assert session.execute(text(ctids), {"id": big.id}).scalar() == before  # not redone

    moved = park(-7, 13, 0.3, 15000)
    store.update_feature(session, layer, big.id, geometry=mapping(moved), who=OPERATOR)
    made = copies(session, big.id)
    assert sorted(made) == BANDS
    for maxzoom, copy in made.items():
        assert_within_a_unit(copy, moved, maxzoom)

    store.update_feature(
        session, layer, big.id, geometry=mapping(park(-7, 13, 0.3, 40)), who=OPERATOR
    )
    assert copies(session, big.id) == {}
    store.update_feature(session, layer, big.id, geometry=mapping(moved), who=OPERATOR)
    assert sorted(copies(session, big.id)) == BANDS
    store.delete_feature(session, layer, big.id, who=OPERATOR)
    assert copies(session, big.id) == {}


def test_truncating_features_empties_the_copies(session, parks):
    session.execute(text("TRUNCATE features CASCADE"))
    assert session.execute(text("SELECT count(*) FROM feature_simplified")).scalar() == 0


def test_a_low_zoom_tile_is_drawn_from_the_copy(session, parks):
    layer, big, small = parks
    tile = TMS.tile(-8.0, 12.0, 2)
    drawn = tile_features(session, layer, tile.z, tile.x, tile.y)
    assert set(drawn) == {big.id, small.id}
    assert ring_vertices(drawn[big.id]) < 50  # of 20,000 stored
    # Swap the copy for a plain square inside the park: the z2 tile shows the square, a z6
    # tile (next band) and a z13 tile (beyond the bands) still the park.
    session.execute(
        text(
            "UPDATE feature_simplified SET geom = ST_Expand(ST_Centroid(geom), 20000)"
            " WHERE feature_id = :id AND maxzoom = 3"
        ),
        {"id": big.id},
    )
    assert ring_vertices(tile_features(session, layer, 2, tile.x, tile.y)[big.id]) == 5
    tile6 = TMS.tile(-8.0, 12.0, 6)
    assert ring_vertices(tile_features(session, layer, 6, tile6.x, tile6.y)[big.id]) > 50
    edge = TMS.tile(-8.5, 12.0, 13)
    assert ring_vertices(tile_features(session, layer, 13, edge.x, edge.y)[big.id]) > 5
    # The small polygon has no copy: drawn from itself, its 10 vertices, closed.
    assert ring_vertices(drawn[small.id]) == 11


def test_the_tile_holds_exactly_the_features_its_square_meets_even_at_its_edge(session):
    """Parks whose copy misses the tile by less than a unit are decided on their own geometry:
    one pokes a spike into the tile (in), one stops just short of it (out)."""
    layer = store.create_layer(
        session, "tiles-simplified-edges", theme="protected_area", who=OPERATOR
    )
    tile = TMS.tile(-8.0, 12.0, 3)
    square = tile_box(tile)
    west, south, east, north = square.bounds
    u = unit(3)

    def beside(gap: float, spike: float) -> Polygon:
        """A park of 1,204 vertices east of the tile, `gap` units from its edge, with one vertex
        reaching `spike` units further west (EPSG:4326)."""
        x0 = east + gap * u
        ys = [south + (north - south) * (0.2 + 0.6 * i / 1200) for i in range(1201)]
        side = [(x0 - (spike * u if i == 600 else 0), y) for i, y in enumerate(ys)]
        ring = [*side, (x0 + 300 * u, ys[-1]), (x0 + 300 * u, ys[0])]
        return transform(TO_LONLAT, Polygon(ring))

    shapes = {
        "spike in": beside(0.2, 0.5),
        "spike short": beside(0.2, 0.1),
        "far": beside(1.5, 0.0),
        "across": transform(
            TO_LONLAT, shapely.segmentize(box(east - 500 * u, south, east + 500 * u, north), u)
        ),
        "inside": park(-20, 30, 3, 2000),
    }
    features = {
        store.create_feature(session, layer, mapping(g), name=name, who=OPERATOR).id: g
        for name, g in shapes.items()
    }
    by_name = {name: fid for fid, name in zip(features, shapes, strict=True)}
    expected = {fid for fid, g in features.items() if transform(TO_MERCATOR, g).intersects(square)}
    assert {by_name["spike in"], by_name["across"], by_name["inside"]} == expected
    # The spike is gone from the copy: only the feature itself shows it is in the tile.
    spike_copy = copies(session, by_name["spike in"])[3]
    assert not spike_copy.intersects(square) and spike_copy.distance(square) < u
    assert set(tile_features(session, layer, tile.z, tile.x, tile.y)) == expected
    # Other zooms, other bands; the z7 tile lies inside "across", crossing none of its edges.
    inner = TMS.tile(1.0, 12.0, 7)
    assert tile_box(inner).within(transform(TO_MERCATOR, shapes["across"]))
    for z, lon in [(0, -8.0), (1, -8.0), (2, -8.0), (4, -8.0), (5, -8.0), (5, -1.0), (7, 1.0)]:
        t = TMS.tile(lon, 12.0, z)
        expected_z = {
            fid for fid, g in features.items() if transform(TO_MERCATOR, g).intersects(tile_box(t))
        }
        assert set(tile_features(session, layer, t.z, t.x, t.y)) == expected_z
