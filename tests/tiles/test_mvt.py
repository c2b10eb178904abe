"""Vector tiles from ST_AsMVT, decoded with mapbox-vector-tile and checked against shapely."""

from __future__ import annotations

import math
import random

import mapbox_vector_tile
import morecantile
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely import box
from shapely.geometry import Point, Polygon, mapping, shape

from geo_service.domain.access import OPERATOR
from geo_service.errors import NotFound
from geo_service.store import catalog
from geo_service.store import layers as store
from geo_service.tiles import mvt

TMS = morecantile.tms.get("WebMercatorQuad")
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True).transform
HOLDERS = ["Société des Mines du Mandé SA", "Coopérative aurifère de Kangaba", "Sahel Minerals"]
STATUSES = ["active", "application", "expired"]


def transform(project, geom):
    """`geom` with its coordinates passed through `project(x, y)`."""
    return shapely.transform(geom, lambda c: np.column_stack(project(c[:, 0], c[:, 1])))


def tile_box(tile: morecantile.Tile):
    """The tile's square in EPSG:3857 metres, from morecantile (independent of PostGIS)."""
    b = TMS.xy_bounds(tile)
    return box(b.left, b.bottom, b.right, b.top)


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data) if data else {}


def rectangle(lon: float, lat: float, w: float, h: float) -> dict:
    return mapping(box(lon, lat, lon + w, lat + h))


@pytest.fixture
def concessions(session):
    """About 150 rectangles scattered over and around tile 9/243/238 (south-west Mali)."""
    layer = store.create_layer(session, "tiles-mvt-concessions", kind="concession", who=OPERATOR)
    rng = random.Random(5)
    tile = morecantile.Tile(243, 238, 9)
    west, south, east, north = TMS.bounds(tile)
    features = {}
    for i in range(150):
        lon = rng.uniform(west - 0.4, east + 0.2)
        lat = rng.uniform(south - 0.4, north + 0.2)
        geometry = rectangle(lon, lat, rng.uniform(0.01, 0.3), rng.uniform(0.01, 0.3))
        props = {
            "code": f"PE-{i:04d}",
            "holder": rng.choice(HOLDERS),
            "status": rng.choice(STATUSES),
            "title_type": "exploration",
            "granted": "2020-01-15",
        }
        feature = store.create_feature(
            session, layer, geometry, props, name=f"Permis {i}", who=OPERATOR
        )
        features[feature.id] = (shape(geometry), feature.name, props)
    return layer, tile, features


def test_tile_holds_exactly_the_features_that_intersect_it(session, concessions):
    layer, tile, features = concessions
    layers = catalog.lookup(session.connection(), [layer.slug], OPERATOR)
    data = mvt.render(session.connection(), layers, tile.z, tile.x, tile.y, mvt.TileQuery())
    decoded = decode(data)[layer.slug]["features"]

    square = tile_box(tile)
    expected = {
        fid
        for fid, (geom, _, _) in features.items()
        if transform(TO_MERCATOR, geom).intersects(square)
    }
    assert 0 < len(expected) < len(features)
    assert {f["id"] for f in decoded} == expected
    for f in decoded:
        _, name, props = features[f["id"]]
        assert f["properties"] == {
            "id": f["id"],
            "name": name,
            "code": props["code"],
            "holder": props["holder"],
            "status": props["status"],
            "title_type": props["title_type"],
        }


def test_geometry_is_clipped_to_the_buffer_and_placed_right(session, concessions):
    layer, tile, features = concessions
    layers = catalog.lookup(session.connection(), [layer.slug], OPERATOR)
    data = mvt.render(session.connection(), layers, tile.z, tile.x, tile.y, mvt.TileQuery())
    square = tile_box(tile)
    size = square.bounds[2] - square.bounds[0]
    for f in decode(data)[layer.slug]["features"]:
        ring = (
            f["geometry"]["coordinates"][0]
            if f["geometry"]["type"] == "Polygon"
            else f["geometry"]["coordinates"][0][0]
        )
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        assert min(xs) >= -mvt.BUFFER and max(xs) <= mvt.EXTENT + mvt.BUFFER
        assert min(ys) >= -mvt.BUFFER and max(ys) <= mvt.EXTENT + mvt.BUFFER
        # The drawn shape covers the feature's part of the tile, to within a tile unit.
        geom = transform(TO_MERCATOR, features[f["id"]][0]).intersection(square)
        unit = size / mvt.EXTENT
        left, bottom = square.bounds[0], square.bounds[1]
        tile_units = Polygon(
            [(left + x * unit, bottom + y * unit) for x, y in ring]  # decode() flips y upwards
        ).intersection(square)
        assert tile_units.symmetric_difference(geom).area <= 4 * unit * geom.length + unit**2


def test_points_in_a_tile(session):
    layer = store.create_layer(session, "tiles-mvt-sites", kind="mine_site", who=OPERATOR)
    rng = random.Random(9)
    tile = morecantile.Tile(121, 119, 8)
    west, south, east, north = TMS.bounds(tile)
    expected = {}
    for i in range(80):
        lon, lat = rng.uniform(west - 0.5, east + 0.5), rng.uniform(south - 0.5, north + 0.5)
        props = {"code": f"S{i}", "qualification": rng.choice(["green", "red"]), "workers": i}
        feature = store.create_feature(
            session, layer, mapping(Point(lon, lat)), props, who=OPERATOR
        )
        if transform(TO_MERCATOR, Point(lon, lat)).intersects(tile_box(tile)):
            expected[feature.id] = props
    layers = catalog.lookup(session.connection(), [layer.slug], OPERATOR)
    data = mvt.render(session.connection(), layers, tile.z, tile.x, tile.y, mvt.TileQuery())
    decoded = decode(data)[layer.slug]["features"]
    assert {f["id"] for f in decoded} == set(expected)
    for f in decoded:
        assert f["geometry"]["type"] == "Point"
        assert f["properties"]["qualification"] == expected[f["id"]]["qualification"]
        assert f["properties"]["code"] == expected[f["id"]]["code"]
        assert "workers" not in f["properties"]  # not a styling field, not asked for


def test_properties_can_be_chosen_and_features_filtered(session, concessions):
    layer, tile, features = concessions
    conn = session.connection()
    layers = catalog.lookup(conn, [layer.slug], OPERATOR)
    query = mvt.tile_query({"properties": "granted", "status": "active", "v": "17"})
    assert query.equalities == (("status", "active"),)  # `v` busts caches, it filters nothing
    decoded = decode(mvt.render(conn, layers, tile.z, tile.x, tile.y, query))[layer.slug]
    square = tile_box(tile)
    expected = {
        fid
        for fid, (geom, _, props) in features.items()
        if props["status"] == "active" and transform(TO_MERCATOR, geom).intersects(square)
    }
    assert {f["id"] for f in decoded["features"]} == expected
    assert all(f["properties"]["granted"] == "2020-01-15" for f in decoded["features"])
    everything = mvt.tile_query({"properties": "*", "code": "PE-0000"})
    one = decode(mvt.render(conn, layers, 0, 0, 0, everything))[layer.slug]["features"]
    assert [f["properties"]["code"] for f in one] == ["PE-0000"]
    assert set(one[0]["properties"]) == {
        "id",
        "name",
        "code",
        "holder",
        "status",
        "title_type",
        "granted",
    }


def test_lists_become_text_and_filters_match_list_members(session):
    layer = store.create_layer(session, "tiles-mvt-abandoned", kind="abandoned_mine", who=OPERATOR)
    props = {"hazards": "mercury; open_shaft", "rehabilitation": "planned"}
    feature = store.create_feature(
        session, layer, mapping(Point(-8.0, 12.0)), props, name="Old pit", who=OPERATOR
    )
    store.create_feature(
        session, layer, mapping(Point(-8.01, 12.01)), {"hazards": ["cyanide"]}, who=OPERATOR
    )
    conn = session.connection()
    layers = catalog.lookup(conn, [layer.slug], OPERATOR)
    decoded = decode(mvt.render(conn, layers, 0, 0, 0, mvt.tile_query({"hazards": "mercury"})))
    (only,) = decoded[layer.slug]["features"]
    assert only["id"] == feature.id
    assert only["properties"] == {
        "id": feature.id, "name": "Old pit", "hazards": "mercury, open_shaft",
        "rehabilitation": "planned",
    }  # fmt: skip


def test_several_layers_in_one_tile_and_reference_layers_keep_all_properties(session, concessions):
    layer, tile, _ = concessions
    rivers = store.create_layer(session, "tiles-mvt-rivers", theme="river", who=OPERATOR)
    west, south, east, north = TMS.bounds(tile)
    line = {"type": "LineString", "coordinates": [[west - 1, south + 0.1], [east + 1, north - 0.1]]}
    river = store.create_feature(
        session, rivers, line, {"name": "Niger", "strahler": 7, "navigable": True}, who=OPERATOR
    )
    conn = session.connection()
    layers = catalog.lookup(conn, [layer.slug, rivers.slug], OPERATOR)
    decoded = decode(mvt.render(conn, layers, tile.z, tile.x, tile.y, mvt.TileQuery()))
    assert list(decoded) == [layer.slug, rivers.slug]
    (feature,) = decoded[rivers.slug]["features"]
    assert feature["properties"] == {
        "id": river.id,
        "name": "Niger",
        "strahler": 7,
        "navigable": True,
    }
    assert feature["geometry"]["type"] == "LineString"


def test_geometry_is_simplified_to_the_zoom(session):
    layer = store.create_layer(session, "tiles-mvt-park", kind="reference", who=OPERATOR)
    ring = [
        (-8 + 0.5 * math.cos(a) * (1 + 0.01 * math.sin(40 * a)), 12 + 0.5 * math.sin(a))
        for a in (2 * math.pi * i / 20000 for i in range(20000))
    ]
    store.create_feature(session, layer, mapping(Polygon(ring)), {"name": "Parc"}, who=OPERATOR)
    conn = session.connection()
    layers = catalog.lookup(conn, [layer.slug], OPERATOR)

    def vertices(z: int) -> int:
        tile = TMS.tile(-8.0, 12.0, z)
        (f,) = decode(mvt.render(conn, layers, z, tile.x, tile.y, mvt.TileQuery()))[layer.slug][
            "features"
        ]
        return len(f["geometry"]["coordinates"][0])

    assert vertices(2) < 50 < vertices(5) < vertices(8) < 1000  # of 20,000 stored


def test_empty_tile_is_empty_bytes(session, concessions):
    layer, _, _ = concessions
    layers = catalog.lookup(session.connection(), [layer.slug], OPERATOR)
    assert mvt.render(session.connection(), layers, 9, 0, 0, mvt.TileQuery()) == b""


def test_tiles_outside_the_matrix_are_not_found():
    with pytest.raises(NotFound):
        mvt.check_tile(3, 8, 0, 22)
    with pytest.raises(NotFound):
        mvt.check_tile(23, 0, 0, 22)
    mvt.check_tile(3, 7, 7, 22)
