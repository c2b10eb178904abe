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

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from geo_service.db import audit
from geo_service.domain.access import Principal
from geo_service.domain.sensitivity import Level, grid_m, hidden_attributes

# The layer's settings (db/models.Layer), which only an admin sets and sees.
SENSITIVITY = ("sensitivity", "attribute_sensitivity", "generalise", "generalise_m")
_LEVELS = "ARRAY['public', 'partner', 'internal', 'restricted']"


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
        f" WHERE al.kind = 'admin_boundary' AND al.visibility = 'public'"
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


def of_layers(geom: str, props: str, name: str, layer: str, level: str) -> tuple[str, str, str]:
    """(geometry, properties, name) SQL for features of the layers aliased `layer`, read by a
    caller cleared to `level` (a SQL text): the rule of `Mask`, for a query of many layers."""
    rank = f"array_position({_LEVELS}, {level})"
    below = f"array_position({_LEVELS}, {layer}.sensitivity) > {rank}"
    hidden = (
        f"ARRAY(SELECT s.key FROM jsonb_each_text({layer}.attribute_sensitivity) s"
        f" WHERE array_position({_LEVELS}, s.value) > {rank})"
    )
    grid = f"CAST({layer}.generalise_m AS float8)"
    shown = generalised(geom, grid, f"{layer}.generalise = 'admin'")
    return (
        f"(CASE WHEN {below} THEN {shown} ELSE {geom} END)",
        f"(({props}) - {hidden})",
        f"(CASE WHEN {layer}.attribute_sensitivity ? 'name' AND array_position({_LEVELS},"
        f" {layer}.attribute_sensitivity ->> 'name') > {rank} THEN NULL ELSE {name} END)",
    )


def audit_read(
    session: Session, who: Principal, layer: Sensitive, count: int, channel: str
) -> None:
    """An audit row when a caller cleared for restricted records reads some of a restricted
    layer (`channel`: items, item, export)."""
    if layer.sensitivity != Level.restricted or count <= 0 or not mask_for(layer, who).exact:
        return
    audit.record(session, who, "read_restricted", layer_id=layer.id, layer_slug=layer.slug,
                 details={"count": count, "channel": channel})  # fmt: skip
