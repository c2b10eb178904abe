"""Read vector files (GeoJSON, GeoPackage, zipped Shapefile, CSV, KML, FlatGeobuf, GeoParquet)
into EPSG:4326 frames.

Any CRS the file names is honoured, including a Shapefile `.prj` holding WKT with no EPSG
code; a file that names none (CSV, or a Shapefile without `.prj`) is read in the CRS given by
the caller, else EPSG:4326 (coordinates out of lon/lat range are then refused in validation).

A zip is checked (io.archive) before GDAL opens the Shapefile chosen in it, at any depth; its
.dbf is decoded as its .cpg says, else as its header's language driver says, else as its bytes
fit (UTF-8, else CP1252, else ISO-8859-1), unless the caller gives an `encoding`. GeoJSON, CSV
and KML reach GDAL as UTF-8 (io.encodings). GeoParquet is read by geopandas with pyarrow.

    >>> frame = read_vector(Path("sites.zip"), "shp", filename="sites.zip")  # doctest: +SKIP
    >>> frame.crs.to_epsg()  # doctest: +SKIP
    4326
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import pyogrio
import pyproj
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

from geo_service.errors import BrokenFile, InvalidCRS, InvalidGeometry, InvalidInput
from geo_service.io.archive import ZippedShapefile, open_member, shapefile_member, shapefiles
from geo_service.io.encodings import TEXT_FORMATS, codec, dbf_encoding, utf8_text
from geo_service.io.formats import library_said
from geo_service.problems import msg

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


def gdal_path(path: Path, fmt: str, member: str = "") -> str:
    """The path GDAL opens: the Shapefile `member` of a zip is read in place through /vsizip/,
    the archive's own path in braces so that its name need not end in .zip (a name holding a
    brace cannot use them; GDAL then splits the path after '.zip')."""
    if fmt != "shp":
        return str(path)
    archive = str(path) if "}" in str(path) else f"{{{path}}}"
    return f"/vsizip/{archive}/{member}"


def tables(path: Path, fmt: str, filename: str) -> list[str]:
    """What `table` may name in the file: the Shapefiles of a zip (paths inside it), the tables
    of a GeoPackage or FlatGeobuf; [] for formats of one table (GeoJSON, CSV, KML, GeoParquet)."""
    if fmt == "shp":
        return shapefiles(path, filename)
    if fmt in ("gpkg", "fgb"):
        return list_tables(path, fmt, filename)
    return []


def list_tables(path: Path, fmt: str, filename: str) -> list[str]:
    """Names of the tables (layers) with geometry in the file."""
    try:
        layers = pyogrio.list_layers(gdal_path(path, fmt))
    except _LIBRARY_ERRORS as exc:
        raise _unreadable(exc, filename) from None
    return [str(name) for name, geometry_type in layers if geometry_type is not None]


def _unreadable(exc: BaseException, filename: str) -> BrokenFile:
    return BrokenFile(
        msg("read.unreadable", file=filename, reason=library_said(exc)), where={"file": filename}
    )


def _choose_table(tables: list[str], table: str | None, filename: str) -> str:
    if table is not None:
        if table not in tables:
            raise InvalidInput(
                msg("read.no_table", file=filename, table=table, tables=", ".join(tables)),
                where={"file": filename, "table": table},
                extra={"tables": tables},
            )
        return table
    if not tables:
        raise InvalidInput(msg("read.no_tables", file=filename), where={"file": filename})
    if len(tables) != 1:
        raise InvalidInput(
            msg(
                "read.tables",
                file=filename,
                count=len(tables),
                tables=", ".join(tables),
                each=msg("import.each_table"),
            ),
            where={"file": filename},
            extra={"tables": tables},
        )
    return tables[0]


# Every byte is one character in ISO-8859-1, which GDAL decodes itself (not through iconv):
# text read so comes back byte for byte, to be decoded in Python (see `_decode_text`).
BYTEWISE = "ISO-8859-1"


def _recode(value: Any, encoding: str) -> Any:
    """`value` (text, or the objects and lists of a JSON field) read BYTEWISE, decoded."""
    if isinstance(value, str):
        return value.encode(BYTEWISE).decode(encoding)
    if isinstance(value, dict):
        return {_recode(k, encoding): _recode(v, encoding) for k, v in value.items()}
    if isinstance(value, list):
        return [_recode(v, encoding) for v in value]
    return value


def _decode_text(
    frame: gpd.GeoDataFrame, encoding: str, filename: str, given: bool
) -> gpd.GeoDataFrame:
    """`frame`'s field names and text, read BYTEWISE, decoded from `encoding` in Python, which
    knows more encodings (and their names) than GDAL's iconv. BrokenFile naming the first
    feature and field whose bytes are not valid there."""
    hint = "" if given else msg("read.give_encoding")

    def refuse(exc: UnicodeDecodeError, at: str, where: dict[str, Any]) -> BrokenFile:
        byte = exc.object[exc.start : exc.start + 1].hex().upper()
        return BrokenFile(
            msg(
                "read.not_decodable", file=filename, at=at, encoding=encoding, byte=byte, hint=hint
            ),
            where={"file": filename, **where, "encoding": encoding},
        )

    names = {}
    for column in frame.columns:
        try:
            names[column] = _recode(column, encoding)
        except UnicodeDecodeError as exc:
            at = msg("read.at_field_name", field=column)
            raise refuse(exc, at, {"field": column}) from None
    for column in frame.columns:
        if column == frame.geometry.name or frame[column].dtype.kind != "O":
            continue
        values = frame[column].tolist()
        for index, value in enumerate(values):
            try:
                values[index] = _recode(value, encoding)
            except UnicodeDecodeError as exc:
                at = msg("read.at_value", index=index, field=names[column])
                raise refuse(exc, at, {"index": index, "field": names[column]}) from None
        frame[column] = pd.Series(values, index=frame.index, dtype=object)
    return frame.rename(columns=names)


def _read(
    path: str, filename: str, encoding: str | None = None, **options: object
) -> gpd.GeoDataFrame:
    """The frame GDAL reads at `path`; its text decoded from `encoding` when given, else as the
    file says (a .cpg, the DBF header; UTF-8 for the other formats)."""
    if encoding is not None:
        frame = _read_frame(path, filename, encoding=BYTEWISE, **options)
        return _decode_text(frame, encoding, filename, given=True)
    try:
        return _read_frame(path, filename, **options)
    except UnicodeDecodeError as exc:
        # A .cpg naming the wrong encoding, a GeoPackage holding other bytes than UTF-8...:
        # read again byte for byte, to say where.
        frame = _read_frame(path, filename, encoding=BYTEWISE, **options)
        return _decode_text(frame, exc.encoding, filename, given=False)


def _read_frame(path: str, filename: str, **options: object) -> gpd.GeoDataFrame:
    try:
        frame = pyogrio.read_dataframe(
            path, force_2d=True, on_invalid="ignore", datetime_as_string=True, **options
        )
    except _LIBRARY_ERRORS as exc:
        raise _unreadable(exc, filename) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInput(msg("read.no_geometry", file=filename), where={"file": filename})
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


def _coordinate_columns(fields: list[str]) -> list[tuple[str, str]]:
    """(axis, field) of the columns GDAL's CSV driver takes for longitude and latitude: for
    each, the first field (in file order, any case) among its possible names."""
    columns = []
    for axis, option in (("longitude", "X_POSSIBLE_NAMES"), ("latitude", "Y_POSSIBLE_NAMES")):
        names = CSV_OPTIONS[option].split(",")
        found = next((f for f in fields if f.lower() in names), None)
        if found is not None:
            columns.append((axis, found))
    return columns


def _check_csv_coordinates(frame: gpd.GeoDataFrame, source: str, filename: str) -> None:
    """GDAL builds no point from a NaN or infinite longitude or latitude, which would then pass
    for a row without coordinates: refuse such rows (InvalidGeometry naming row and column)."""
    missing = np.flatnonzero(frame.geometry.isna().to_numpy())
    if not len(missing):
        return
    fields = [str(f) for f in pyogrio.read_info(source)["fields"]]
    columns = _coordinate_columns(fields)
    if not columns:
        return
    cells = pyogrio.read_dataframe(source, columns=[c for _, c in columns], read_geometry=False)
    for index in missing.tolist():
        for axis, column in columns:
            cell = cells[column].iloc[index]
            try:
                value = float(cell)
            except (TypeError, ValueError):
                continue  # empty, or no number at all: a row without a point, as GDAL says
            if not math.isfinite(value):
                raise InvalidGeometry(
                    msg(
                        "read.not_finite",
                        file=filename,
                        index=index,
                        axis=axis,
                        value=cell,
                        column=column,
                    ),
                    where={"file": filename, "index": index, "field": column},
                )


def _read_text(path: Path, fmt: str, filename: str, encoding: str | None) -> gpd.GeoDataFrame:
    """GeoJSON, CSV or KML, read by GDAL as UTF-8 (see io.encodings)."""
    with utf8_text(path, fmt, filename, encoding) as utf8:
        source = str(utf8)
        if fmt == "csv":
            frame = _read(source, filename, **CSV_OPTIONS)
            _check_csv_coordinates(frame, source, filename)
            return frame
        if fmt == "geojson":
            return _read(source, filename)
        parts = [_read(source, filename, layer=name) for name in list_tables(utf8, fmt, filename)]
    parts = [p for p in parts if len(p)]
    if not parts:
        raise BrokenFile(msg("read.no_placemarks", file=filename), where={"file": filename})
    return _drop_kml_noise(pd.concat(parts, ignore_index=True))


def _dbf_guess(path: Path, shapefile: ZippedShapefile, filename: str) -> str | None:
    """The encoding of a .dbf that no .cpg names, from its header or its bytes (see
    encodings.dbf_encoding); None when GDAL should decide."""
    if shapefile.cpg is not None:
        return None
    with open_member(path, shapefile.dbf, filename) as dbf:
        return dbf_encoding(dbf)


_PARQUET_ERRORS = (pyarrow.ArrowException, OSError, ValueError, TypeError, KeyError)


def _read_parquet(path: Path, filename: str) -> gpd.GeoDataFrame:
    """A GeoParquet file, read as GDAL reads the others: 2D, dates and times as ISO text,
    integers with empty values as integers."""
    try:
        frame = gpd.read_parquet(path, to_pandas_kwargs={"integer_object_nulls": True})
    except _PARQUET_ERRORS as exc:
        if isinstance(exc, ValueError) and "geo metadata" in str(exc):
            raise InvalidInput(
                msg("read.parquet_not_geo", file=filename), where={"file": filename}
            ) from None
        raise _unreadable(exc, filename) from None
    frame = frame.set_geometry(frame.geometry.force_2d())
    for column in frame.columns:
        if frame[column].dtype.kind == "M":
            text = frame[column].map(lambda t: t.isoformat(), na_action="ignore")
            frame[column] = text.astype(object).where(frame[column].notna(), None)
    return frame


def read_vector(
    path: Path,
    fmt: str,
    *,
    filename: str,
    table: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """The features of `path` (format `fmt`, see formats.detect) in EPSG:4326, in file order.

    `table` picks a GeoPackage table or a Shapefile in the zip, by its name or its path there
    (required when there are several, see `tables`); `crs` is the source CRS of files that name
    none; `encoding` the encoding of the file's text, over what the file says (a .cpg) or
    implies (not for GeoParquet, whose text is UTF-8 by definition).
    Geometries GDAL cannot decode are None.
    """
    encoding = codec(encoding)
    if fmt in TEXT_FORMATS:
        frame = _read_text(path, fmt, filename, encoding)
    elif fmt == "shp":
        shapefile = shapefile_member(path, filename, table)
        guessed = encoding or _dbf_guess(path, shapefile, filename)
        frame = _read(gdal_path(path, fmt, shapefile.shp), filename, encoding=guessed)
    elif fmt == "parquet":
        frame = _read_parquet(path, filename)
    else:
        name = _choose_table(list_tables(path, fmt, filename), table, filename)
        frame = _read(gdal_path(path, fmt), filename, layer=name, encoding=encoding)
    return to_wgs84(frame, crs, filename)


def to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, filename: str) -> gpd.GeoDataFrame:
    """`frame` reprojected to EPSG:4326 (pyproj, always lon/lat order)."""
    if frame.crs is None:
        try:
            frame = frame.set_crs(pyproj.CRS.from_user_input(crs or WGS84))
        except pyproj.exceptions.CRSError as exc:
            raise InvalidCRS(
                msg("read.unknown_crs", crs=crs, reason=str(exc)), where={"crs": crs}
            ) from None
    if frame.crs.equals(pyproj.CRS.from_epsg(4326)):
        return frame
    source_crs = frame.crs.name
    # Only points finite before may count against the CRS: NaN in the file is refused later,
    # with its feature index (load.prepare).
    finite = np.isfinite(frame.geometry.bounds.to_numpy()).all(axis=1)
    frame = frame.to_crs(WGS84)
    if not np.isfinite(frame.geometry.bounds.to_numpy()[finite]).all():
        raise InvalidCRS(
            msg("read.not_transformable", file=filename, crs=source_crs),
            where={"file": filename, "crs": source_crs},
        )
    return frame
