"""An analysis result as a self-contained folium HTML map that works offline.

folium links Leaflet, jQuery and Bootstrap from CDNs by default; those links are dropped and our
vendored Leaflet (web/static/vendor/leaflet, from npm) is inlined instead, so a map downloaded
from a field office with no connection still opens. There is no basemap for the same reason.

    >>> html = to_html(overlap(session, "asm-zones", "concessions", with_geometry=True), "Overlap")
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
from branca.element import Element

from geo_service.analysis.export import to_geojson
from geo_service.analysis.messages import MESSAGES, Lang, number, reason, text

LEAFLET = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "leaflet"

# One colour per screening category (and one for plain rows), readable on a white page.
COLOURS = {
    "zone": "#1f78b4",
    "concessions": "#e31a1c",
    "protected_areas": "#33a02c",
    "asm_zones": "#ff7f00",
    "rows": "#6a3d9a",
}
VERDICT_COLOURS = {"pass": "#1a9641", "warn": "#b35806", "fail": "#d7191c"}


@lru_cache
def _leaflet() -> tuple[str, str]:
    js = (LEAFLET / "leaflet.js").read_text(encoding="utf-8")
    css = (LEAFLET / "leaflet.css").read_text(encoding="utf-8")
    # A </script> inside the inlined text would end the element early.
    return js.replace("</script", "<\\/script"), css


def _style(feature: dict[str, Any]) -> dict[str, Any]:
    colour = COLOURS.get(feature["properties"].get("category", "rows"), COLOURS["rows"])
    return {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.35}


def _rules_panel(result: dict[str, Any], lang: Lang) -> str:
    """A screening's area, overall verdict and every rule with its reason, in `lang`."""

    def verdict(value: str) -> str:
        colour = VERDICT_COLOURS[value]
        label = html.escape(text(f"verdict.{value}", lang))
        return f'<b class="verdict-{value}" style="color:{colour}">{label}</b>'

    area = text("screen.area", lang, ha=number(result["area_ha"], 2, lang))
    rules = "".join(
        f"<li>{verdict(rule['verdict'])} {html.escape(text('rule.' + rule['id'], lang))} — "
        f"{html.escape(reason(rule['code'], rule['params'], lang))}</li>"
        for rule in result["rules"]
    )
    return (
        '<div id="screening-rules" style="position:fixed;top:40px;right:8px;z-index:1000;'
        "max-width:380px;max-height:80vh;overflow:auto;background:#fff;padding:4px 8px;"
        'font:13px sans-serif">'
        f"<p>{html.escape(area)} — {verdict(result['verdict'])}</p>"
        f"<h4>{html.escape(text('screen.rules', lang))}</h4><ul>{rules}</ul></div>"
    )


def _alias(field: str, lang: Lang) -> str:
    """The tooltip label of a property: the report's own word for it, else the key itself."""
    return MESSAGES[lang].get(f"report.{field}", field)


def to_html(result: dict[str, Any], title: str, lang: Lang = "en") -> str:
    """A standalone HTML page (UTF-8) mapping the rows that carry geometry, with a tooltip of
    each row's figures (hectares, metres) and the title on top; a screening also lists its
    rules with their verdicts and reasons. Labels and reasons are in `lang` (en or fr)."""
    collection = to_geojson(result)
    m = folium.Map(tiles=None, control_scale=True, zoom_start=2, location=[0, 0])
    m.default_js = []
    m.default_css = []
    js, css = _leaflet()
    root: Any = m.get_root()  # a branca Figure: header, html and script sections
    header = root.header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js")
    root.html.add_child(
        Element(
            '<div style="position:fixed;top:8px;left:50px;z-index:1000;background:#fff;'
            f'padding:4px 8px;font:14px sans-serif">{html.escape(title)}</div>'
        )
    )
    if "rules" in result:
        root.html.add_child(Element(_rules_panel(result, lang)), name="screening_rules")
    features = collection["features"]
    if features:
        # A screening's category picks the colour; the tooltip names it (and the verdict) in
        # `lang` instead.
        labelled = [f["properties"] for f in features if "category" in f["properties"]]
        for props in labelled:
            key = "report.zone" if props["category"] == "zone" else f"conflict.{props['category']}"
            props["what"] = MESSAGES[lang].get(key, props["category"])
            if "verdict" in props:
                props["verdict"] = text(f"verdict.{props['verdict']}", lang)
        # The tooltip needs every field on every feature; screening categories differ.
        shown = sorted({k for f in features for k in f["properties"]} - {"category", "what"})
        fields = ["what", *shown] if labelled else shown
        for feature in features:
            props = feature["properties"]
            feature["properties"] = {k: props.get(k) for k in fields}
            if "category" in props:
                feature["properties"]["category"] = props["category"]
        folium.GeoJson(
            collection,
            name=title,
            style_function=_style,
            marker=folium.CircleMarker(radius=5),
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[_alias(f, lang) for f in fields]),
        ).add_to(m)
        (south, west), (north, east) = folium.GeoJson(collection).get_bounds()
        m.fit_bounds([[south or 0.0, west or 0.0], [north or 0.0, east or 0.0]])
    return root.render()
