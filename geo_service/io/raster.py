"""GeoTIFF uploads become raster layers: stored as a Cloud Optimized GeoTIFF under the data
folder (`<home>/rasters/<slug>.tif`, GDAL's COG driver: tiled, DEFLATE, overviews), read back by
the zonal statistics and raster tiles through `layers.raster_path`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from geo_service.db.models import Layer
from geo_service.errors import BrokenFile, InvalidCRS
from geo_service.io.formats import library_said
from geo_service.problems import msg
from geo_service.settings import get_settings


def raster_folder(home: Path | None = None) -> Path:
    folder = (home or get_settings().db.home_path) / "rasters"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def describe(path: Path) -> dict[str, Any]:
    """Size, bands, data type, CRS and lon/lat bounds (EPSG:4326) of a stored raster."""
    # rasterio is imported where it is used: every import of a vector file imports this module.
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(path) as src:
        return {
            "width": src.width,
            "height": src.height,
            "bands": src.count,
            "dtype": src.dtypes[0],
            "crs": src.crs.to_string() if src.crs else None,
            "nodata": src.nodata,
            "extent": list(transform_bounds(src.crs, "EPSG:4326", *src.bounds)),
        }


def store_raster(
    session: Session, layer: Layer, path: Path, filename: str, home: Path | None = None
) -> dict[str, Any]:
    """Store the GeoTIFF at `path` as the raster of `layer` (an import summary).

    The file is converted next to its destination and moved into place only once converted,
    so a broken upload never replaces a good raster.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.shutil import copy as raster_copy

    where = {"file": filename}
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InvalidCRS(msg("raster.no_crs", file=filename), where=where)
            destination = raster_folder(home) / f"{layer.slug}.tif"
            partial = destination.with_suffix(".partial.tif")
            raster_copy(src, partial, driver="COG", COMPRESS="DEFLATE", BIGTIFF="IF_SAFER")
    except RasterioIOError as exc:
        raise BrokenFile(
            msg("raster.unreadable", file=filename, reason=library_said(exc)), where=where
        ) from None
    os.replace(partial, destination)
    layer.raster_path = str(destination.resolve())
    session.flush()
    return {
        "layer": layer.slug,
        "format": "geotiff",
        "imported": 1,
        "raster": describe(destination),
        "repaired": [],
        "rejected": [],
    }
