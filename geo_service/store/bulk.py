"""The bulk write of an import: features streamed into PostGIS by one binary COPY (or staged
and upserted by a key), in the caller's transaction. io/load.py reads and checks the file; this
is the SQL of putting it in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# COPY in binary: PostgreSQL reads each value with its column's own binary input, so geometries
# go as the WKB shapely writes (no hex to write and parse; the column's SRID is given to them)
# and properties as jsonb's binary form, a version byte and the JSON text. psycopg passes both
# as they are ("bytea": bytes written unchanged).
_COPY_FEATURES = (
    "COPY features (layer_id, name, properties, geom, whole, created_by, updated_by)"
    " FROM STDIN (FORMAT BINARY)"
)
_FEATURE_TYPES = ("int4", "text", "bytea", "bytea", "bool", "text", "text")
# `whole` (migrations 0002, 0011): read whole by analyses, not cut into pieces. A trigger
# computes it for a row that does not give it; an import gives it from the checks it has just
# made (io/load.py), sparing PostgreSQL a second validity test of every geometry. It must mean
# what the trigger's expression does: not empty, at most this many points, valid.
WHOLE_MAX_POINTS = 256
_STAGE = """
CREATE TEMP TABLE import_stage (name text, properties jsonb, geom geometry(Geometry, 4326))
ON COMMIT DROP
"""
_COPY_STAGE = "COPY import_stage (name, properties, geom) FROM STDIN (FORMAT BINARY)"
_STAGE_TYPES = ("text", "bytea", "bytea")
_JSONB = b"\x01"  # the version byte of jsonb's binary form
# Features whose key matches a staged row take its name, attributes and geometry (the history
# trigger keeps the old version); staged rows matching nothing are inserted.
_UPSERT_UPDATE = """
UPDATE features f
   SET name = s.name, properties = s.properties, geom = s.geom, updated_by = :user
  FROM import_stage s
 WHERE f.layer_id = :layer AND f.properties ->> :key = s.properties ->> :key
"""
_UPSERT_INSERT = """
INSERT INTO features (layer_id, name, properties, geom, created_by, updated_by)
SELECT :layer, s.name, s.properties, s.geom, :user, :user
  FROM import_stage s
 WHERE NOT EXISTS (SELECT 1 FROM features f
                    WHERE f.layer_id = :layer AND f.properties ->> :key = s.properties ->> :key)
"""


def _copy(
    session: Session,
    sql: str,
    types: tuple[str, ...],
    rows: Iterator[tuple[Any, ...]],
    written: Callable[[int], None],
    every: int,
) -> None:
    """Stream `rows` through a binary COPY of columns of `types` on the session's own
    connection (same transaction), saying every `every` rows how many are written."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(types)
        for n, row in enumerate(rows, 1):
            copy.write_row(row)
            if n % every == 0:
                written(n)


def write(
    session: Session,
    layer_id: int,
    prepared: Iterable[tuple[str | None, bytes, bytes, bool]],
    actor: str,
    upsert_key: str | None,
    written: Callable[[int], None],
    every: int = 10_000,
) -> dict[str, int]:
    """Insert features (name, properties as JSON bytes, WKB in EPSG:4326, `whole`: see
    WHOLE_MAX_POINTS), checked already, into the layer `layer_id` in one COPY; or upsert them by
    the attribute `upsert_key` (features whose key matches take the new name, attributes and
    geometry)."""
    if not upsert_key:
        rows: Iterator[tuple[Any, ...]] = (
            (layer_id, name, _JSONB + props, geom, whole, actor, actor)
            for name, props, geom, whole in prepared
        )
        _copy(session, _COPY_FEATURES, _FEATURE_TYPES, rows, written, every)
        return {}
    session.execute(text(_STAGE))
    rows = ((name, _JSONB + props, geom) for name, props, geom, _ in prepared)
    _copy(session, _COPY_STAGE, _STAGE_TYPES, rows, written, every)
    params = {"layer": layer_id, "key": upsert_key, "user": actor}
    updated = _rowcount(session.execute(text(_UPSERT_UPDATE), params))
    inserted = _rowcount(session.execute(text(_UPSERT_INSERT), params))
    session.execute(text("DROP TABLE import_stage"))
    return {"inserted": inserted, "updated": updated}


def _rowcount(result: Any) -> int:
    """Rows touched by an UPDATE or INSERT (a CursorResult; Session.execute types it loosely)."""
    return int(result.rowcount)
