"""The kinds of feature, declared once: fields, list fields, geometry types, how each is drawn,
and what screening makes of its layers.

Tiles (the styling fields each tile carries), TileJSON and the MapLibre styles, screening (which
layers answer for which category), the reports' maps and the web app all read this registry;
the app through `served()`, inlined in its pages and at `/kinds`, never a copy in JavaScript.

    >>> KINDS["concession"].colour_by, KINDS["concession"].colours["exploitation"]
    ('title_type', '#08306b')
    >>> screening_category("reference", "river")
    'rivers'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geo_service.domain import country_risk
from geo_service.domain.kinds import GEOMETRY_TYPES, THEMES, Kind, field_schemas

GREY = "#8c8c8c"  # "not assessed", and a kind's values without a colour of their own


@dataclass(frozen=True)
class KindSpec:
    """One kind: the attributes a tile carries to draw it (`style_fields`), those that hold
    lists, the attribute that colours it with a colour per value (legend order), optional
    outlines by another attribute, its screening category, and its place in the layer panel
    (`order`) and on the map (`z_index`, higher on top)."""

    kind: str
    style_fields: tuple[str, ...] = ()
    list_fields: tuple[str, ...] = ()
    colour_by: str | None = None
    colours: dict[str, str] = field(default_factory=dict)
    outline_by: str | None = None
    outlines: dict[str, dict[str, Any]] = field(default_factory=dict)
    screening: str | None = None
    order: int = 0
    z_index: int = 10

    @property
    def geometry_types(self) -> list[str] | None:
        allowed = GEOMETRY_TYPES[Kind(self.kind)]
        return None if allowed is None else sorted(allowed)


KINDS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            "asm_zone",
            style_fields=("status", "code"),
            list_fields=("minerals",),
            colour_by="status",
            colours={
                "draft": "#969696",
                "proposed": "#fd8d3c",
                "in_consultation": "#9e58c7",
                "gazetted": "#238b45",
                "suspended": "#cb181d",
                "retired": "#252525",
            },  # fmt: skip
            screening="asm_zones",
            order=0,
            z_index=30,
        ),
        KindSpec(
            "mine_site",
            style_fields=("qualification", "code", "scale", "activity_status"),
            list_fields=("minerals",),
            colour_by="qualification",
            colours={
                "green": "#1a9641",
                "yellow": "#e6b800",
                "red": "#d7191c",
                "not_assessed": GREY,
            },  # fmt: skip
            screening="mine_sites",
            order=1,
            z_index=60,
        ),
        KindSpec(
            "concession",
            style_fields=("title_type", "status", "code", "holder"),
            list_fields=("minerals",),
            colour_by="title_type",
            colours={
                "reconnaissance": "#9ecae1",
                "exploration": "#4292c6",
                "exploitation": "#08306b",
                "small_scale_exploitation": "#807dba",
                "asm_authorisation": "#54278f",
                "quarry": "#a6761d",
            },  # fmt: skip
            # A title's status draws its outline: live titles solid, applications dashed, dead
            # ones faint. `dash` is in pixels on, off (and on, off again).
            outline_by="status",
            outlines={
                "application": {"dash": [6, 4], "fill_opacity": 0.15},
                "active": {"fill_opacity": 0.3},
                "force_majeure": {"dash": [2, 3], "fill_opacity": 0.3},
                "renewal": {"dash": [8, 3, 2, 3], "fill_opacity": 0.3},
                "expired": {"fill_opacity": 0.05, "opacity": 0.45},
                "revoked": {"fill_opacity": 0.05, "opacity": 0.45},
                "relinquished": {"fill_opacity": 0.05, "opacity": 0.45},
            },
            screening="concessions",
            order=2,
            z_index=20,
        ),
        KindSpec(
            "tailings_facility",
            style_fields=("consequence", "status"),
            colour_by="consequence",
            colours={
                "low": "#1a9850",
                "significant": "#e6b800",
                "high": "#fc8d59",
                "very_high": "#d73027",
                "extreme": "#67001f",
            },  # fmt: skip
            screening="tailings",
            order=3,
            z_index=40,
        ),
        KindSpec(
            "abandoned_mine",
            style_fields=("rehabilitation", "hazards"),
            list_fields=("minerals", "hazards"),
            colour_by="rehabilitation",
            colours={
                "none": "#8c510a",
                "planned": "#bf812d",
                "in_progress": "#dfc27d",
                "completed": "#80cdc1",
            },  # fmt: skip
            screening="abandoned_mines",
            order=4,
            z_index=50,
        ),
        KindSpec(
            "trade_point",
            style_fields=("type", "name"),
            list_fields=("minerals",),
            colour_by="type",
            colours={
                "trading_centre": "#6a3d9a",
                "buying_centre": "#1f78b4",
                "roadblock": "#e31a1c",
                "border_crossing": "#ff7f00",
            },  # fmt: skip
            order=6,
            z_index=55,
        ),
        KindSpec(
            "trade_route",
            style_fields=("legality", "mineral", "name"),
            list_fields=("via", "stages"),
            colour_by="legality",
            colours={
                "licit": "#54278f",
                "suspected": "#fd8d3c",
                "illicit": "#d7301f",
                "unknown": GREY,
            },  # fmt: skip
            order=7,
            z_index=15,
        ),
        KindSpec(
            "asm_permit",
            style_fields=("category", "status", "number", "holder", "expires"),
            list_fields=("minerals",),
            colour_by="category",
            colours={
                "prospecting": "#6baed6",
                "mining": "#e6550d",
                "processing": "#756bb1",
                "trading": "#31a354",
            },  # fmt: skip
            order=8,
            z_index=55,
        ),
        KindSpec("reference", order=5, z_index=10),
    )
}

# A reference layer's theme: its colour, and the screening category its layers answer for.
THEME_COLOURS = {
    "protected_area": "#2ca25f",
    "biodiversity": "#66c2a4",
    "forest": "#006d2c",
    "river": "#2b8cbe",
    "water_body": "#74a9cf",
    "settlement": "#3f3f3f",
    "road": "#8c6d31",
    "admin_boundary": "#6a51a3",
}
THEME_SCREENING = {
    "protected_area": "protected_areas",
    "biodiversity": "protected_areas",
    "river": "rivers",
    "water_body": "rivers",
    "settlement": "settlements",
}
LIST_FIELDS = frozenset(name for spec in KINDS.values() for name in spec.list_fields)


def screening_category(kind: str, theme: str | None) -> str | None:
    """The screening category a layer of `kind` (and `theme`, for a reference layer) is in."""
    spec = KINDS.get(kind)
    if spec is not None and spec.screening is not None:
        return spec.screening
    return THEME_SCREENING.get(theme or "")


def screening_case_sql(alias: str) -> str:
    """A SQL CASE giving the screening category of layers `alias`, from the registry (our own
    constants, never user input)."""
    whens = [
        f"WHEN {alias}.kind = '{spec.kind}' THEN '{spec.screening}'"
        for spec in KINDS.values()
        if spec.screening is not None
    ]
    by_theme: dict[str, list[str]] = {}
    for theme, category in THEME_SCREENING.items():
        by_theme.setdefault(category, []).append(theme)
    whens += [
        f"WHEN {alias}.theme IN ({', '.join(repr(t) for t in themes)}) THEN '{category}'"
        for category, themes in by_theme.items()
    ]
    return "CASE " + " ".join(whens) + " END"


def served() -> dict[str, Any]:
    """The registry as JSON, for the web app and other clients (`/kinds`)."""
    return {
        "kinds": {
            spec.kind: {
                "fields": field_schemas(spec.kind),
                "geometry_types": spec.geometry_types,
                "style_fields": list(spec.style_fields),
                "list_fields": list(spec.list_fields),
                "colour_by": spec.colour_by,
                "colours": spec.colours,
                "outline_by": spec.outline_by,
                "outlines": spec.outlines,
                "screening": spec.screening,
                "order": spec.order,
                "z_index": spec.z_index,
            }
            for spec in sorted(KINDS.values(), key=lambda s: s.order)
        },
        "themes": {
            theme: {"colour": THEME_COLOURS.get(theme), "screening": THEME_SCREENING.get(theme)}
            for theme in THEMES
        },
        "grey": GREY,
        "country_risk": country_risk.served(),
    }
