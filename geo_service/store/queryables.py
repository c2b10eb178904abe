"""What a filter, a sort or a property list may name in a layer: its queryables (Part 3).

A layer's queryables are `id`, `name`, `geom`, the fields of its kind (typed as the kind
declares them) and every attribute its features hold (typed as found: a reference layer keeps
its attributes as they came). The attributes are read once per layer version: any edit bumps the
version, so a new attribute is queryable as soon as it is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geo_service.domain.kinds import field_schemas
from geo_service.errors import InvalidInput
from geo_service.problems import joined, msg

GEOMETRY = {
    "title": "geom",
    "description": "The feature's geometry (WGS84, longitude/latitude)",
    "format": "geometry-any",
    "x-ogc-role": "primary-geometry",
}
_COLUMNS = {
    "id": {"title": "id", "type": "integer", "x-ogc-role": "id"},
    "name": {"title": "name", "type": "string"},
}
_FOUND = {"string": "string", "number": "number", "boolean": "boolean", "array": "array",
          "object": "object"}  # fmt: skip


_FOUND_CACHE: dict[tuple[str, int, int], dict[str, str]] = {}
_MAX_CACHED = 1024


def found_attributes(session: Session | Connection, layer_id: int, version: int) -> dict[str, str]:
    """Every attribute the layer's features hold, with its JSON type ("mixed" when features
    disagree), read once per layer version."""
    bind = session.get_bind() if isinstance(session, Session) else session
    key = (str(bind.engine.url), layer_id, version)
    cached = _FOUND_CACHE.get(key)
    if cached is not None:
        return cached
    rows = session.execute(
        text(
            """
            SELECT e.key, jsonb_typeof(e.value) FROM features f, jsonb_each(f.properties) e
             WHERE f.layer_id = :id AND jsonb_typeof(e.value) <> 'null'
             GROUP BY 1, 2 ORDER BY 1
            """
        ),
        {"id": layer_id},
    ).all()
    found: dict[str, str] = {}
    for name, typ in rows:
        found[name] = typ if name not in found else "mixed"
    if len(_FOUND_CACHE) >= _MAX_CACHED:
        _FOUND_CACHE.clear()
    _FOUND_CACHE[key] = found
    return found


def queryables(
    session: Session | Connection, layer_id: int, version: int, kind: str
) -> dict[str, Any]:
    """The JSON Schema of each queryable, by name: geometry, id and name, the kind's fields,
    then the attributes found in the features."""
    properties: dict[str, Any] = {"geom": GEOMETRY, **_COLUMNS}
    properties.update(field_schemas(kind))
    for name, typ in found_attributes(session, layer_id, version).items():
        if name not in properties:
            schema: dict[str, Any] = {"title": name}
            if typ in _FOUND:
                schema["type"] = _FOUND[typ]
            properties[name] = schema
    return properties


PYTHON_TYPES: dict[str, type] = {"integer": int, "number": float, "boolean": bool}


def typed_value(text_value: Any, schema: dict[str, Any] | None) -> Any:
    """A `property=value` parameter's text read as its queryable's type (a number for a
    number, true/false for a boolean); as it is when it is not one, or the type is unknown."""
    kind = PYTHON_TYPES.get(str((schema or {}).get("type")))
    try:
        if kind is bool:
            return {"true": True, "false": False}[str(text_value).lower()]
        return text_value if kind is None else kind(text_value)
    except (KeyError, ValueError):
        return text_value


def unknown_parameters(names: Iterable[str], known: Iterable[str]) -> InvalidInput:
    listed = sorted(set(names))
    return InvalidInput(
        msg(
            "params.unknown",
            s="s" if len(listed) > 1 else "",
            names=joined(listed[:20]),
            known=joined(sorted(known)),
        ),
        where={"query": listed[:20]},
    )
