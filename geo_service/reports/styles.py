"""How a report's map draws each feature: the map app's colours, so paper and screen agree.

The colours of kinds and themes are the registry's (domain/registry.py), which the app reads
too; the rules that apply them (a layer's own style, else its kind's colours by one attribute,
its theme's colour or its palette colour) are web/static/app/styles.js's, and zones.js /
research.js draw the zone, its conflicts and analysis results; tests/analysis/test_report.py
checks that they still agree.

    >>> colour_of(Look(3, "concession", None, {}), {"title_type": "exploitation"})
    '#08306b'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geo_service.domain.registry import GREY, KINDS, THEME_COLOURS
from geo_service.domain.styles import palette_colour

# kind -> (attribute, {value: colour}) and theme -> colour: the registry's, as the app's.
BY_KIND: dict[str, tuple[str, dict[str, str]]] = {
    kind: (spec.colour_by, spec.colours) for kind, spec in KINDS.items() if spec.colour_by
}
BY_THEME = THEME_COLOURS


@dataclass(frozen=True)
class Style:
    """How one shape is drawn: outline colour, width (px) and opacity, fill colour and opacity
    (0..1), a dash pattern (px on, px off) or none, and the radius of a point (px)."""

    colour: str
    fill: str | None = None
    width: float = 1.5
    fill_opacity: float = 0.3
    opacity: float = 0.9
    dash: tuple[float, ...] | None = None  # px on, px off (and on, off again)
    radius: float = 5.0
    halo: str | None = None  # outline of a point, drawn around its fill


ZONE = Style("#0868ac", fill="#43a2ca", width=3, fill_opacity=0.2, opacity=1)  # zones.js
CONFLICT = Style("#d7191c", fill="#d7191c", width=3, fill_opacity=0.45, dash=(4, 3), opacity=1)
# A title's status draws its outline (the registry's outlines): live titles solid, applications
# and suspended ones dashed, dead ones faint.
CONCESSION_STATUS: dict[str, dict[str, Any]] = {
    status: {
        **({"dash": tuple(look["dash"])} if "dash" in look else {}),
        **{k: v for k, v in look.items() if k in ("fill_opacity", "opacity")},
    }
    for status, look in KINDS["concession"].outlines.items()
}
# The first of the research panel's result colours (RESULT_COLOURS in research.js).
RESULT = Style("#ff00ff", fill="#ff00ff", width=3, fill_opacity=0.35, radius=7)


@dataclass(frozen=True)
class Look:
    """What decides a layer's colours: its id (its palette colour), kind, theme, own style."""

    id: int
    kind: str
    theme: str | None = None
    style: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """The attribute that colours a layer's features, a colour per value, and whether it is
    the layer's own (other values take the layer's colour) or its kind's (other values grey)."""

    field: str
    colours: dict[str, str]
    own: bool


def base_colour(look: Look) -> str:
    """The layer's one colour: its style's, its theme's, else its palette colour."""
    return look.style.get("colour") or BY_THEME.get(look.theme or "") or palette_colour(look.id)


def colour_rule(look: Look) -> Rule | None:
    if look.style.get("by"):
        return Rule(look.style["by"], look.style.get("categories") or {}, own=True)
    if look.kind in BY_KIND:
        attribute, colours = BY_KIND[look.kind]
        return Rule(attribute, colours, own=False)
    return None


def as_key(raw: Any) -> str:
    """An attribute value as the app's String(value) writes it, to look up its colour."""
    return str(raw).lower() if isinstance(raw, bool) else str(raw)


def colour_of(look: Look, properties: dict[str, Any]) -> str:
    """The colour the map app gives a feature with `properties` of the layer `look`."""
    rule = colour_rule(look)
    if rule is None:
        return base_colour(look)
    raw = properties.get(rule.field)
    found = rule.colours.get(as_key(raw)) if raw is not None else None
    return found or (base_colour(look) if rule.own else GREY)


def feature_style(look: Look, properties: dict[str, Any]) -> Style:
    """The app's style of a feature (featureStyle in styles.js), without its tile details."""
    colour = colour_of(look, properties)
    if look.kind in ("mine_site", "abandoned_mine") or look.theme == "settlement":
        return Style(colour, fill=colour, width=1, fill_opacity=0.85, radius=6, halo="#ffffff")
    if look.kind == "asm_zone":
        return Style(colour, fill=colour, width=2.5, fill_opacity=0.25)
    if look.theme == "protected_area":
        return Style(colour, fill=colour, width=2, fill_opacity=0.15, dash=(5, 3))
    if look.theme == "river":
        return Style(colour, width=2)
    if look.kind == "concession":
        status = CONCESSION_STATUS.get(str(properties.get("status")), {})
        return Style(colour, fill=colour, **status)
    return Style(colour, fill=colour)
