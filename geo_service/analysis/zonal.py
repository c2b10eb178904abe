"""Zonal statistics of a raster layer (GeoTIFF/COG in any CRS) over vector zones (rasterio).

Zones are reprojected from EPSG:4326 to the raster's CRS, never the raster to the zones, so
pixel values are read as stored. A pixel counts when its centre lies in the zone; nodata pixels
never count. Categorical rasters (integer values with few distinct classes) also give the share
of each class among the zone's pixels.

Zones of a layer the caller sees generalised (store/sensitivity.py) are the zones it sees: their
statistics are of the pixels of the generalised geometry (an admin area; a grid point holds no
pixel centre, so counts 0), never of the exact shape, whose pixel count and values would
draw it; its name is left out when hidden, and a filter may not name a hidden attribute.

    >>> zonal(session, "landcover", "asm-zones")["rows"][0]
    {'zone': {'id': 3, 'name': 'Kaba'}, 'count': 412, 'min': 1.0, 'max': 7.0, 'mean': 3.2,
     'sum': 1318.0, 'classes': {'1': 0.25, '7': 0.75}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.mask import mask
from rasterio.warp import transform_geom
from shapely.geometry import mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.common import (
    Filter,
    geometry,
    layer_ref,
    property_filter,
    ref,
    seen_geometry,
)
from geo_service.domain.access import Principal
from geo_service.domain.geometry import check_geometry, parse_geojson
from geo_service.errors import BrokenFile, InvalidInput
from geo_service.problems import msg
from geo_service.store.sensitivity import mask_for

# A raster is categorical when its values are integers and a coarse read shows at most this many.
MAX_CLASSES = 32

_ZONES = """
    SELECT f.id, {name}, ST_AsGeoJSON({geom}, 9)
      FROM features f
     WHERE f.layer_id = :layer AND ST_Dimension(f.geom) = 2 AND {zone_filter}
     ORDER BY f.id
"""
_POLYGONS = ("Polygon", "MultiPolygon")


def _is_categorical(src: rasterio.DatasetReader, band: int) -> bool:
    if not np.issubdtype(np.dtype(src.dtypes[band - 1]), np.integer):
        return False
    shape = (min(src.height, 512), min(src.width, 512))
    sample = src.read(band, out_shape=shape, masked=True, resampling=Resampling.nearest)
    return len(np.unique(sample.compressed())) <= MAX_CLASSES


def _stats(
    src: rasterio.DatasetReader, zone: dict[str, Any], band: int, categorical: bool
) -> dict[str, Any]:
    values = np.array([], dtype=src.dtypes[band - 1])
    if zone["type"] in _POLYGONS:  # a zone seen as a grid point holds no pixel centre
        shape = transform_geom("EPSG:4326", src.crs, zone)
        try:
            data, _ = mask(src, [shape], crop=True, filled=False, indexes=band)
        except ValueError:  # the zone lies outside the raster
            pass
        else:
            values = np.ma.masked_invalid(data).compressed()
    stats: dict[str, Any] = {"count": int(values.size)}
    if values.size:
        stats |= {
            "min": float(values.min()),
            "max": float(values.max()),
            "mean": float(values.mean(dtype=np.float64)),
            "sum": float(values.sum(dtype=np.float64)),
        }
    else:
        stats |= {"min": None, "max": None, "mean": None, "sum": None}
    if categorical:
        classes, counts = np.unique(values, return_counts=True)
        stats["classes"] = {
            str(c.item()): round(float(n) / values.size, 6)
            for c, n in zip(classes, counts, strict=True)
        }
    return stats


def zonal(
    session: Session,
    raster: str,
    zones: str | dict[str, Any],
    zone_filter: Filter | None = None,
    band: int = 1,
    categorical: bool | None = None,
    with_geometry: bool = False,
    *,
    who: Principal,
) -> dict[str, Any]:
    """Per zone: `count` of pixels, their `min`, `max`, `mean` and `sum` (raster units), and
    for categorical rasters `classes` {value: share 0..1}. `zones` is a vector layer slug
    (its polygons) or one GeoJSON geometry (EPSG:4326). `categorical=None` decides from the
    raster (integer values, at most MAX_CLASSES of them).
    """
    layer = layer_ref(session, raster, who, storage="raster")
    if not layer.raster_path or not Path(layer.raster_path).is_file():
        raise BrokenFile(msg("zonal.no_file", raster=raster), where={"raster": raster})
    if isinstance(zones, str):
        zone_layer = layer_ref(session, zones, who)
        seen = mask_for(zone_layer, who, "zone")
        z_sql, z_params = property_filter(zone_filter, "f", "zf", seen.hidden, seen_geometry(seen))
        exact = "ST_CollectionExtract(ST_MakeValid(f.geom), 3)"
        sql = _ZONES.format(
            zone_filter=z_sql,
            name=seen.name("f.name"),
            geom=exact if seen.grid_m is None else seen.geometry("f.geom"),
        )
        found = [
            (ref(fid, name), geometry(gj))
            for fid, name, gj in session.execute(
                text(sql), {**z_params, **seen.params(), "layer": zone_layer.id}
            )
        ]
    else:
        checked = check_geometry(parse_geojson(zones, where="zones"), where="zones")
        if checked.geometry.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidInput(msg("zonal.polygons"), where="zones")
        found = [(None, dict(mapping(checked.geometry)))]
    try:
        src = rasterio.open(layer.raster_path)
    except RasterioIOError as exc:
        raise BrokenFile(
            msg("zonal.unreadable", raster=raster, reason=str(exc)), where={"raster": raster}
        ) from None
    with src:
        if not 1 <= band <= src.count:
            raise InvalidInput(msg("zonal.band", band=band, bands=src.count), where={"band": band})
        classes = _is_categorical(src, band) if categorical is None else categorical
        rows = []
        for zone_ref, zone in found:
            row = {"zone": zone_ref, **_stats(src, zone, band, classes)}
            if with_geometry:
                row["geometry"] = zone
            rows.append(row)
    return {"rows": rows}
