"""Analysis results as tables (CSV) and as GeoJSON, whatever the analysis.

Every result is a dict with `rows` (overlap, proximity, zonal) or with `rules` and `conflicts`
(screening). Nested references flatten to columns (`source.id` -> `source_id`), classes of a
categorical raster to `class_<value>` columns, lists to `;`-joined text.

    >>> to_csv({"rows": [{"source": {"id": 1, "name": "A"}, "distance_m": 12.5}]})
    'source_id,source_name,distance_m\\r\\n1,A,12.5\\r\\n'
"""

from __future__ import annotations

import csv
import io
from typing import Any


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "geometry":
            continue
        if isinstance(value, dict):
            prefix = "class" if key == "classes" else key
            for sub, v in value.items():
                out[f"{prefix}_{sub}"] = v
        elif value is None and key in ("source", "target", "zone"):
            out[f"{key}_id"] = out[f"{key}_name"] = None
        elif isinstance(value, list):
            out[key] = ";".join(str(v) for v in value)
        else:
            out[key] = value
    return out


def records(result: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """(flat properties, GeoJSON geometry or None) for every row of any analysis result."""
    if "rows" in result:
        return [(_flat(row), row.get("geometry")) for row in result["rows"]]
    zone = {"category": "zone", "area_ha": result["area_ha"], "verdict": result["verdict"]}
    out = [(zone, result.get("geometry"))]
    out += [({"category": "rule", **_flat(rule)}, None) for rule in result["rules"]]
    for category, items in result["conflicts"].items():
        out += [({"category": category, **_flat(item)}, item.get("geometry")) for item in items]
    return out


def to_csv(result: dict[str, Any]) -> str:
    """One line per row (per rule and conflict for screening); columns are the union of keys."""
    rows = [props for props, _ in records(result)]
    columns: dict[str, None] = {}
    for props in rows:
        columns.update(dict.fromkeys(props))
    buffer = io.StringIO()
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
