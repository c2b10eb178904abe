"""Helpers for analysis tests: layers built from shapely geometries, and the independent
yardsticks (pyproj.Geod on WGS84) every figure is compared with."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store

GEOD = Geod(ellps="WGS84")


def geod_ha(geom: BaseGeometry) -> float:
    """Geodesic area in hectares (pyproj.Geod), independent of PostGIS."""
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e4


def geod_point_m(a: Point, b: Point) -> float:
    """Geodesic distance in metres between two points (pyproj.Geod)."""
    return float(GEOD.inv(a.x, a.y, b.x, b.y)[2])


def geod_distance_m(a: BaseGeometry, b: BaseGeometry, step_deg: float = 0.00005) -> float:
    """Geodesic distance in metres between two geometries: 0 if they meet, else the least
    Geod.inv distance between their boundaries densified every `step_deg` degrees."""
    if a.intersects(b):
        return 0.0

    def points(g: BaseGeometry, other: BaseGeometry) -> np.ndarray:
        line = g.boundary if g.geom_type in ("Polygon", "MultiPolygon") else g
        coords = shapely.get_coordinates(shapely.segmentize(line, step_deg))
        # Only points near the other geometry can be nearest (planar ranking is off by at most
        # the ratio of degree lengths, well below 3 up to 60° of latitude).
        near = shapely.distance(shapely.points(coords), other) <= 3 * planar + 0.001
        return coords[near]

    planar = a.distance(b)
    pa, pb = points(a, b), points(b, a)
    best = np.inf
    for lon, lat in pa:
        _, _, d = GEOD.inv(np.full(len(pb), lon), np.full(len(pb), lat), pb[:, 0], pb[:, 1])
        best = min(best, float(np.min(d)))
    return best


def add_layer(
    session: Session,
    slug: str,
    features: list[tuple[BaseGeometry, dict[str, Any]]],
    kind: str = "reference",
    theme: str | None = None,
) -> list[int]:
    """A layer with `features` inserted as given (invalid geometries too: no repair), ids back."""
    layer = store.create_layer(session, slug, kind=kind, theme=theme, who=OPERATOR)
    ids = []
    for geom, props in features:
        ids.append(
            session.execute(
                text(
                    "INSERT INTO features (layer_id, name, properties, geom)"
                    " VALUES (:layer, :name, CAST(:props AS jsonb),"
                    " ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)) RETURNING id"
                ),
                {
                    "layer": layer.id,
                    "name": props.get("name"),
                    "props": json.dumps(props),
                    "wkb": shapely.to_wkb(geom),
                },
            ).scalar_one()
        )
    return ids
