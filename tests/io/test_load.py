"""Imports of real files: every format and CRS, areas checked against pyproj.Geod, repair and
strict rejection, upserts, and atomicity (nothing written when anything is wrong)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.errors import InvalidAttributes, InvalidCRS, InvalidInput
from geo_service.io.load import ImportOptions, import_file
from tests.io.conftest import CUSTOM_TM, geodesic_ha, lonlat_polygons, tm_polygons


def stored(session: Session, slug: str) -> list[tuple]:
    """(name, properties, area in ha from PostGIS geography, geometry) per feature, by id."""
    return session.execute(
        text(
            "SELECT f.name, f.properties, ST_Area(f.geom::geography) / 10000, ST_AsText(f.geom) "
            "FROM features f JOIN layers l ON l.id = f.layer_id WHERE l.slug = :s ORDER BY f.id"
        ),
        {"s": slug},
    ).all()


def test_shapefile_in_custom_wkt_crs_is_reprojected(session: Session, shapefile_zip: Path) -> None:
    summary = import_file(
        session, "io-shp-tm", shapefile_zip, options=ImportOptions(kind="concession", who=OPERATOR)
    )
    assert summary["imported"] == 3 and summary["repaired"] == [] and summary["rejected"] == []
    rows = stored(session, "io-shp-tm")
    source = tm_polygons()
    assert [r[0] for r in rows] == ["Kéniéba", "Sadiola", "Loulo"]  # NOM names them
    assert rows[0][1]["code"] == "PE-001"
    assert rows[2][3].startswith("MULTIPOLYGON")
    for (_, _, area_ha, _), geom in zip(rows, source.geometry, strict=True):
        expected = geodesic_ha(geom, CUSTOM_TM)
        assert area_ha == pytest.approx(expected, rel=1e-3)
    # and the squares are where the CRS says: 1 km square ~ 100 ha, 2 km ~ 400 ha
    assert rows[0][2] == pytest.approx(100, rel=0.01) and rows[1][2] == pytest.approx(400, rel=0.01)


def test_geopackage_table_is_chosen_and_reprojected(session: Session, geopackage: Path) -> None:
    with pytest.raises(InvalidInput, match="zones, sites|sites, zones"):
        import_file(session, "io-gpkg-none", geopackage, options=ImportOptions(who=OPERATOR))
    summary = import_file(
        session,
        "io-gpkg-zones",
        geopackage,
        options=ImportOptions(table="zones", kind="asm_zone", who=OPERATOR),
    )
    assert summary["imported"] == 2
    rows = stored(session, "io-gpkg-zones")
    for row, geom in zip(rows, lonlat_polygons().geometry, strict=True):
        assert row[2] == pytest.approx(geodesic_ha(geom), rel=1e-3)
    import_file(
        session,
        "io-gpkg-sites",
        geopackage,
        options=ImportOptions(table="sites", kind="mine_site", who=OPERATOR),
    )
    sites = stored(session, "io-gpkg-sites")
    assert [s[0] for s in sites] == ["Djoulafoundou", "Tabakoto"]
    point = shapely.from_wkt(sites[0][3])
    assert (point.x, point.y) == pytest.approx((-8.5, 12.05), abs=1e-7)  # back from UTM 29N
    assert sites[0][1]["workers"] == 120


def test_geojson_bowtie_is_repaired_with_reason(session: Session, bowtie_geojson: Path) -> None:
    summary = import_file(session, "io-bowtie", bowtie_geojson, options=ImportOptions(who=OPERATOR))
    assert summary["imported"] == 2 and summary["rejected"] == []
    assert [r["index"] for r in summary["repaired"]] == [1]
    assert "Self-intersection" in summary["repaired"][0]["reason"]
    rows = stored(session, "io-bowtie")
    source = gpd.read_file(bowtie_geojson).geometry
    assert rows[0][2] == pytest.approx(geodesic_ha(source[0]), rel=1e-3)
    # the bow tie is two triangles: its repaired area is their geodesic area
    assert rows[1][2] == pytest.approx(geodesic_ha(shapely.make_valid(source[1])), rel=1e-3)
    assert shapely.from_wkt(rows[1][3]).is_valid


def test_strict_rejects_invalid_geometry(session: Session, bowtie_geojson: Path) -> None:
    summary = import_file(
        session,
        "io-bowtie-strict",
        bowtie_geojson,
        options=ImportOptions(strict=True, who=OPERATOR),
    )
    assert summary["imported"] == 1 and summary["repaired"] == []
    assert summary["rejected"][0]["index"] == 1
    assert "Self-intersection" in summary["rejected"][0]["reason"]
    assert [r[0] for r in stored(session, "io-bowtie-strict")] == ["good"]


def test_csv_lonlat_and_wkt(session: Session, csv_lonlat: Path, csv_wkt: Path) -> None:
    import_file(
        session, "io-csv-points", csv_lonlat, options=ImportOptions(kind="mine_site", who=OPERATOR)
    )
    points = stored(session, "io-csv-points")
    assert [p[3] for p in points] == ["POINT(-8.5 12.05)", "POINT(-8.45 12.1)"]
    assert points[0][1]["workers"] == 30 and "workers" not in points[1][1]
    import_file(session, "io-csv-wkt", csv_wkt, options=ImportOptions(who=OPERATOR))
    rows = stored(session, "io-csv-wkt")
    for row, geom in zip(rows, lonlat_polygons().geometry, strict=True):
        assert row[2] == pytest.approx(geodesic_ha(geom), rel=1e-3)


def test_csv_in_declared_crs(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "utm.csv"
    path.write_text("name,x,y\nA,500000,1326000\n")
    with pytest.raises(InvalidCRS):  # UTM metres taken for degrees: refused, not stored
        import_file(session, "io-csv-utm", path, options=ImportOptions(who=OPERATOR))
    import_file(session, "io-csv-utm", path, options=ImportOptions(crs="EPSG:32629", who=OPERATOR))
    point = shapely.from_wkt(stored(session, "io-csv-utm")[0][3])
    assert point.x == pytest.approx(-9.0, abs=1e-6) and 11.9 < point.y < 12.0


def test_kml(session: Session, kml: Path) -> None:
    summary = import_file(session, "io-kml", kml, options=ImportOptions(who=OPERATOR))
    assert summary["imported"] == 2
    rows = stored(session, "io-kml")
    assert [r[0] for r in rows] == ["Zone A", "Zone B"]
    assert rows[0][1]["status"] == "draft"
    assert not {"tessellate", "extrude", "visibility"} & set(rows[0][1])
    for row, geom in zip(rows, lonlat_polygons().geometry, strict=True):
        assert row[2] == pytest.approx(geodesic_ha(geom), rel=1e-3)


def test_name_field_and_mixed_geometries(session: Session, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"label": ["a point", "a line", "a polygon"]},
        geometry=[shapely.Point(-8, 12), shapely.LineString([(-8, 12), (-7.9, 12.1)]), box(-8, 12, -7.9, 12.1)],
        crs=4326,
    )  # fmt: skip
    path = tmp_path / "mixed.gpkg"
    pyogrio.write_dataframe(frame, path, layer="mixed", geometry_type="Unknown")
    summary = import_file(
        session, "io-mixed", path, options=ImportOptions(name_field="label", who=OPERATOR)
    )
    assert summary["imported"] == 3
    rows = stored(session, "io-mixed")
    assert [r[0] for r in rows] == ["a point", "a line", "a polygon"]
    assert [r[3].split("(")[0] for r in rows] == ["POINT", "LINESTRING", "POLYGON"]


def test_upsert_updates_instead_of_duplicating(
    session: Session, shapefile_zip: Path, tmp_path: Path
) -> None:
    options = ImportOptions(kind="concession", upsert_key="code", who=OPERATOR)
    first = import_file(session, "io-upsert", shapefile_zip, options=options)
    assert (first["inserted"], first["updated"]) == (3, 0)
    changed = tm_polygons()
    changed.loc[0, "NOM"] = "Kéniéba Nord"
    changed = changed.iloc[[0]]
    folder = tmp_path / "again"
    folder.mkdir()
    pyogrio.write_dataframe(changed, folder / "titres.gpkg", layer="titres")
    second = import_file(session, "io-upsert", folder / "titres.gpkg", options=options)
    assert (second["inserted"], second["updated"]) == (0, 1)
    rows = stored(session, "io-upsert")
    assert len(rows) == 3
    assert sorted(r[0] for r in rows) == ["Kéniéba Nord", "Loulo", "Sadiola"]


def test_bad_attributes_fail_the_whole_import(session: Session, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"name": ["ok", "bad"], "status": ["active", "flying"]},
        geometry=[box(-8, 12, -7.9, 12.1), box(-7.8, 12, -7.7, 12.1)],
        crs=4326,
    )
    path = tmp_path / "titles.geojson"
    pyogrio.write_dataframe(frame, path)
    with pytest.raises(InvalidAttributes) as caught:
        import_file(
            session, "io-bad-attrs", path, options=ImportOptions(kind="concession", who=OPERATOR)
        )
    assert caught.value.where == {"file": "titles.geojson", "index": 1}
    assert caught.value.errors[0]["field"] == "status"
    assert stored(session, "io-bad-attrs") == []


def test_chunks_keep_each_feature_with_its_geometry_and_index(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Features are checked and written a chunk at a time: with chunks of 3, a repair, a
    missing geometry and a bad attribute in later chunks are named by their index in the file,
    and every stored feature has its own name, attributes and geometry."""
    import geo_service.io.load as load

    monkeypatch.setattr(load, "CHUNK", 3)
    squares = [box(-8 + i * 0.01, 12, -7.995 + i * 0.01, 12.005) for i in range(11)]
    bowtie = shapely.Polygon([(-7.9, 12), (-7.89, 12.01), (-7.89, 12), (-7.9, 12.01)])
    geoms: list = [*squares[:4], bowtie, *squares[5:7], None, *squares[8:]]
    frame = gpd.GeoDataFrame(
        {"name": [f"f{i}" for i in range(11)], "rank": list(range(11))},
        geometry=geoms,
        crs="EPSG:4326",
    )
    path = tmp_path / "chunks.gpkg"
    pyogrio.write_dataframe(frame, path, layer="chunks")
    summary = import_file(session, "io-chunks", path, options=ImportOptions(who=OPERATOR))
    assert summary["imported"] == 10
    assert [r["index"] for r in summary["repaired"]] == [4]
    assert [r["index"] for r in summary["rejected"]] == [7]
    rows = stored(session, "io-chunks")
    assert [r[0] for r in rows] == [f"f{i}" for i in range(11) if i != 7]
    for name, props, area_ha, wkt in rows:
        i = int(name[1:])
        assert props["rank"] == i
        expected = shapely.make_valid(geoms[i]) if i == 4 else geoms[i]
        assert area_ha == pytest.approx(geodesic_ha(expected), rel=1e-6)
        assert shapely.from_wkt(wkt).centroid.equals_exact(expected.centroid, 1e-9)

    # A concession's bad attribute in the third chunk fails the whole file, by its index.
    frame["status"] = ["active"] * 8 + ["Force majeure?"] + ["active"] * 2
    frame.loc[7, "geometry"] = squares[7]
    bad = tmp_path / "bad.gpkg"
    pyogrio.write_dataframe(frame, bad, layer="bad")
    with pytest.raises(InvalidAttributes) as refused:
        import_file(
            session, "io-chunks-bad", bad, options=ImportOptions(kind="concession", who=OPERATOR)
        )
    assert [e["index"] for e in refused.value.errors] == [8]
    assert stored(session, "io-chunks-bad") == []
