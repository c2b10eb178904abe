"""Write features out: GeoJSON, GeoPackage, zipped Shapefile, CSV (WKT), KML, FlatGeobuf and
GeoParquet.

Every attribute is kept as a column (lists and objects as JSON text where the format has no
such type); `id` and `name` come first. CSV is written by the csv module so the same writer
serves `?f=csv` pages and exports; GeoParquet by geopandas with pyarrow (GeoParquet 1.1, WKB
geometries, a bbox per row); the other formats go through pyogrio (GDAL). A FlatGeobuf file has
a spatial index, so its features come in the index's order: sort them by `id` if need be.

    >>> path = export(rows(session, Selection(layer.id)), FORMATS["gpkg"], "sites", tmp)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import shapely

from geo_service.io.formats import Format
from geo_service.store.features import Row

if TYPE_CHECKING:  # geopandas and pyogrio (which imports it) only where a file is written
    import geopandas as gpd

# A Shapefile holds one geometry family; a mixed layer is split into one file per family.
_FAMILIES = {
    "Point": "points",
    "MultiPoint": "points",
    "LineString": "lines",
    "MultiLineString": "lines",
    "Polygon": "polygons",
    "MultiPolygon": "polygons",
}


def _flat(value: Any) -> Any:
    return orjson.dumps(value).decode() if isinstance(value, list | dict) else value


def _records(rows: Iterable[Row]) -> tuple[list[dict[str, Any]], list[bytes], list[str]]:
    """Attributes per feature (id and name first), geometries, and every column seen in order."""
    records: list[dict[str, Any]] = []
    geometries: list[bytes] = []
    columns: dict[str, None] = {"id": None, "name": None}
    for row in rows:
        record = {"id": row.id, "name": row.name}
        record.update((k, _flat(v)) for k, v in row.properties.items())
        columns.update(dict.fromkeys(record))
        records.append(record)
        geometries.append(row.wkb)
    return records, geometries, list(columns)


def _frame(rows: Iterable[Row]) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd

    records, geometries, columns = _records(rows)
    table = pd.DataFrame.from_records(records, columns=columns)
    for column in table.columns:
        # GDAL needs one type per field: a column of mixed types is written as text.
        kinds = {type(v) for v in table[column] if v is not None and v == v}
        if len(kinds) > 1 and not kinds <= {int, float}:
            table[column] = [None if v is None else str(v) for v in table[column]]
    return gpd.GeoDataFrame(
        table, geometry=shapely.from_wkb(geometries) if geometries else [], crs="EPSG:4326"
    )


def csv_lines(rows: Iterable[Row]) -> Iterator[str]:
    """CSV text (header first): attributes, then the geometry as WKT (EPSG:4326)."""
    records, geometries, columns = _records(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*columns, "wkt"])
    wkts = shapely.to_wkt(shapely.from_wkb(geometries), rounding_precision=-1) if geometries else []
    for record, wkt in zip(records, wkts, strict=True):
        writer.writerow([*(record.get(c) for c in columns), wkt])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export(rows: Iterable[Row], fmt: Format, name: str, folder: Path) -> Path:
    """Write `rows` as `fmt` into `folder` (a file named after the layer `name`); its path."""
    path = folder / f"{name}{fmt.suffix}"
    if fmt.name == "csv":
        with path.open("w", encoding="utf-8", newline="") as f:
            f.writelines(csv_lines(rows))
        return path
    import pyogrio

    frame = _frame(rows)
    if fmt.name == "shp":
        return _shapefile_zip(frame, name, folder)
    if fmt.name == "parquet":
        frame.to_parquet(path, index=False, schema_version="1.1.0", write_covering_bbox=True)
        return path
    options: dict[str, Any] = {}
    if fmt.name == "geojson":
        options = {"layer_options": {"ID_FIELD": "id", "RFC7946": "YES"}}
    elif fmt.name == "kml":
        options = {"dataset_options": {"NameField": "name"}}
    pyogrio.write_dataframe(frame, path, layer=name, driver=fmt.driver, **options)
    return path


def _shapefile_zip(frame: gpd.GeoDataFrame, name: str, folder: Path) -> Path:
    """A zip of one Shapefile per geometry family (`name`, or `name_points`, `name_lines`...);
    geometry collections have no Shapefile type and are left out."""
    import pyogrio

    families = frame.geometry.geom_type.map(_FAMILIES)
    present = [f for f in ("points", "lines", "polygons") if (families == f).any()]
    shp_folder = folder / "shp"
    shp_folder.mkdir()
    for family in present:
        part = frame[families == family]
        stem = name if len(present) == 1 else f"{name}_{family}"
        pyogrio.write_dataframe(
            part,
            shp_folder / f"{stem}.shp",
            driver="ESRI Shapefile",
            promote_to_multi=True,
            layer_options={"ENCODING": "UTF-8"},
        )
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(shp_folder.iterdir()):
            archive.write(member, member.name)
    return path
