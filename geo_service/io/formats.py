"""File formats we read and write: detection from the name and the first bytes, media types.

GeoJSON, GeoPackage, zipped Shapefile, CSV, KML, FlatGeobuf and GeoParquet both ways; GeoTIFF in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from geo_service.errors import UnsupportedFormat
from geo_service.problems import msg


@dataclass(frozen=True)
class Format:
    name: str  # the value of `?format=` and of the CLI's --format
    driver: str  # GDAL driver used by pyogrio
    suffix: str  # file name suffix of an export
    media_type: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("geojson", "GeoJSON", ".geojson", "application/geo+json"),
        Format("gpkg", "GPKG", ".gpkg", "application/geopackage+sqlite3"),
        Format("shp", "ESRI Shapefile", ".zip", "application/zip"),
        Format("csv", "CSV", ".csv", "text/csv; charset=utf-8"),
        Format("kml", "KML", ".kml", "application/vnd.google-earth.kml+xml"),
        Format("fgb", "FlatGeobuf", ".fgb", "application/flatgeobuf"),
        # GeoParquet is read and written by geopandas with pyarrow: GDAL's Parquet driver is
        # not in every GDAL build (pyogrio's wheels leave it out).
        Format("parquet", "Parquet", ".parquet", "application/vnd.apache.parquet"),
    )
}
# Names people also give the formats (`?format=flatgeobuf`, `--format geoparquet`).
_ALIASES = {"flatgeobuf": "fgb", "geoparquet": "parquet", "shapefile": "shp", "json": "geojson"}
RASTER = "geotiff"
_SUFFIXES = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shp",
    ".csv": "csv",
    ".kml": "kml",
    ".fgb": "fgb",
    ".parquet": "parquet",
    ".geoparquet": "parquet",
    ".tif": RASTER,
    ".tiff": RASTER,
}


def _sniff(head: bytes) -> str | None:
    """The format a file's first bytes announce, when they announce one."""
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"PK\x03\x04"):
        return "shp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return RASTER
    if head.startswith(b"fgb\x03fgb"):  # magic bytes and major version 3
        return "fgb"
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "geojson"
    if text.startswith(b"<") and b"kml" in head.lower():
        return "kml"
    return None


def detect(path: Path, filename: str | None = None) -> str:
    """The format of the file at `path` (named `filename` by the user): the suffix decides, the
    first bytes confirm. Raises UnsupportedFormat. A zip is taken for a zipped Shapefile; what
    it holds is checked before GDAL opens it (io.archive)."""
    name = filename or path.name
    with path.open("rb") as f:
        head = f.read(512)
    by_suffix = _SUFFIXES.get(Path(name).suffix.lower())
    sniffed = _sniff(head)
    fmt = by_suffix or sniffed
    if fmt is None or (sniffed is not None and by_suffix is not None and sniffed != by_suffix):
        raise UnsupportedFormat(msg("format.unsupported", file=name), where={"file": name})
    return fmt


def export_format(name: str) -> Format:
    """The export format named `name` (or one of its aliases, e.g. flatgeobuf, geoparquet)."""
    try:
        return FORMATS[_ALIASES.get(name.lower(), name.lower())]
    except KeyError:
        raise UnsupportedFormat(
            msg("format.unknown_export", format=name, formats=", ".join(FORMATS)),
            where={"format": name},
        ) from None


_SERVER_PATH = re.compile(r"(?:/vsi[a-z]+/)?\{?/[^\s'\"{}]+\}?(?:/[^\s'\"{}]*)?")
_DRIVER_HINT = re.compile(r"[.;]*\s*It might help to specify the correct driver.*$", re.S)


def library_said(exc: BaseException) -> str:
    """What GDAL or another file library said, without this server's paths (a file's own name
    is kept) or advice meant for GDAL's command-line users.

    >>> library_said(RuntimeError("'/vsizip/{/tmp/import-x1/a.zip}/b.shp' not recognized"))
    "'b.shp' not recognized"
    """
    text = _DRIVER_HINT.sub("", str(exc)).strip()
    return _SERVER_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1].strip("{}"), text)
