"""Geometry checks shared by editing and imports: parse GeoJSON, check range, repair or refuse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from geo_service.errors import InvalidCRS, InvalidGeometry


@dataclass
class CheckedGeometry:
    geometry: BaseGeometry
    repaired: str | None = None  # the reason it was invalid, when it was repaired


def parse_geojson(obj: Any, where: Any = None) -> BaseGeometry:
    if not isinstance(obj, dict) or "type" not in obj:
        raise InvalidGeometry("Geometry must be a GeoJSON geometry object", where=where)
    try:
        geom = shape(obj)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise InvalidGeometry(f"Malformed GeoJSON geometry: {exc}", where=where) from None
    if geom.is_empty:
        raise InvalidGeometry("Geometry is empty", where=where)
    return geom


def check_lonlat(geom: BaseGeometry, where: Any = None) -> None:
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180.0001 or maxx > 180.0001 or miny < -90.0001 or maxy > 90.0001:
        raise InvalidCRS(
            f"Coordinates out of longitude/latitude range (bounds {minx:.6g}, {miny:.6g}, "
            f"{maxx:.6g}, {maxy:.6g}): GeoJSON must be in EPSG:4326; projected data must be "
            "imported as a file that names its CRS",
            where=where,
        )


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """make_valid may return a collection with slivers of lines; keep the part of the same
    dimension as the input so a polygon stays a polygon."""
    if geom.geom_type != "GeometryCollection":
        return geom
    parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return geom
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def check_geometry(
    geom: BaseGeometry, *, strict: bool = False, where: Any = None
) -> CheckedGeometry:
    """The geometry if valid; repaired (with the reason) if not, or refused when `strict`."""
    check_lonlat(geom, where)
    if geom.is_valid:
        return CheckedGeometry(geom)
    reason = shapely.is_valid_reason(geom)
    if strict:
        raise InvalidGeometry(f"Invalid geometry: {reason}", where=where)
    fixed = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        fixed = _polygonal_part(fixed)
    if fixed.is_empty:
        raise InvalidGeometry(f"Invalid geometry that cannot be repaired: {reason}", where=where)
    return CheckedGeometry(fixed, repaired=reason)


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    return dict(mapping(geom))
