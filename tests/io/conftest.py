"""Real files written by pyogrio for the import tests, and the independent area reference."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

# A Transverse Mercator centred on the demo region, as bare WKT: no EPSG code anywhere.
CUSTOM_TM = """PROJCS["Custom TM Upper Niger",
GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],
PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],
PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",12],
PARAMETER["central_meridian",-8.5],PARAMETER["scale_factor",0.9996],
PARAMETER["false_easting",500000],PARAMETER["false_northing",100000],UNIT["metre",1]]"""
GEOD = pyproj.Geod(ellps="WGS84")


def geodesic_ha(geom: BaseGeometry, crs: str = "EPSG:4326") -> float:
    """Area in hectares on the WGS84 ellipsoid, vertices reprojected with pyproj first."""
    if crs != "EPSG:4326":
        transformer = pyproj.Transformer.from_crs(
            pyproj.CRS.from_user_input(crs), "EPSG:4326", always_xy=True
        )
        geom = shapely.transform(geom, transformer.transform, interleaved=False)
    area, _ = GEOD.geometry_area_perimeter(shapely.make_valid(geom) if not geom.is_valid else geom)
    return abs(area) / 10_000


def tm_polygons() -> gpd.GeoDataFrame:
    """Three titles in metres (custom TM): squares of 1, 4 and 2x1.5 km, one multi-part."""
    squares = [box(480_000, 95_000, 481_000, 96_000), box(500_000, 110_000, 502_000, 112_000)]
    multi = MultiPolygon([box(520_000, 90_000, 521_000, 91_500), box(523_000, 90_000, 524_000, 91_500)])  # fmt: skip
    return gpd.GeoDataFrame(
        {"code": ["PE-001", "PE-002", "PE-003"], "NOM": ["Kéniéba", "Sadiola", "Loulo"],
         "surface": [100, None, 300]},
        geometry=[*squares, multi],
        crs=pyproj.CRS.from_wkt(CUSTOM_TM),
    )  # fmt: skip


@pytest.fixture
def shapefile_zip(tmp_path: Path) -> Path:
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(tm_polygons(), folder / "titres.shp", driver="ESRI Shapefile")
    # GDAL writes the .prj as ESRI WKT: make sure no EPSG code slipped in.
    assert "AUTHORITY" not in (folder / "titres.prj").read_text()
    path = tmp_path / "titres.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for member in folder.iterdir():
            archive.write(member, member.name)
    return path


def lonlat_polygons() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Zone A", "Zone B"], "status": ["draft", "proposed"]},
        geometry=[box(-8.6, 12.0, -8.55, 12.04), box(-8.4, 12.1, -8.3, 12.15)],
        crs="EPSG:4326",
    )


@pytest.fixture
def geopackage(tmp_path: Path) -> Path:
    """Two tables: `zones` (polygons, EPSG:4326) and `sites` (points, UTM 29N)."""
    path = tmp_path / "survey.gpkg"
    pyogrio.write_dataframe(lonlat_polygons(), path, layer="zones", driver="GPKG")
    sites = gpd.GeoDataFrame(
        {"nom": ["Djoulafoundou", "Tabakoto"], "workers": [120, 45]},
        geometry=gpd.points_from_xy([-8.5, -8.45], [12.05, 12.1]),
        crs="EPSG:4326",
    ).to_crs("EPSG:32629")
    pyogrio.write_dataframe(sites, path, layer="sites", driver="GPKG", append=False)
    return path


@pytest.fixture
def bowtie_geojson(tmp_path: Path) -> Path:
    """Two polygons, the second a self-intersecting bow tie."""
    good = Polygon([(-8.6, 12.0), (-8.5, 12.0), (-8.5, 12.1), (-8.6, 12.1)])
    bowtie = Polygon([(-8.4, 12.0), (-8.3, 12.1), (-8.3, 12.0), (-8.4, 12.1)])
    frame = gpd.GeoDataFrame({"name": ["good", "bowtie"]}, geometry=[good, bowtie], crs=4326)
    path = tmp_path / "zones.geojson"
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    return path


@pytest.fixture
def csv_lonlat(tmp_path: Path) -> Path:
    path = tmp_path / "sites.csv"
    path.write_text("name,longitude,latitude,workers\nSite A,-8.5,12.05,30\nSite B,-8.45,12.1,\n")
    return path


@pytest.fixture
def csv_wkt(tmp_path: Path) -> Path:
    frame = lonlat_polygons()
    path = tmp_path / "zones.csv"
    pyogrio.write_dataframe(
        frame, path, driver="CSV", layer_options={"GEOMETRY": "AS_WKT", "GEOMETRY_NAME": "wkt"}
    )
    return path


@pytest.fixture
def kml(tmp_path: Path) -> Path:
    path = tmp_path / "zones.kml"
    pyogrio.write_dataframe(lonlat_polygons(), path, driver="KML")
    return path


def counts(session: Session) -> tuple[int, int]:
    """(layers, features) in the database, to show that a refused import wrote nothing."""
    row = session.execute(
        text("SELECT (SELECT count(*) FROM layers), (SELECT count(*) FROM features)")
    ).one()
    return row[0], row[1]


def shapefile_parts(
    folder: Path, stem: str, frame: gpd.GeoDataFrame, **options: Any
) -> dict[str, bytes]:
    """The files of `frame` written as the Shapefile `stem` by pyogrio: {".shp": bytes, ...}."""
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, folder / f"{stem}.shp", driver="ESRI Shapefile", **options)
    return {p.suffix: p.read_bytes() for p in sorted(folder.glob(f"{stem}.*"))}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip of `members` ({name inside the zip: content}), Deflate-compressed."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def in_folder(
    folder: str, stem: str, parts: dict[str, bytes], upper: bool = False
) -> dict[str, bytes]:
    """`parts` named `folder`/`stem`.suffix inside a zip (suffixes upper-cased when `upper`)."""
    prefix = f"{folder}/" if folder else ""
    return {f"{prefix}{stem}{s.upper() if upper else s}": data for s, data in parts.items()}
