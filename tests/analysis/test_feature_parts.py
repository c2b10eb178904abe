"""Pieces for analyses (migration 0002_analysis): features of more than 256 vertices are cut
into `feature_parts`, smaller ones are read whole through the view `feature_pieces`; both follow
features on insert, update, delete."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon, box
from sqlalchemy import text

from geo_service.domain.access import OPERATOR
from geo_service.io.load import ImportOptions, import_file
from tests.analysis.conftest import add_layer, geod_ha
from tests.analysis.test_overlap import blob

_PIECES = """
    SELECT count(*), max(ST_NPoints(geom)), sum(area_m2) / 1e4,
           array_agg(id ORDER BY id)
      FROM feature_parts WHERE feature_id = :id
"""
_VIEW = """
    SELECT count(*), max(ST_NPoints(geom)), sum(area_m2) / 1e4
      FROM feature_pieces WHERE feature_id = :id
"""


def parts(session, feature_id):
    return session.execute(text(_PIECES), {"id": feature_id}).one()


def pieces(session, feature_id):
    return session.execute(text(_VIEW), {"id": feature_id}).one()


def test_large_features_are_cut_into_small_parts_that_cover_them(session):
    park = blob(25.0, -3.0, 0.3, 5000)
    [fid] = add_layer(session, "parts-park", [(park, {"name": "park"})])

    count, most_vertices, ha, _ = parts(session, fid)

    assert count > 20
    assert most_vertices <= 256
    assert ha == pytest.approx(geod_ha(park), rel=0.005)
    assert pieces(session, fid) == pytest.approx((count, most_vertices, ha))


def test_small_features_are_read_whole_through_the_view(session):
    square = box(25.0, -3.0, 25.1, -2.9)
    [fid] = add_layer(session, "parts-small", [(square, {"name": "a"})])

    assert parts(session, fid)[0] == 0
    count, vertices, ha = pieces(session, fid)
    assert (count, vertices) == (1, 5)
    assert ha == pytest.approx(geod_ha(square), rel=0.005)


def test_small_invalid_features_are_cut_made_valid(session):
    bowtie = Polygon([(25.0, -3.0), (25.1, -2.9), (25.1, -3.0), (25.0, -2.9)])
    [fid] = add_layer(session, "parts-bowtie", [(bowtie, {"name": "bowtie"})])

    count, _, ha, _ = parts(session, fid)

    assert count >= 1
    assert pieces(session, fid) == pytest.approx(parts(session, fid)[:3])
    assert ha == pytest.approx(geod_ha(shapely.make_valid(bowtie)), rel=0.005)


def test_pieces_follow_updates_and_deletes(session):
    small = box(25.0, -3.0, 25.1, -2.9)
    [fid] = add_layer(session, "parts-edit", [(blob(25.0, -3.0, 0.1, 1000), {"name": "a"})])
    _, _, _, ids_before = parts(session, fid)

    session.execute(text("UPDATE features SET name = 'b' WHERE id = :id"), {"id": fid})
    assert parts(session, fid)[3] == ids_before  # attribute edits leave the pieces alone

    bigger = blob(25.0, -3.0, 0.2, 1000)
    set_geom = text("UPDATE features SET geom = ST_GeomFromText(:wkt, 4326) WHERE id = :id")
    session.execute(set_geom, {"id": fid, "wkt": bigger.wkt})
    count, _, ha, ids_after = parts(session, fid)
    assert set(ids_after).isdisjoint(ids_before)
    assert ha == pytest.approx(geod_ha(bigger), rel=0.005)
    assert count > 1
    assert pieces(session, fid) == pytest.approx(parts(session, fid)[:3])

    session.execute(set_geom, {"id": fid, "wkt": small.wkt})  # small now: parts dropped
    assert parts(session, fid)[0] == 0
    count, vertices, ha = pieces(session, fid)
    assert (count, vertices) == (1, 5)
    assert ha == pytest.approx(geod_ha(small), rel=0.005)

    session.execute(set_geom, {"id": fid, "wkt": bigger.wkt})  # large again: cut again
    assert parts(session, fid)[2] == pytest.approx(geod_ha(bigger), rel=0.005)
    assert pieces(session, fid)[2] == pytest.approx(geod_ha(bigger), rel=0.005)

    session.execute(text("DELETE FROM features WHERE id = :id"), {"id": fid})
    assert parts(session, fid)[0] == 0
    assert pieces(session, fid)[0] == 0


def test_pieces_of_many_rows_inserted_in_one_statement(session):
    [fid] = add_layer(session, "parts-bulk", [(box(26.0, -3.0, 26.01, -2.99), {})])
    layer_id = session.execute(
        text("SELECT layer_id FROM features WHERE id = :id"), {"id": fid}
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO features (layer_id, geom) SELECT :layer,"
            " CASE WHEN i % 100 = 0 THEN ST_Buffer(ST_Point(26 + i * 0.01, -3, 4326), 0.004, 200)"
            " ELSE ST_MakeEnvelope(26 + i * 0.01, -3, 26.005 + i * 0.01, -2.995, 4326) END"
            " FROM generate_series(1, 500) i"
        ),
        {"layer": layer_id},
    )
    counts = session.execute(
        text(
            "SELECT (SELECT count(*) FROM features WHERE layer_id = :layer),"
            " (SELECT count(DISTINCT feature_id) FROM feature_pieces WHERE layer_id = :layer),"
            " (SELECT count(DISTINCT feature_id) FROM feature_parts WHERE layer_id = :layer)"
        ),
        {"layer": layer_id},
    ).one()
    assert counts == (501, 501, 5)  # the five buffers of 801 vertices are cut, boxes are not


def test_an_import_says_which_features_are_whole_as_the_database_would(session, tmp_path):
    """The importer gives `whole` in its COPY instead of letting PostgreSQL test each geometry
    again (migration 0011): it must be what the trigger's expression gives, for small valid
    features, large ones and repaired ones, and the large and repaired ones must be cut."""
    bowtie = Polygon([(27.0, -3.0), (27.1, -2.9), (27.1, -3.0), (27.0, -2.9)])
    shapes = [box(27.2, -3.0, 27.3, -2.9), blob(27.5, -3.0, 0.1, 300), bowtie]
    path = tmp_path / "mixed.geojson"
    gpd.GeoDataFrame({"name": ["box", "blob", "bowtie"]}, geometry=shapes, crs=4326).to_file(path)

    summary = import_file(session, "parts-import", path, options=ImportOptions(who=OPERATOR))

    assert summary["imported"] == 3 and len(summary["repaired"]) == 1
    rows = session.execute(
        text(
            "SELECT f.name, f.whole, NOT ST_IsEmpty(f.geom) AND ST_NPoints(f.geom) <= 256"
            " AND ST_IsValid(f.geom, 0), (SELECT count(*) FROM feature_parts p"
            " WHERE p.feature_id = f.id)"
            " FROM features f JOIN layers l ON l.id = f.layer_id"
            " WHERE l.slug = 'parts-import' ORDER BY f.id"
        )
    ).all()
    assert [(name, whole) for name, whole, _, _ in rows] == [
        ("box", True), ("blob", False), ("bowtie", True)
    ]  # fmt: skip
    assert all(whole == expected for _, whole, expected, _ in rows)
    assert [cut > 0 for _, whole, _, cut in rows] == [False, True, False]
