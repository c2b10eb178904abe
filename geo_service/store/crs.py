"""Coordinate reference systems of requests (OGC API Features Part 2: `crs`, `bbox-crs`,
`filter-crs`, `Content-Crs`): any EPSG code PROJ knows, named as the standards name them.

Storage is EPSG:4326 with longitude first (CRS84). A CRS whose first axis points north (EPSG:4326
itself, many national grids) has its coordinates written and read northing first, as its
definition says; PostGIS always works easting first, so those are swapped on the way in and out.

    >>> parse_crs("EPSG:32629", "crs").uri
    'http://www.opengis.net/def/crs/EPSG/0/32629'
    >>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/4326", "crs").north_first
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from geo_service.errors import InvalidInput
from geo_service.problems import msg

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_NAMES = {
    CRS84,
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "OGC:CRS84",
    "CRS84",
    "[OGC:CRS84]",
}
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
_EPSG = re.compile(
    r"(?:https?://www\.opengis\.net/def/crs/EPSG/0/|urn:ogc:def:crs:EPSG:[\d.]*:|\[?EPSG:)"
    r"(\d{1,6})\]?",
    re.IGNORECASE,
)
# What a collection lists in `crs` (Part 2 lets a server accept more than it lists: any EPSG
# code PROJ knows is accepted): lon/lat, lat/lon, Web Mercator and the UTM zones of West and
# Central Africa, where the titles and sites are.
LISTED_CRS = (
    CRS84,
    EPSG_URI.format(code=4326),
    EPSG_URI.format(code=3857),
    *(EPSG_URI.format(code=32600 + zone) for zone in range(28, 37)),
    *(EPSG_URI.format(code=32700 + zone) for zone in range(32, 37)),
)


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int  # the EPSG code (4326 for CRS84)
    north_first: bool  # coordinates are written northing (latitude) first

    @property
    def is_storage(self) -> bool:
        """Coordinates as stored: longitude, latitude on WGS84."""
        return self.srid == 4326 and not self.north_first


STORAGE = Crs(CRS84, 4326, north_first=False)


@lru_cache(maxsize=512)
def _epsg(code: int) -> bool | None:
    """Whether EPSG `code`'s first axis points north or south; None if PROJ does not know it."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        return None
    axes = crs.axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def parse_crs(value: str | None, parameter: str) -> Crs:
    """The CRS named by `value` (a URI, URN, CURIE or EPSG:n); CRS84 when None.
    InvalidInput (a 400) naming `parameter` if it is none PROJ knows."""
    if value is None:
        return STORAGE
    name = value.strip().strip("<>")
    if name in CRS84_NAMES:
        return STORAGE
    match = _EPSG.fullmatch(name)
    north_first = _epsg(int(match.group(1))) if match else None
    if match is None or north_first is None:
        raise InvalidInput(
            msg("crs.unknown", parameter=parameter, value=value[:200]),
            where={parameter: value[:200]},
        )
    code = int(match.group(1))
    return Crs(EPSG_URI.format(code=code), code, north_first)


def from_storage(geom_sql: str, crs: Crs) -> str:
    """SQL of a stored geometry expressed in `crs` (axes in the CRS's own order)."""
    if crs.is_storage:
        return geom_sql
    moved = geom_sql if crs.srid == 4326 else f"ST_Transform({geom_sql}, {crs.srid})"
    return f"ST_FlipCoordinates({moved})" if crs.north_first else moved


def to_storage(geom_sql: str, crs: Crs) -> str:
    """SQL of a geometry given in `crs` (without SRID) as stored: EPSG:4326, longitude first.
    A straight edge in a projected CRS is a curve in degrees: edges are cut into 64 pieces of
    the geometry's size (at least a metre) first, so that the shape keeps its sides."""
    if crs.is_storage:
        return f"ST_SetSRID({geom_sql}, 4326)"
    given = f"ST_FlipCoordinates({geom_sql})" if crs.north_first else geom_sql
    if crs.srid == 4326:
        return f"ST_SetSRID({given}, 4326)"
    return (
        f"(SELECT ST_Transform(ST_SetSRID(ST_Segmentize(g, greatest(ST_XMax(g) - ST_XMin(g), "
        f"ST_YMax(g) - ST_YMin(g), 64.0) / 64.0), {crs.srid}), 4326) FROM (SELECT {given} AS g) s)"
    )
