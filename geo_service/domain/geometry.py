"""Geometry checks shared by editing and imports: parse GeoJSON, check range, repair or refuse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from geo_service.errors import InvalidCRS, InvalidGeometry
from geo_service.problems import known, msg

# What GEOS says of invalid geometries (before the "[x y]" of where), in words we can translate.
_GEOS_REASONS = {
    "Self-intersection": msg("geos.self_intersection"),
    "Ring Self-intersection": msg("geos.ring_self_intersection"),
    "Too few points in geometry component": msg("geos.too_few_points"),
    "Hole lies outside shell": msg("geos.hole_outside_shell"),
    "Holes are nested": msg("geos.nested_holes"),
    "Interior is disconnected": msg("geos.disconnected_interior"),
    "Nested shells": msg("geos.nested_shells"),
    "Duplicate Rings": msg("geos.duplicate_rings"),
    "Ring is not closed": msg("geos.unclosed_ring"),
    "Invalid Coordinate": msg("geos.invalid_coordinate"),
}


@dataclass
class CheckedGeometry:
    geometry: BaseGeometry
    repaired: str | None = None  # the reason it was invalid, when it was repaired


def parse_geojson(obj: Any, where: Any = None) -> BaseGeometry:
    if not isinstance(obj, dict) or "type" not in obj:
        raise InvalidGeometry(msg("geometry.not_geojson"), where=where)
    try:
        geom = shape(obj)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise InvalidGeometry(msg("geometry.malformed", reason=str(exc)), where=where) from None
    if geom.is_empty:
        raise InvalidGeometry(msg("geometry.empty"), where=where)
    return geom


def check_lonlat(geom: BaseGeometry, where: Any = None) -> None:
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180.0001 or maxx > 180.0001 or miny < -90.0001 or maxy > 90.0001:
        bounds = f"{minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g}"
        raise InvalidCRS(msg("geometry.out_of_range", bounds=bounds), where=where)


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
    said, bracket, rest = reason.partition("[")
    words = {"reason": known(said, _GEOS_REASONS), "at": bracket + rest}
    if strict:
        raise InvalidGeometry(msg("geometry.invalid", **words), where=where)
    fixed = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        fixed = _polygonal_part(fixed)
    if fixed.is_empty:
        raise InvalidGeometry(msg("geometry.unrepairable", **words), where=where)
    return CheckedGeometry(fixed, repaired=reason)


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    return dict(mapping(geom))
