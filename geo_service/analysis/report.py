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

LEAFLET = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "leaflet"

# One colour per screening category (and one for plain rows), readable on a white page.
COLOURS = {
    "zone": "#1f78b4",
    "concessions": "#e31a1c",
    "protected_areas": "#33a02c",
    "asm_zones": "#ff7f00",
    "rows": "#6a3d9a",
}


@lru_cache
def _leaflet() -> tuple[str, str]:
    js = (LEAFLET / "leaflet.js").read_text(encoding="utf-8")
    css = (LEAFLET / "leaflet.css").read_text(encoding="utf-8")
    # A </script> inside the inlined text would end the element early.
    return js.replace("</script", "<\\/script"), css


def _style(feature: dict[str, Any]) -> dict[str, Any]:
    colour = COLOURS.get(feature["properties"].get("category", "rows"), COLOURS["rows"])
    return {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.35}


def to_html(result: dict[str, Any], title: str) -> str:
    """A standalone HTML page (UTF-8) mapping the rows that carry geometry, with a tooltip of
    each row's figures (hectares, metres) and the title on top."""
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
    if collection["features"]:
        # The tooltip needs every field on every feature; screening categories differ.
        fields = sorted({k for f in collection["features"] for k in f["properties"]})
        for feature in collection["features"]:
            feature["properties"] = {k: feature["properties"].get(k) for k in fields}
        folium.GeoJson(
            collection,
            name=title,
            style_function=_style,
            marker=folium.CircleMarker(radius=5),
            tooltip=folium.GeoJsonTooltip(fields=fields),
        ).add_to(m)
        (south, west), (north, east) = folium.GeoJson(collection).get_bounds()
        m.fit_bounds([[south or 0.0, west or 0.0], [north or 0.0, east or 0.0]])
    return root.render()
