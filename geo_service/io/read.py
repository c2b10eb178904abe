"""Read vector files (GeoJSON, GeoPackage, zipped Shapefile, CSV, KML) into EPSG:4326 frames.

Any CRS the file names is honoured, including a Shapefile `.prj` holding WKT with no EPSG
code; a file that names none (CSV, or a Shapefile without `.prj`) is read in the CRS given by
the caller, else EPSG:4326 (coordinates out of lon/lat range are then refused in validation).

    >>> frame = read_vector(Path("sites.zip"), "shp", filename="sites.zip")  # doctest: +SKIP
    >>> frame.crs.to_epsg()  # doctest: +SKIP
    4326
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

from geo_service.errors import BrokenFile, InvalidCRS, InvalidInput

WGS84 = "EPSG:4326"
# Column names GDAL's CSV driver tries, in order, for longitude, latitude and WKT.
CSV_OPTIONS = {
    "X_POSSIBLE_NAMES": "lon,longitude,lng,long,x",
    "Y_POSSIBLE_NAMES": "lat,latitude,y",
    "GEOM_POSSIBLE_NAMES": "wkt,geometry,geom,the_geom",
    "KEEP_GEOM_COLUMNS": "NO",
    "AUTODETECT_TYPE": "YES",
}
# Bookkeeping fields LIBKML adds to every placemark; kept only when they say something.
KML_NOISE = {
    "timestamp": None,
    "begin": None,
    "end": None,
    "altitudeMode": None,
    "tessellate": -1,
    "extrude": 0,
    "visibility": -1,
    "drawOrder": None,
    "icon": None,
    "snippet": None,
}
_LIBRARY_ERRORS = (DataSourceError, DataLayerError, FieldError, GeometryError, RuntimeError)


def gdal_path(path: Path, fmt: str) -> str:
    """The path GDAL opens: zipped Shapefiles are read in place through /vsizip/."""
    return f"/vsizip/{path}" if fmt == "shp" else str(path)


def list_tables(path: Path, fmt: str, filename: str) -> list[str]:
    """Names of the tables (layers) with geometry in the file."""
    try:
        layers = pyogrio.list_layers(gdal_path(path, fmt))
    except _LIBRARY_ERRORS as exc:
        raise BrokenFile(f"'{filename}' cannot be read: {exc}", where={"file": filename}) from None
    return [str(name) for name, geometry_type in layers if geometry_type is not None]


def _choose_table(tables: list[str], table: str | None, filename: str) -> str:
    if table is not None:
        if table not in tables:
            raise InvalidInput(
                f"'{filename}' has no table '{table}'; its tables: {', '.join(tables)}",
                where={"file": filename, "table": table},
            )
        return table
    if len(tables) != 1:
        raise InvalidInput(
            f"'{filename}' holds {len(tables)} tables ({', '.join(tables) or 'none'}): "
            "choose one with the `table` field (--table)",
            where={"file": filename},
        )
    return tables[0]


def _read(path: str, filename: str, **options: object) -> gpd.GeoDataFrame:
    try:
        frame = pyogrio.read_dataframe(
            path, force_2d=True, on_invalid="ignore", datetime_as_string=True, **options
        )
    except _LIBRARY_ERRORS as exc:
        raise BrokenFile(f"'{filename}' cannot be read: {exc}", where={"file": filename}) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInput(
            f"'{filename}' has no geometry: a CSV needs lon/lat (or longitude/latitude, x/y) "
            "columns or a WKT column named wkt or geometry",
            where={"file": filename},
        )
    return _restore_integers(frame, path, options)


def _restore_integers(
    frame: gpd.GeoDataFrame, path: str, options: dict[str, object]
) -> gpd.GeoDataFrame:
    """Integer fields with empty values arrive as floats; give them back their integers."""
    try:
        info = pyogrio.read_info(path, **options)
    except _LIBRARY_ERRORS:
        return frame
    for field, dtype in zip(info["fields"], info["dtypes"], strict=False):
        if str(dtype).startswith("int") and frame[field].dtype.kind == "f":
            frame[field] = frame[field].astype("Int64")
    return frame


def _says_nothing(column: pd.Series, default: object) -> bool:
    return bool(column.isna().all() or (default is not None and (column == default).all()))


def _drop_kml_noise(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    noise = [c for c, d in KML_NOISE.items() if c in frame.columns and _says_nothing(frame[c], d)]
    return frame.drop(columns=noise)


def read_vector(
    path: Path,
    fmt: str,
    *,
    filename: str,
    table: str | None = None,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """The features of `path` (format `fmt`, see formats.detect) in EPSG:4326, in file order.

    `table` picks a GeoPackage table or a Shapefile in the zip (required when there are several);
    `crs` is the source CRS of files that name none. Geometries GDAL cannot decode are None.
    """
    source = gdal_path(path, fmt)
    if fmt == "csv":
        frame = _read(source, filename, **CSV_OPTIONS)
    elif fmt == "kml":
        parts = [_read(source, filename, layer=name) for name in list_tables(path, fmt, filename)]
        parts = [p for p in parts if len(p)]
        if not parts:
            raise BrokenFile(f"'{filename}' holds no placemarks", where={"file": filename})
        frame = _drop_kml_noise(pd.concat(parts, ignore_index=True))
    elif fmt in ("gpkg", "shp"):
        name = _choose_table(list_tables(path, fmt, filename), table, filename)
        frame = _read(source, filename, layer=name)
    else:
        frame = _read(source, filename)
    return to_wgs84(frame, crs, filename)


def to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, filename: str) -> gpd.GeoDataFrame:
    """`frame` reprojected to EPSG:4326 (pyproj, always lon/lat order)."""
    if frame.crs is None:
        try:
            frame = frame.set_crs(pyproj.CRS.from_user_input(crs or WGS84))
        except pyproj.exceptions.CRSError as exc:
            raise InvalidCRS(f"Unknown CRS '{crs}': {exc}", where={"crs": crs}) from None
    if frame.crs.equals(pyproj.CRS.from_epsg(4326)):
        return frame
    source_crs = frame.crs.name
    frame = frame.to_crs(WGS84)
    bounds = frame.geometry.bounds.to_numpy()
    if len(bounds) and not np.isfinite(bounds[~np.isnan(bounds).all(axis=1)]).all():
        raise InvalidCRS(
            f"'{filename}': coordinates cannot be transformed from {source_crs} to EPSG:4326",
            where={"file": filename, "crs": source_crs},
        )
    return frame
