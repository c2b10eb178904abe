"""Layers API: create, list, describe, rename, delete; imports over HTTP (sync, as a job, and
refused ones that leave the layer unchanged); exports in every format; search."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.transform import from_origin
from sqlalchemy import Engine, text

from geo_service.api.app import create_app
from geo_service.settings import Settings
from tests.conftest import bearer
from tests.io import conftest as files
from tests.io.conftest import CUSTOM_TM, geodesic_ha, tm_polygons

# The io tests' file fixtures, shared here.
shapefile_zip = files.shapefile_zip
bowtie_geojson = files.bowtie_geojson


def count(engine: Engine, slug: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM features f JOIN layers l ON l.id = f.layer_id WHERE l.slug = :s"),
            {"s": slug},
        ).scalar_one()  # fmt: skip


def upload(client: TestClient, slug: str, path: Path, **fields: str):
    with path.open("rb") as f:
        return client.post(f"/layers/{slug}/import", files={"file": (path.name, f)}, data=fields)


def test_layer_lifecycle(client: TestClient) -> None:
    created = client.post("/layers", json={"slug": "api-life", "title": "Life", "kind": "asm_zone"})
    assert created.status_code == 201 and created.json()["feature_count"] == 0
    assert client.post("/layers", json={"slug": "api-life"}).status_code == 409
    assert client.post("/layers", json={"slug": "Bad Slug"}).status_code == 400
    assert "api-life" in [layer["slug"] for layer in client.get("/layers").json()]
    renamed = client.patch("/layers/api-life", json={"slug": "api-life-2", "title": "Renamed"})
    assert renamed.json()["slug"] == "api-life-2" and renamed.json()["title"] == "Renamed"
    assert client.get("/layers/api-life").status_code == 404
    assert client.delete("/layers/api-life-2").status_code == 204
    assert client.get("/layers/api-life-2").json()["status"] == 404


def test_import_describes_the_layer(client: TestClient, shapefile_zip: Path) -> None:
    response = upload(client, "api-titles", shapefile_zip, kind="concession", upsert_key="code")
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 3
    layer = client.get("/layers/api-titles").json()
    assert layer["kind"] == "concession" and layer["feature_count"] == 3
    assert layer["geometry_types"] == ["MultiPolygon", "Polygon"]
    assert {"code", "NOM", "surface"} <= set(layer["attributes"])
    minx, miny, maxx, maxy = layer["extent"]
    assert -8.7 < minx < maxx < -8.2 and 11.9 < miny < maxy < 12.2
    again = upload(client, "api-titles", shapefile_zip, upsert_key="code").json()
    assert (again["inserted"], again["updated"]) == (0, 3)
    assert client.get("/layers/api-titles").json()["feature_count"] == 3


def test_refused_imports_leave_the_layer_unchanged(
    client: TestClient,
    engine: Engine,
    database_url: str,
    bowtie_geojson: Path,
    tmp_path: Path,
    keys: dict[str, str],
) -> None:
    assert upload(client, "api-atomic", bowtie_geojson).status_code == 200
    before = count(engine, "api-atomic")
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    response = upload(client, "api-atomic", broken)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["where"]["file"] == "broken.gpkg"
    unknown = tmp_path / "notes.txt"
    unknown.write_text("not a map")
    response = upload(client, "api-atomic", unknown)
    assert response.status_code == 415 and "notes.txt" in response.json()["detail"]
    wrong_kind = upload(client, "api-atomic", bowtie_geojson, kind="mine_site")
    assert wrong_kind.status_code == 409
    big = tmp_path / "big.geojson"
    big.write_bytes(b'{"type": "FeatureCollection", "features": []}' + b" " * (2 * 2**20))
    settings = Settings()
    settings.api.max_upload_mb = 1
    with TestClient(create_app(database_url, settings), headers=bearer(keys["admin"])) as small:
        response = upload(small, "api-atomic", big)
    assert response.status_code == 413 and response.json()["title"] == "Upload too large"
    assert count(engine, "api-atomic") == before


def test_attribute_error_names_the_feature(
    client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    frame = tm_polygons()
    frame["status"] = ["active", "granted-ish", "expired"]
    path = tmp_path / "titles.gpkg"
    pyogrio.write_dataframe(frame, path, layer="titles")
    response = upload(client, "api-bad-titles", path, kind="concession")
    assert response.status_code == 422
    body = response.json()
    assert body["where"] == {"file": "titles.gpkg", "index": 1}
    assert body["errors"][0]["field"] == "status"
    assert count(engine, "api-bad-titles") == 0
    assert client.get("/layers/api-bad-titles").status_code == 404  # not even the layer


def test_async_import_is_a_job(client: TestClient, shapefile_zip: Path) -> None:
    response = client.post(
        "/layers/api-async/import?async=true",
        files={"file": (shapefile_zip.name, shapefile_zip.read_bytes())},
    )
    assert response.status_code == 202
    href = response.json()["href"]
    deadline = time.monotonic() + 60
    while (job := client.get(href).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["result"]["imported"] == 3
    assert client.get("/layers/api-async").json()["feature_count"] == 3


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv", "kml"])
def test_export_keeps_geometry_and_attributes(
    client: TestClient, shapefile_zip: Path, tmp_path: Path, fmt: str
) -> None:
    upload(client, "api-export", shapefile_zip, upsert_key="code")
    response = client.get(f"/layers/api-export/export?format={fmt}")
    assert response.status_code == 200, response.text
    suffix = {"shp": ".zip"}.get(fmt, f".{fmt}")
    path = tmp_path / f"out{suffix}"
    path.write_bytes(response.content)
    options = {"GEOM_POSSIBLE_NAMES": "wkt", "KEEP_GEOM_COLUMNS": "NO"} if fmt == "csv" else {}
    frame = pyogrio.read_dataframe(path, **options)
    if frame.crs is None:
        frame = frame.set_crs(4326)
    assert len(frame) == 3
    assert sorted(frame["code"]) == ["PE-001", "PE-002", "PE-003"]
    if fmt == "geojson":  # the id is the Feature's own id, not a property
        assert all(isinstance(f["id"], int) for f in response.json()["features"])
        assert {"name", "NOM", "surface"} <= set(frame.columns)
    elif fmt != "kml":  # KML: the name is the placemark's, the rest ExtendedData
        assert {"id", "name", "NOM", "surface"} <= set(frame.columns)
    source = tm_polygons().set_index("code")
    for code, geom in zip(frame["code"], frame.geometry, strict=True):
        assert geodesic_ha(geom) == pytest.approx(
            geodesic_ha(source.geometry[code], CUSTOM_TM), rel=1e-3
        )


def test_export_with_bbox_and_filter(client: TestClient, shapefile_zip: Path) -> None:
    upload(client, "api-export-filter", shapefile_zip)
    by_code = client.get("/layers/api-export-filter/export?format=csv&code=PE-002")
    assert by_code.text.count("PE-00") == 1 and "PE-002" in by_code.text
    west = client.get("/layers/api-export-filter/export?format=geojson&bbox=-8.7,11.9,-8.6,12.0")
    assert [f["properties"]["code"] for f in west.json()["features"]] == ["PE-001"]
    assert client.get("/layers/api-export-filter/export?format=dxf").status_code == 415


def test_geotiff_becomes_a_raster_layer(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "forest.tif"
    data = np.arange(256 * 256, dtype="uint16").reshape(256, 256)
    with rasterio.open(
        path, "w", driver="GTiff", width=256, height=256, count=1, dtype="uint16",
        crs="EPSG:32629", transform=from_origin(400_000, 1_400_000, 30, 30),
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    response = upload(client, "api-forest", path)
    assert response.status_code == 200, response.text
    layer = client.get("/layers/api-forest").json()
    assert layer["storage"] == "raster" and layer["raster"]["width"] == 256
    with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        stored = conn.execute(
            text("SELECT raster_path FROM layers WHERE slug = 'api-forest'")
        ).scalar_one()
    assert Path(stored).is_absolute() and stored.endswith("/rasters/api-forest.tif")
    with rasterio.open(stored) as src:
        assert src.profile["tiled"] and (src.read(1) == data).all()
        assert src.overviews(1) or src.width <= 512
    minx, miny, maxx, maxy = layer["extent"]
    assert -10 < minx < maxx < -9 and 12 < miny < maxy < 13
    assert upload(client, "api-titles-r", path).status_code == 200
    assert client.delete("/layers/api-titles-r").status_code == 204


def test_search_ignores_case_and_accents(client: TestClient, shapefile_zip: Path) -> None:
    upload(client, "api-search", shapefile_zip)
    results = client.get("/search?q=KENIEBA").json()["results"]
    hit = next(r for r in results if r["layer"] == "api-search")
    assert hit["name"] == "Kéniéba" and hit["code"] == "PE-001"
    lon, lat = hit["center"]
    minx, miny, maxx, maxy = hit["bbox"]
    assert minx <= lon <= maxx and miny <= lat <= maxy
    by_code = client.get("/search?q=pe-003").json()["results"]
    assert any(r["layer"] == "api-search" and r["name"] == "Loulo" for r in by_code)
    assert client.get("/search?q=100%25").json()["results"] == []  # % is text, not a wildcard


def test_shapefile_zip_detected_without_shapefile(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "empty.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "nothing")
    assert upload(client, "api-empty-zip", path).status_code == 415
    assert gpd is not None
