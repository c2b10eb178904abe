"""What a caller sees of a sensitive layer: the one SQL of generalised geometries and masked attributes.

A `Mask` is the rule of domain/sensitivity.py for one layer and one caller: a caller cleared
below the layer's sensitivity sees every geometry as the point of its grid cell (the point on
surface, snapped in Web Mercator to `generalise_m` metres) or, in `admin` mode, as the
smallest public admin area holding that point (the grid when none does); attributes above its
clearance are removed, `name` with them when it is one. Items, single items, exports, tiles,
search and analyses all read features through `geometry` and `properties` here, so that no
channel can show more than another. A `Mask` binds its values as parameters; `search`, which
reads many layers at once, applies the same SQL with the layers' columns.

    >>> Mask().exact
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db import audit
from geo_service.domain.access import Principal
from geo_service.domain.sensitivity import Level, clearance, grid_m, hidden_attributes

# The layer's settings (db/models.Layer), which only an admin sets and sees.
SENSITIVITY = ("sensitivity", "attribute_sensitivity", "generalise", "generalise_m")
_LEVELS = "ARRAY['public', 'partner', 'internal', 'restricted']"
_TO_M = Transformer.from_crs(4326, 3857, always_xy=True)
_TO_DEG = Transformer.from_crs(3857, 4326, always_xy=True)


class Sensitive(Protocol):
    """A layer's sensitivity settings (db/models.Layer and store/catalog.LayerRecord)."""

    @property
    def id(self) -> int: ...
    @property
    def slug(self) -> str: ...
    @property
    def sensitivity(self) -> str: ...
    @property
    def attribute_sensitivity(self) -> dict[str, str]: ...
    @property
    def generalise(self) -> str: ...
    @property
    def generalise_m(self) -> int: ...


def generalised(geom: str, grid: str, admin: str) -> str:
    """SQL of the generalised `geom` (EPSG:4326): its point on surface snapped to a grid of
    `grid` metres in EPSG:3857, or when `admin` (SQL boolean) is true the smallest polygon of a
    public admin_boundary layer covering that point, the grid point when none does."""
    point = f"ST_PointOnSurface({geom})"
    snapped = f"ST_Transform(ST_SnapToGrid(ST_Transform({point}, 3857), {grid}), 4326)"
    area = (
        f"(SELECT a.geom FROM features a JOIN layers al ON al.id = a.layer_id"
        f" WHERE al.kind = 'reference' AND al.theme = 'admin_boundary' AND al.visibility = 'public'"
        f" AND a.geom && {point} AND ST_Covers(a.geom, {point})"
        f" ORDER BY ST_Area(a.geom), a.id LIMIT 1)"
    )
    return f"(CASE WHEN {admin} THEN coalesce({area}, {snapped}) ELSE {snapped} END)"


@dataclass(frozen=True)
class Mask:
    """What one caller sees of one layer: `grid_m` (None: exact geometries), `admin` (areas
    instead of grid points) and the `hidden` attributes; `prefix` names its bind parameters."""

    grid_m: int | None = None
    admin: bool = False
    hidden: tuple[str, ...] = ()
    prefix: str = "sens"

    @property
    def exact(self) -> bool:
        return self.grid_m is None and not self.hidden

    @property
    def hides_name(self) -> bool:
        return "name" in self.hidden

    @property
    def cache_part(self) -> str:
        """Its share of a cache key: two callers who see a layer alike share its tiles."""
        if self.exact:
            return "exact"
        return f"g={self.grid_m}:{int(self.admin)}:h={','.join(self.hidden)}"

    def params(self) -> dict[str, Any]:
        return {f"{self.prefix}_grid": self.grid_m, f"{self.prefix}_hidden": list(self.hidden)}

    def geometry(self, geom: str, placeholder: str = ":{}") -> str:
        """SQL of `geom` as the caller may see it."""
        if self.grid_m is None:
            return geom
        grid = f"CAST({placeholder.format(self.prefix + '_grid')} AS float8)"
        return generalised(geom, grid, "true" if self.admin else "false")

    def properties(self, props: str, placeholder: str = ":{}") -> str:
        """SQL of the jsonb `props` without the attributes the caller may not see."""
        if not self.hidden:
            return props
        return f"(({props}) - CAST({placeholder.format(self.prefix + '_hidden')} AS text[]))"

    def name(self, name: str) -> str:
        return "CAST(NULL AS text)" if self.hides_name else name


EXACT = Mask()


def mask_for(layer: Sensitive, who: Principal, prefix: str = "sens") -> Mask:
    """The mask of `layer` for `who`."""
    grid = grid_m(who, layer.sensitivity, layer.generalise_m)
    hidden = hidden_attributes(who, layer.attribute_sensitivity or {})
    return Mask(grid, layer.generalise == "admin", hidden, prefix)


def hidden_of_layers(layer: str, level: str) -> str:
    """SQL text[] of the attributes of the layer aliased `layer` that a caller cleared to
    `level` (a SQL text) may not see."""
    return (
        f"ARRAY(SELECT s.key FROM jsonb_each_text({layer}.attribute_sensitivity) s"
        f" WHERE array_position({_LEVELS}, s.value) > array_position({_LEVELS}, {level}))"
    )


def below_sql(layer: str, level: str) -> str:
    """SQL true when a caller cleared to `level` sees the locations of `layer` generalised."""
    return f"(array_position({_LEVELS}, {layer}.sensitivity) > array_position({_LEVELS}, {level}))"


def of_layers(geom: str, props: str, name: str, layer: str, level: str) -> tuple[str, str, str]:
    """(geometry, properties, name) SQL for features of the layers aliased `layer`, read by a
    caller cleared to `level` (a SQL text): the rule of `Mask`, for a query of many layers."""
    rank = f"array_position({_LEVELS}, {level})"
    grid = f"CAST({layer}.generalise_m AS float8)"
    shown = generalised(geom, grid, f"{layer}.generalise = 'admin'")
    return (
        f"(CASE WHEN {below_sql(layer, level)} THEN {shown} ELSE {geom} END)",
        f"(({props}) - {hidden_of_layers(layer, level)})",
        f"(CASE WHEN {layer}.attribute_sensitivity ? 'name' AND array_position({_LEVELS},"
        f" {layer}.attribute_sensitivity ->> 'name') > {rank} THEN NULL ELSE {name} END)",
    )


def generalised_layers(session: Session, who: Principal) -> list[int]:
    """Ids of the layers whose locations `who` sees generalised (readable or not: the list only
    says how a layer is shown, `visible` still says whether it is)."""
    return list(
        session.scalars(
            text(f"SELECT l.id FROM layers l WHERE {below_sql('l', ':level')} ORDER BY l.id"),
            {"level": clearance(who).value},
        )
    )


def seen_geojson(session: Session, geometry: dict[str, Any], mask: Mask) -> Any:
    """A GeoJSON geometry (EPSG:4326) as the caller behind `mask` may see it."""
    if mask.grid_m is None:
        return geometry
    shown = mask.geometry("ST_SetSRID(ST_GeomFromGeoJSON(CAST(:geojson AS text)), 4326)")
    found = session.scalar(
        text(f"SELECT ST_AsGeoJSON({shown}, 7)"),
        {"geojson": orjson.dumps(geometry).decode(), **mask.params()},
    )
    return orjson.loads(found)


def seen_properties(properties: dict[str, Any] | None, mask: Mask) -> dict[str, Any]:
    """Attributes without those the caller behind `mask` may not see."""
    return {k: v for k, v in (properties or {}).items() if k not in mask.hidden}


def _snapped(lon: float, lat: float, grid: int, outward: int) -> tuple[float, float]:
    """A corner moved outward (-1: down, 1: up) to the lines of the Web Mercator grid."""
    x, y = _TO_M.transform(lon, lat)
    snap = math.floor if outward < 0 else math.ceil
    return _TO_DEG.transform(snap(x / grid) * grid, snap(y / grid) * grid)


def described(description: dict[str, Any], mask: Mask) -> dict[str, Any]:
    """A layer's description (store/catalog.details, store/layers.describe_layer) as the
    caller behind `mask` may read it: no hidden attribute named (in `attributes`,
    `property_schema` or the style's `by`), and an extent no finer than the grid (its corners
    moved outward to the grid's lines in EPSG:3857)."""
    if mask.exact:
        return description
    out = dict(description)
    for key in ("attributes", "property_schema"):
        if isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k not in mask.hidden}
    style = out.get("style")
    if isinstance(style, dict) and style.get("by") in mask.hidden:
        out["style"] = {k: v for k, v in style.items() if k not in ("by", "categories")}
    extent = out.get("extent")
    if mask.grid_m is not None and extent:
        west, south = _snapped(extent[0], max(extent[1], -85.0), mask.grid_m, -1)
        east, north = _snapped(extent[2], min(extent[3], 85.0), mask.grid_m, 1)
        out["extent"] = [west, south, east, north]
    return out


def audit_read(
    session: Session, who: Principal, layer: Sensitive, count: int, channel: str
) -> None:
    """An audit row when a caller cleared for restricted records reads some of a restricted
    layer (`channel`: items, item, export)."""
    if layer.sensitivity != Level.restricted or count <= 0 or not mask_for(layer, who).exact:
        return
    audit.record(session, who, "read_restricted", layer_id=layer.id, layer_slug=layer.slug,
                 details={"count": count, "channel": channel})  # fmt: skip
