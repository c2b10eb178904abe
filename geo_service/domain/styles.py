"""How a layer is drawn: its colour, the attribute that colours its features, and the palette
that gives every layer and every category a colour of its own.

A style is {"colour": "#rrggbb", "by": attribute, "categories": {value: "#rrggbb"}}, every
member optional; {} means the defaults: the colours of the layer's kind or theme, else the
palette's colour for the layer's id, so that two uploaded layers never look alike.

    >>> palette_colour(1), palette_colour(13)
    ('#1f77b4', '#1f77b4')
    >>> check_style({"colour": "#E7298A", "by": "usage"})
    {'colour': '#e7298a', 'by': 'usage'}
"""

from __future__ import annotations

import re
from typing import Any

from geo_service.errors import InvalidInput
from geo_service.problems import msg

# Twelve colours told apart on a phone in the sun, none the grey of "not assessed".
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#843c39",
    "#637939",
)
MAX_CATEGORIES = len(PALETTE)  # more values than colours: the rest take the layer's colour
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
STYLE_MEMBERS = ("colour", "by", "categories")


def palette_colour(n: int) -> str:
    """The n-th colour of the palette (1-based, as layer ids are), round and round."""
    return PALETTE[(n - 1) % len(PALETTE)]


def _colour(value: Any, where: dict[str, Any]) -> str:
    if not isinstance(value, str) or not COLOUR.fullmatch(value):
        raise InvalidInput(msg("style.colour"), where=where)
    return value.lower()


def check_style(style: dict[str, Any]) -> dict[str, Any]:
    """The style with its colours checked and written in lower case; members left out or null
    are not kept."""
    unknown = sorted(set(style) - set(STYLE_MEMBERS))
    if unknown:
        raise InvalidInput(
            msg("style.members", members=", ".join(STYLE_MEMBERS), unknown=", ".join(unknown)),
            where={"field": "style", "members": unknown},
        )
    checked: dict[str, Any] = {}
    if style.get("colour") is not None:
        checked["colour"] = _colour(style["colour"], {"field": "style.colour"})
    if style.get("by") is not None:
        by = style["by"]
        if not isinstance(by, str) or not 0 < len(by) <= 200:
            raise InvalidInput(msg("style.by"), where={"field": "style.by"})
        checked["by"] = by
    if style.get("categories") is not None:
        if "by" not in checked:
            raise InvalidInput(msg("style.categories_by"), where={"field": "style.categories"})
        categories = style["categories"]
        if not isinstance(categories, dict) or len(categories) > 100:
            raise InvalidInput(msg("style.categories"), where={"field": "style.categories"})
        checked["categories"] = {
            str(value): _colour(colour, {"field": "style.categories", "value": str(value)[:200]})
            for value, colour in categories.items()
        }
    return checked


def auto_categories(values: list[str]) -> dict[str, str]:
    """A colour for each of `values` (the most frequent first), in the palette's order."""
    return {value: PALETTE[i] for i, value in enumerate(values[:MAX_CATEGORIES])}
