"""What every analysis shares: finding a layer by slug and turning property filters into SQL.

Filters are `{property: value}` equality maps; a list value means any of them:

    >>> sql, params = property_filter({"status": ["active", "renewal"]}, "f", "s")
    >>> sql
    '(f.properties -> :s_k0 = ANY(CAST(:s_v0 AS jsonb[])))'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.errors import InvalidInput, UnknownLayer

Filter = dict[str, Any]


@dataclass(frozen=True)
class LayerRef:
    id: int
    slug: str
    kind: str
    theme: str | None
    storage: str
    raster_path: str | None


def layer_ref(
    session: Session, slug: str, who: Principal, storage: str | None = "vector"
) -> LayerRef:
    """The layer named `slug` if `who` may read it; UnknownLayer if not (or if there is none),
    InvalidInput if its storage is not `storage`."""
    readable, access = visible(who, "l")
    row = session.execute(
        text(
            "SELECT id, slug, kind, theme, storage, raster_path FROM layers l "
            f"WHERE slug = :slug AND {readable}"
        ),
        {"slug": slug, **access},
    ).first()
    if row is None:
        raise UnknownLayer(f"No layer named '{slug}'", where={"layer": slug})
    ref = LayerRef(*row)
    if storage is not None and ref.storage != storage:
        raise InvalidInput(
            f"Layer '{slug}' is a {ref.storage} layer; this analysis needs a {storage} layer",
            where={"layer": slug},
        )
    return ref


def property_filter(filters: Filter | None, alias: str, prefix: str) -> tuple[str, dict[str, Any]]:
    """SQL (on `alias`.properties) and bind parameters for an equality filter; 'TRUE' if empty.

    Keys and values travel as bind parameters; only the parameter names are formatted in.
    """
    if not filters:
        return "TRUE", {}
    if not isinstance(filters, dict):
        raise InvalidInput(
            "A filter must be an object of {property: value}", where={prefix: filters}
        )
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for i, (key, value) in enumerate(filters.items()):
        values = value if isinstance(value, list) else [value]
        if not values:
            raise InvalidInput(f"Filter on '{key}' lists no values", where={prefix: key})
        clauses.append(
            f"{alias}.properties -> :{prefix}_k{i} = ANY(CAST(:{prefix}_v{i} AS jsonb[]))"
        )
        params[f"{prefix}_k{i}"] = str(key)
        params[f"{prefix}_v{i}"] = [orjson.dumps(v).decode() for v in values]
    return "(" + " AND ".join(clauses) + ")", params


def ref(feature_id: int | None, name: str | None) -> dict[str, Any] | None:
    """How a feature is named in results: {"id", "name"}."""
    return None if feature_id is None else {"id": feature_id, "name": name}


def geometry(value: str | bytes | None) -> Any:
    """A GeoJSON geometry from PostGIS's ST_AsGeoJSON text (None stays None)."""
    return None if value is None else orjson.loads(value)
