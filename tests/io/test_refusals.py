"""Values PostgreSQL cannot store (NUL, lone surrogates), NaN and infinite coordinates, and files
with no feature to keep: refused with the feature index and field (or the line, for text that
GDAL would silently cut), and nothing written, not even the layer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.errors import (
    BrokenFile,
    GeoServiceError,
    InvalidAttributes,
    InvalidGeometry,
    InvalidInput,
)
from geo_service.io.load import ImportOptions, import_file
from tests.io.conftest import counts

POINT = '{"type":"Point","coordinates":[-12.2,12.6]}'


def refused(
    session: Session, path: Path, error: type[GeoServiceError], kind: str | None = None
) -> GeoServiceError:
    """Import `path` into a new layer, which must fail with `error` and leave the database as
    it was: no feature, and no layer either."""
    before = counts(session)
    with pytest.raises(error) as caught:
        import_file(session, "io-refused", path, options=ImportOptions(kind=kind, who=OPERATOR))
    assert counts(session) == before
    assert session.scalar(text("SELECT count(*) FROM layers WHERE slug = 'io-refused'")) == 0
    return caught.value


def feature_collection(path: Path, *properties: str, geometry: str = POINT) -> Path:
    """A GeoJSON file of one point per `properties` (JSON object text, written as is), a
    feature per line from line 2."""
    features = ",\n".join(
        f'{{"type":"Feature","properties":{p},"geometry":{geometry}}}' for p in properties
    )
    path.write_text(f'{{"type":"FeatureCollection","features":[\n{features}\n]}}')
    return path


def geopackage_with_json(path: Path, values: list[str]) -> Path:
    """A GeoPackage whose field `meta` holds JSON (as GDAL writes GeoJSON objects), declared
    so in gpkg_data_columns: GDAL and pyogrio hand it over parsed, escapes decoded."""
    frame = gpd.GeoDataFrame(
        {"nom": [f"site {i}" for i in range(len(values))], "meta": values},
        geometry=[shapely.Point(-12.2, 12.6 + i / 10) for i in range(len(values))],
        crs=4326,
    )
    pyogrio.write_dataframe(frame, path, layer="sites")
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE gpkg_data_columns (
                table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
                description TEXT, mime_type TEXT, constraint_name TEXT,
                PRIMARY KEY (table_name, column_name));
            INSERT INTO gpkg_extensions VALUES ('gpkg_data_columns', NULL, 'gpkg_schema',
                'http://www.geopackage.org/spec121/#extension_schema', 'read-write');
            INSERT INTO gpkg_data_columns (table_name, column_name, mime_type)
                VALUES ('sites', 'meta', 'application/json');
            """
        )
    db.close()
    return path


def test_nul_and_lone_surrogates_in_json_fields(session: Session, tmp_path: Path) -> None:
    path = geopackage_with_json(
        tmp_path / "sites.gpkg",
        ['{"permit": "ok"}', '{"permit": {"holder": "Kédougou\\u0000SA"}}', '["\\ud800"]'],
    )
    error = refused(session, path, InvalidAttributes)
    assert [(e["index"], e["field"]) for e in error.errors] == [
        (1, "meta.permit.holder"),
        (2, "meta.0"),
    ]
    assert "NUL character" in error.errors[0]["message"]
    assert "lone surrogate (U+D800)" in error.errors[1]["message"]
    assert error.where == {"file": "sites.gpkg", "index": 1}
    # a domain kind validates first, then the same check
    refused(session, path, InvalidAttributes, kind="mine_site")


def test_nul_and_surrogate_escapes_in_geojson(session: Session, tmp_path: Path) -> None:
    """GDAL would cut the string at the NUL and make U+FFFD of the surrogate: refused, with
    the line and column."""
    nul = feature_collection(tmp_path / "nul.geojson", '{"nom": "ok"}', '{"nom": "Site\\u0000 B"}')
    error = refused(session, nul, BrokenFile)
    assert "the escape \\u0000 (a NUL character) at line 3, column" in str(error)
    assert error.where["line"] == 3
    lone = feature_collection(tmp_path / "lone.geojson", '{"nom": "\\uDBFF Z"}')
    assert "the escape \\uDBFF (half of a UTF-16 surrogate pair" in str(
        refused(session, lone, BrokenFile)
    )
    raw = tmp_path / "raw.csv"
    raw.write_bytes(b"nom,lon,lat\nSite\x00A,-12.2,12.6\n")
    error = refused(session, raw, BrokenFile)
    assert "a NUL character (U+0000) at line 2, column 5 (after 'Site')" in str(error)


def test_escapes_that_are_fine(session: Session, tmp_path: Path) -> None:
    """An escaped backslash before u0000 is text, and a surrogate pair is one character."""
    path = feature_collection(
        tmp_path / "fine.geojson", '{"nom": "C:\\\\u0000\\\\x"}', '{"nom": "mine \\ud83d\\ude9c"}'
    )
    import_file(session, "io-fine", path, options=ImportOptions(who=OPERATOR))
    names = session.scalars(
        text(
            "SELECT f.name FROM features f JOIN layers l ON l.id = f.layer_id "
            "WHERE l.slug = 'io-fine' ORDER BY f.id"
        )
    ).all()
    assert names == ["C:\\u0000\\x", "mine \U0001f69c"]


@pytest.mark.parametrize(
    ("row", "field", "value"),
    [("A,nan,12.6", "lon", "nan"), ("A,-12.2,Infinity", "lat", "Infinity")],
)
def test_nan_and_infinite_csv_coordinates(
    session: Session, tmp_path: Path, row: str, field: str, value: str
) -> None:
    """GDAL makes no point of them, as of an empty cell: they must not pass for one."""
    path = tmp_path / "sites.csv"
    path.write_text(f"nom,lon,lat\nB,-12.1,12.7\n{row}\n")
    error = refused(session, path, InvalidGeometry)
    assert error.where == {"file": "sites.csv", "index": 1, "field": field}
    assert f"feature 1 has the {'longitude' if field == 'lon' else 'latitude'} '{value}'" in str(
        error
    )


def test_overflowing_csv_coordinate(session: Session, tmp_path: Path) -> None:
    """-1e999 overflows to -infinity, of which GDAL does make a point."""
    path = tmp_path / "sites.csv"
    path.write_text("nom,lon,lat\nB,-12.1,12.7\nA,-1e999,12.6\n")
    error = refused(session, path, InvalidGeometry)
    assert error.where == {"file": "sites.csv", "index": 1}
    assert "Invalid Coordinate[-inf 12.6]" in str(error)


def test_nan_coordinates_in_geometries(session: Session, tmp_path: Path) -> None:
    wkt = tmp_path / "zones.csv"
    wkt.write_text('nom,wkt\nA,"POINT (-12 12)"\nB,"LINESTRING (-12 12, nan 12.5)"\n')
    error = refused(session, wkt, InvalidGeometry)
    assert error.where == {"file": "zones.csv", "index": 1}
    assert "not a finite number" in str(error)
    infinite = feature_collection(
        tmp_path / "inf.geojson",
        '{"nom": "far"}',
        geometry='{"type":"Point","coordinates":[Infinity,12]}',
    )
    assert "feature 0 has a coordinate that is not a finite number" in str(
        refused(session, infinite, InvalidGeometry)
    )


def test_projected_nan_is_not_taken_for_a_crs_problem(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "utm.gpkg"
    frame = gpd.GeoDataFrame(
        {"nom": ["A", "B"]},
        geometry=[shapely.Point(500_000, 1_326_000), shapely.Point(float("nan"), 1_326_000)],
        crs="EPSG:32629",
    )
    pyogrio.write_dataframe(frame, path, layer="sites")
    error = refused(session, path, InvalidGeometry)
    assert error.where == {"file": "utm.gpkg", "index": 1}


def test_no_features_to_import(session: Session, tmp_path: Path) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    error = refused(session, empty, InvalidInput)
    assert "no features to import: the file holds 0 feature(s)" in str(error)
    assert error.extra == {"features": 0, "rejected": 0}
    header_only = tmp_path / "empty.csv"
    header_only.write_text("nom,lon,lat\n")
    refused(session, header_only, InvalidInput)
    rejected = tmp_path / "rejected.csv"
    rejected.write_text("nom,lon,lat\nA,,\nB,,\n")
    error = refused(session, rejected, InvalidInput)
    assert "holds 2 feature(s) and all 2 were rejected" in str(error)
    assert "missing or unreadable geometry" in str(error)
    assert error.extra == {"features": 2, "rejected": 2}
    assert [e["index"] for e in error.errors] == [0, 1]


def test_latin1_upload_is_a_problem_not_a_500(client: TestClient, tmp_path: Path) -> None:
    body = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
            f'{{"nom":"Société"}},"geometry":{POINT}}}]}}').encode("latin-1")  # fmt: skip
    response = client.post(
        "/layers/io-api-latin1/import", files={"file": ("sites.geojson", body, "application/json")}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/broken-file"
    assert problem["where"]["offset"] == body.index(b"\xe9")
    assert "not valid UTF-8" in problem["detail"]
    assert client.get("/layers/io-api-latin1").status_code == 404
