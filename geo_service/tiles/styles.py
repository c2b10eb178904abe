"""MapLibre styles (Mapbox/MapLibre Style Specification v8) of layers, drawn as the map app draws
them, over our vector and raster tiles.

The colours are the app's: the kind registry's (domain/registry.py, which the app reads too),
applied by the rules of geo_service/reports/styles.py (those of web/static/app/styles.js): a
layer's own style first (its colour, the attribute
that colours it and a colour per value, the other values in the layer's colour), else its kind's
colours for one attribute (unknown values grey), its theme's colour or its palette colour. A
polygon is a fill and an outline, a line a line, a point a circle; a title's status dashes its
outline and fades dead titles. No labels: they need glyphs from a font server, and the service
runs without network.

Vector layers share one source (the combined tile of their slugs, as the app asks for it), each
raster layer has its own; layers are drawn in the order given, the first at the bottom.

    >>> zone = {"slug": "zones", "id": 1, "kind": "asm_zone", "theme": None, "style": {},
    ...         "storage": "vector", "geometry_types": ["POLYGON"]}
    >>> [layer["id"] for layer in style_layers(zone)]
    ['zones-fill', 'zones-outline']
    >>> style_layers(zone)[0]["paint"]["fill-color"][:4]
    ['match', ['to-string', ['get', 'status']], 'draft', '#969696']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from geo_service.domain.kinds import GEOMETRY_TYPES, Kind
from geo_service.reports.styles import (
    CONCESSION_STATUS,
    GREY,
    Look,
    Style,
    base_colour,
    colour_rule,
    feature_style,
)
from geo_service.settings import TileSettings
from geo_service.tiles import mvt, tilejson
from geo_service.tiles.raster import TILE_SIZE

VECTOR_SOURCE = "geo-service"
RASTER_OPACITY = 0.8  # as the embed page draws a raster layer over the basemap
# geometry family -> the geometry types a feature of it reports (with or without Multi).
FAMILIES = {
    "Polygon": ["Polygon", "MultiPolygon"],
    "LineString": ["LineString", "MultiLineString"],
    "Point": ["Point", "MultiPoint"],
}
_FAMILY_OF = {name.upper(): family for family, names in FAMILIES.items() for name in names}


def raster_source(slug: str) -> str:
    """The source id of a raster layer (a slug never holds a colon, so never clashes)."""
    return f"raster:{slug}"


def tile_params(described: list[dict[str, Any]], params: Mapping[str, str]) -> dict[str, str]:
    """The query parameters of the style's tile URLs: those of the style's request (a key, a
    property filter, `properties`), and every attribute a layer's own style colours by when a
    tile would not carry it otherwise (a kind's tile holds only its styling fields)."""
    given = mvt.tile_query(params).properties
    by = {d["style"]["by"]: d["kind"] for d in described if d["style"].get("by")}
    carried = [(keys := mvt.property_keys(kind, given)) is None or field in keys
               for field, kind in by.items()]  # fmt: skip
    if all(carried):
        return dict(params)
    return {**params, "properties": ",".join(sorted({*(given or ()), *by}))}


def _look(d: dict[str, Any]) -> Look:
    return Look(d["id"], d["kind"], d["theme"], d["style"])


def _match(field: str, values: Mapping[str, Any], fallback: Any) -> Any:
    """`values` by the text of the feature's `field` (as the app's String(value) reads it), else
    `fallback`; just `fallback` when no value differs from it."""
    cases = [part for value, out in values.items() if out != fallback for part in (value, out)]
    if not cases:
        return fallback
    return ["match", ["to-string", ["get", field]], *cases, fallback]


def _is(family: str) -> list[Any]:
    return ["match", ["geometry-type"], FAMILIES[family], True, False]


def _families(d: dict[str, Any]) -> list[str]:
    """The geometry families a layer holds; for an empty layer, those its kind allows."""
    found = {_FAMILY_OF.get(t.upper()) for t in d["geometry_types"]}
    if not found - {None}:
        allowed = GEOMETRY_TYPES.get(d["kind"])
        found = {_FAMILY_OF[t.upper()] for t in allowed or _FAMILY_OF}
    return [family for family in FAMILIES if family in found]  # polygons drawn first


def colour(look: Look) -> Any:
    """The colour of a layer's features: one colour, or a `match` on the attribute that
    colours them."""
    rule = colour_rule(look)
    if rule is None:
        return base_colour(look)
    return _match(rule.field, rule.colours, base_colour(look) if rule.own else GREY)


def _status_styles(look: Look) -> dict[str, Style]:
    """A title's look by status (dash, opacities); other kinds look the same whatever it is."""
    if look.kind != Kind.concession:
        return {}
    return {status: feature_style(look, {"status": status}) for status in CONCESSION_STATUS}


def _by_status(base: Style, statuses: dict[str, Style], member: str) -> Any:
    values = {status: getattr(style, member) for status, style in statuses.items()}
    return _match("status", values, getattr(base, member))


def _strokes(slug: str, name: str, family: str, look: Look) -> list[dict[str, Any]]:
    """Line layers of a layer's outlines or lines, one per dash pattern (MapLibre does not dash
    by feature): solid for every status that is not dashed."""
    base = feature_style(look, {})
    statuses = _status_styles(look)
    dashed: dict[tuple[float, ...], list[str]] = {}
    for status, style in statuses.items():
        if style.dash and style.dash != base.dash:
            dashed.setdefault(style.dash, []).append(status)
    in_dashed = [s for group in dashed.values() for s in group]
    groups: list[tuple[str, tuple[float, ...] | None, Any]] = [
        (
            f"{slug}-{name}",
            base.dash,
            ["!", ["match", ["to-string", ["get", "status"]], in_dashed, True, False]]
            if in_dashed
            else None,
        ),
        *(
            (
                f"{slug}-{name}-{group[0]}",
                dash,
                ["match", ["to-string", ["get", "status"]], group, True, False],
            )
            for dash, group in dashed.items()
        ),
    ]
    layers = []
    for layer_id, dash, only in groups:
        paint: dict[str, Any] = {
            "line-color": base.halo or colour(look),
            "line-width": base.width,
            "line-opacity": _by_status(base, statuses, "opacity"),
        }
        if dash:
            # Leaflet dashes in pixels, MapLibre in line widths.
            paint["line-dasharray"] = [part / base.width for part in dash]
        layers.append(
            {
                "id": layer_id,
                "type": "line",
                "source": VECTOR_SOURCE,
                "source-layer": slug,
                "filter": ["all", _is(family), only] if only else _is(family),
                "layout": {"line-join": "round", "line-cap": "round"},
                "paint": paint,
            }
        )
    return layers


def style_layers(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The style layers of one layer described by catalog.details."""
    slug = d["slug"]
    if d["storage"] == "raster":
        return [
            {
                "id": f"{slug}-raster",
                "type": "raster",
                "source": raster_source(slug),
                "paint": {"raster-opacity": RASTER_OPACITY},
            }
        ]
    look = _look(d)
    base = feature_style(look, {})
    statuses = _status_styles(look)
    layers: list[dict[str, Any]] = []
    for family in _families(d):
        if family == "Polygon":
            layers.append(
                {
                    "id": f"{slug}-fill",
                    "type": "fill",
                    "source": VECTOR_SOURCE,
                    "source-layer": slug,
                    "filter": _is(family),
                    "paint": {
                        "fill-color": colour(look),
                        "fill-opacity": _by_status(base, statuses, "fill_opacity"),
                    },
                }
            )
            layers += _strokes(slug, "outline", family, look)
        elif family == "LineString":
            layers += _strokes(slug, "line", family, look)
        else:
            layers.append(
                {
                    "id": f"{slug}-circle",
                    "type": "circle",
                    "source": VECTOR_SOURCE,
                    "source-layer": slug,
                    "filter": _is(family),
                    "paint": {
                        "circle-color": colour(look),
                        "circle-radius": base.radius,
                        "circle-opacity": base.fill_opacity,
                        "circle-stroke-color": base.halo or colour(look),
                        "circle-stroke-width": base.width,
                        "circle-stroke-opacity": base.opacity,
                    },
                }
            )
    return layers


def _source(document: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = {"type": "vector" if "vector_layers" in document else "raster"}
    source |= {k: document[k] for k in ("tiles", "minzoom", "maxzoom", "bounds", "attribution")
               if k in document}  # fmt: skip
    if source["type"] == "raster":
        source["tileSize"] = TILE_SIZE
    return source


def build(
    described: list[dict[str, Any]],
    base_url: str,
    params: Mapping[str, str],
    settings: TileSettings,
) -> dict[str, Any]:
    """The MapLibre style of layers described by catalog.details, in that order, their tiles
    served from `base_url` with the query parameters `params` (a key given in the style's URL
    reaches its tiles)."""
    chosen = tile_params(described, params)
    query, query_string = mvt.tile_query(chosen), urlencode(chosen)
    vectors = [d for d in described if d["storage"] == "vector"]
    sources: dict[str, Any] = {}
    if vectors:
        document = tilejson.document(vectors, base_url, query, query_string, settings)
        sources[VECTOR_SOURCE] = _source(document)
    for d in described:
        if d["storage"] == "raster":
            document = tilejson.document([d], base_url, query, query_string, settings)
            sources[raster_source(d["slug"])] = _source(document)
    style: dict[str, Any] = {
        "version": 8,
        "name": ", ".join(d["title"] for d in described),
        "sources": sources,
        "layers": [layer for d in described for layer in style_layers(d)],
    }
    bounds = tilejson.extent(described)
    if bounds:
        style["center"] = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2]
        style["zoom"] = tilejson.zoom_to_fit(bounds)
    return style
