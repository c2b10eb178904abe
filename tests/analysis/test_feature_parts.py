"""The subdivided copy (migration 0002_analysis) follows features on insert, update, delete."""

from __future__ import annotations

import pytest
from shapely.geometry import box
from sqlalchemy import text

from tests.analysis.conftest import add_layer, geod_ha
from tests.analysis.test_overlap import blob

_PARTS = """
    SELECT count(*), max(ST_NPoints(geom)), sum(area_m2) / 1e4,
           array_agg(id ORDER BY id)
      FROM feature_parts WHERE feature_id = :id
"""


def parts(session, feature_id):
    return session.execute(text(_PARTS), {"id": feature_id}).one()


def test_parts_are_small_and_cover_the_feature(session):
    park = blob(25.0, -3.0, 0.3, 5000)
    [fid] = add_layer(session, "parts-park", [(park, {"name": "park"})])

    count, most_vertices, ha, _ = parts(session, fid)

    assert count > 20
    assert most_vertices <= 256
    assert ha == pytest.approx(geod_ha(park), rel=0.005)


def test_parts_follow_updates_and_deletes(session):
    [fid] = add_layer(session, "parts-edit", [(box(25.0, -3.0, 25.1, -2.9), {"name": "a"})])
    _, _, _, ids_before = parts(session, fid)

    session.execute(text("UPDATE features SET name = 'b' WHERE id = :id"), {"id": fid})
    assert parts(session, fid)[3] == ids_before  # attribute edits leave the pieces alone

    bigger = box(25.0, -3.0, 25.2, -2.9)
    session.execute(
        text("UPDATE features SET geom = ST_GeomFromText(:wkt, 4326) WHERE id = :id"),
        {"id": fid, "wkt": bigger.wkt},
    )
    count, _, ha, ids_after = parts(session, fid)
    assert ids_after != ids_before
    assert ha == pytest.approx(geod_ha(bigger), rel=0.005)

    session.execute(text("DELETE FROM features WHERE id = :id"), {"id": fid})
    assert parts(session, fid)[0] == 0


def test_parts_of_many_rows_inserted_in_one_statement(session):
    [fid] = add_layer(session, "parts-bulk", [(box(26.0, -3.0, 26.01, -2.99), {})])
    layer_id = session.execute(
        text("SELECT layer_id FROM features WHERE id = :id"), {"id": fid}
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO features (layer_id, geom) SELECT :layer,"
            " ST_MakeEnvelope(26 + i * 0.01, -3, 26.005 + i * 0.01, -2.995, 4326)"
            " FROM generate_series(1, 500) i"
        ),
        {"layer": layer_id},
    )
    counts = session.execute(
        text(
            "SELECT (SELECT count(*) FROM features WHERE layer_id = :layer),"
            " (SELECT count(DISTINCT feature_id) FROM feature_parts WHERE layer_id = :layer)"
        ),
        {"layer": layer_id},
    ).one()
    assert counts == (501, 501)
