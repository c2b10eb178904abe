"""FlatGeobuf and GeoParquet both ways: files written by geopandas are imported, exported over
HTTP and the CLI, and read back by geopandas as they were (shapely for shapes, pyproj.Geod for
areas); broken or non-geographic Parquet is refused with a problem that names the file."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from geo_service import cli
from geo_service.io.formats import detect, export_format
from tests.io.conftest import counts, geodesic_ha

UTM29 = "EPSG:32629"


def titles() -> gpd.GeoDataFrame:
    """Three titles in UTM 29N (metres): a 1 km square, a 2 x 1.5 km rectangle, two parts."""
    return gpd.GeoDataFrame(
        {
            "code": ["PE-1", "PE-2", "PR-3"],
            "holder": ["Société Minière de Kédougou", "Œuvre « l’Orpailleur »", None],
            "workers": [120, None, 7],
            "granted": ["2019-07-14", "2021-01-02", None],
        },
        geometry=[
            box(500_000, 1_380_000, 501_000, 1_381_000),
            box(510_000, 1_390_000, 512_000, 1_391_500),
            MultiPolygon([box(520_000, 1_370_000, 520_500, 1_370_500),
                          box(521_000, 1_370_000, 521_500, 1_370_500)]),
        ],
        crs=UTM29,
    )  # fmt: skip


def write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path, driver="FlatGeobuf")
    return path


def upload(client: TestClient, slug: str, path: Path, **fields: str):
    with path.open("rb") as f:
        return client.post(f"/layers/{slug}/import", files={"file": (path.name, f)}, data=fields)


def read_back(content: bytes, path: Path) -> gpd.GeoDataFrame:
    path.write_bytes(content)
    frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    return frame.sort_values("code").reset_index(drop=True)


@pytest.mark.parametrize(("suffix", "fmt"), [(".fgb", "fgb"), (".parquet", "parquet")])
def test_round_trip_over_http(client: TestClient, tmp_path: Path, suffix: str, fmt: str) -> None:
    source = write(titles(), tmp_path / f"titres{suffix}")
    assert detect(source) == fmt
    slug = f"cloud-{fmt}"
    response = upload(client, slug, source, kind="concession")
    assert response.status_code == 200, response.text
    assert response.json()["format"] == fmt and response.json()["imported"] == 3

    exported = client.get(f"/layers/{slug}/export", params={"format": fmt})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == export_format(fmt).media_type
    frame = read_back(exported.content, tmp_path / f"out{suffix}")
    assert frame.crs.equals(pyproj.CRS.from_epsg(4326))
    assert frame["code"].tolist() == ["PE-1", "PE-2", "PR-3"]
    assert frame["holder"].tolist()[:2] == ["Société Minière de Kédougou", "Œuvre « l’Orpailleur »"]
    assert {"id", "name", "granted"} <= set(frame.columns)
    expected = titles().to_crs(4326)
    for got, want, original in zip(frame.geometry, expected.geometry, titles().geometry,
                                   strict=True):  # fmt: skip
        # the same shape (FlatGeobuf holds one geometry type: polygons come back multi)
        assert shapely.hausdorff_distance(got, want) < 1e-7  # degrees: about 1 cm
        # the 1 km square is 100 ha on the ellipsoid, whatever the code computes
        assert geodesic_ha(got) == pytest.approx(geodesic_ha(original, UTM29), rel=1e-6)
    assert geodesic_ha(frame.geometry[0]) == pytest.approx(100, rel=2e-3)


def test_export_format_aliases_and_cli_suffixes(
    client: TestClient, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert upload(client, "cloud-alias", write(titles(), tmp_path / "t.fgb")).status_code == 200
    for alias in ("flatgeobuf", "geoparquet"):
        response = client.get("/layers/cloud-alias/export", params={"format": alias})
        assert response.status_code == 200, response.text
    monkeypatch.setattr(cli, "session_scope", lambda: Session(engine, expire_on_commit=False))
    runner = CliRunner()
    for suffix in (".fgb", ".parquet"):
        out = tmp_path / f"cli-out{suffix}"
        result = runner.invoke(cli.app, ["export", str(out), "--layer", "cloud-alias"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["format"] == suffix[1:]
        frame = read_back(out.read_bytes(), out)
        assert frame["code"].tolist() == ["PE-1", "PE-2", "PR-3"]


def test_geoparquet_keeps_types_and_crs(session: Session, tmp_path: Path) -> None:
    """Integers with empty values stay integers; the CRS of the GeoParquet metadata is used."""
    from geo_service.domain.access import OPERATOR
    from geo_service.io.load import ImportOptions, import_file

    path = write(titles(), tmp_path / "typed.parquet")
    import_file(session, "cloud-typed", path, options=ImportOptions(who=OPERATOR))
    from sqlalchemy import text

    rows = session.execute(
        text("SELECT f.properties, ST_Area(f.geom::geography) / 10000 FROM features f "
             "JOIN layers l ON l.id = f.layer_id WHERE l.slug = 'cloud-typed' ORDER BY f.id")
    ).all()  # fmt: skip
    assert [r[0].get("workers") for r in rows] == [120, None, 7]
    assert rows[0][1] == pytest.approx(geodesic_ha(titles().geometry[0], UTM29), rel=1e-6)


def test_parquet_without_geometry_or_broken(
    client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    plain = tmp_path / "table.parquet"
    pq.write_table(pa.table({"code": ["PE-1"], "x": [1.0]}), plain)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\x00" * 64)
    with Session(engine) as s:
        before = counts(s)
    said = upload(client, "cloud-bad", plain)
    assert said.status_code == 400, said.text
    assert "table.parquet" in said.json()["detail"] and "GeoParquet" in said.json()["detail"]
    said = upload(client, "cloud-bad", broken)
    assert said.status_code == 422 and "broken.parquet" in said.json()["detail"]
    fgb = tmp_path / "broken.fgb"
    fgb.write_bytes(b"fgb\x03fgb\x00" + b"\xff" * 32)
    said = upload(client, "cloud-bad", fgb)
    assert said.status_code in (400, 422) and "broken.fgb" in said.json()["detail"]
    with Session(engine) as s:
        assert counts(s) == before
