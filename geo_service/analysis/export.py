"""Analysis results as tables (CSV) and as GeoJSON, whatever the analysis.

Every result is a dict with `rows` (overlap, proximity, zonal) or with `rules` and `conflicts`
(screening). Nested references flatten to columns (`source.id` -> `source_id`), the attributes a
side carries to `source.<attribute>` columns (in the result's `source_fields` order, right after
`source_name`; the dot keeps them apart from our own `source_id` when a file has an `id` too),
classes of a categorical raster to `class_<value>` columns, lists to `;`-joined text.

    >>> to_csv({"rows": [{"source": {"id": 1, "name": "A"}, "distance_m": 12.5}]})
    'source_id,source_name,distance_m\\r\\n1,A,12.5\\r\\n'

A CSV for download (`bom=True`) starts with a UTF-8 byte-order mark: Excel, in French locales
too, opens a CSV without one in the ANSI code page (cp1252) and turns "Forêt classée" into
"ForÃªt classÃ©e"; LibreOffice, QGIS, pandas and Python's "utf-8-sig" read the mark as what it
is. What a program prints to a pipe has none.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

Carried = dict[str, list[str]]  # side ("source", "target") -> attributes carried, in order


def _flat(row: dict[str, Any], carried: Carried | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "geometry":
            continue
        if isinstance(value, dict):
            prefix = "class" if key == "classes" else key
            for sub, v in value.items():
                if sub != "properties":
                    out[f"{prefix}_{sub}"] = v
        elif value is None and key in ("source", "target", "zone"):
            out[f"{key}_id"] = out[f"{key}_name"] = None
        elif isinstance(value, list):
            out[key] = ";".join(str(v) for v in value)
        else:
            out[key] = value
        if carried and key in carried:
            attributes = (value or {}).get("properties") or {}
            for field in carried[key]:
                out[f"{key}.{field}"] = attributes.get(field)
    return out


def records(result: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """(flat properties, GeoJSON geometry or None) for every row of any analysis result."""
    if "rows" in result:
        carried = {side: result.get(f"{side}_fields") or [] for side in ("source", "target")}
        return [(_flat(row, carried), row.get("geometry")) for row in result["rows"]]
    zone = {"category": "zone", "area_ha": result["area_ha"], "verdict": result["verdict"]}
    out = [(zone, result.get("geometry"))]
    out += [({"category": "rule", **_flat(rule)}, None) for rule in result["rules"]]
    for category, items in result["conflicts"].items():
        out += [({"category": category, **_flat(item)}, item.get("geometry")) for item in items]
    return out


def _cell(value: Any) -> Any:
    """A carried attribute that is an object or a list goes into its cell as JSON text."""
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else value


def to_csv(result: dict[str, Any], bom: bool = False) -> str:
    """One line per row (per rule and conflict for screening) under a header line; columns are
    the union of keys, in the order first met. `bom` puts the UTF-8 byte-order mark first."""
    rows = [{k: _cell(v) for k, v in props.items()} for props, _ in records(result)]
    columns: dict[str, None] = {}
    for props in rows:
        columns.update(dict.fromkeys(props))
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def to_geojson(result: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection (EPSG:4326) of the rows that carry a geometry."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": geom, "properties": props}
            for props, geom in records(result)
            if geom is not None
        ],
    }
