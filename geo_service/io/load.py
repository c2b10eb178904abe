"""Import a file into a layer: read, reproject, validate or repair, then bulk-insert with COPY.

Everything happens in the caller's transaction, so an import is atomic: any error (a broken
file, attributes that do not fit the layer's kind) raises before the caller commits and nothing
is written. Geometries are validated in bulk (shapely, vectorised); only invalid ones go
through `domain.geometry.check_geometry` one by one to be repaired, or rejected when `strict`.
Attributes are validated chunk by chunk while COPY streams the chunks before them, so that
PostgreSQL (another process) inserts and indexes while Python validates.

    >>> summary = import_file(session, "sites", Path("sites.gpkg"))  # doctest: +SKIP
    >>> summary  # doctest: +SKIP
    {"layer": "sites", "imported": 120, "repaired": [{"index": 7, "reason": "..."}], "rejected": []}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.db.models import Layer
from geo_service.domain import store
from geo_service.domain.geometry import check_geometry, check_lonlat
from geo_service.domain.kinds import (
    check_geometry_type,
    display_name,
    parse_kind,
    validate_properties,
)
from geo_service.errors import (
    Conflict,
    InvalidAttributes,
    InvalidGeometry,
    InvalidInput,
    UnknownLayer,
)
from geo_service.io import raster
from geo_service.io.formats import RASTER, detect
from geo_service.io.read import read_vector

Report = Callable[[float, str | None], None]
CHUNK = 10_000  # rows validated, encoded and reported at a time while COPY streams
MAX_LISTED_ERRORS = 20


def _silent(progress: float, message: str | None = None) -> None:
    """The default progress callback: nobody is listening."""


@dataclass
class ImportOptions:
    """How to import: `kind` of a new layer, the field naming features, strict validation,
    the attribute identifying a feature on re-import, the GeoPackage table / zipped Shapefile,
    the source CRS of files that name none, and who imports."""

    kind: str | None = None
    name_field: str | None = None
    strict: bool = False
    upsert_key: str | None = None
    table: str | None = None
    crs: str | None = None
    user: str | None = None


@dataclass
class Prepared:
    """Features being validated: `rows` yields them for COPY as (name, JSON properties, hex EWKB
    in SRID 4326); `repaired` and `rejected` are complete before the first row, `count` once
    every row has been yielded."""

    rows: Iterator[tuple[str | None, str, str]]
    repaired: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0


def import_file(
    session: Session,
    slug: str,
    path: Path,
    filename: str | None = None,
    options: ImportOptions | None = None,
    report: Report = _silent,
    home: Path | None = None,
) -> dict[str, Any]:
    """Import `path` into layer `slug` (created when missing, kind `options.kind` or reference).

    Returns {"layer", "imported", "repaired": [{"index", "reason"}], "rejected": [...]} with
    0-based feature indices in file order; with `upsert_key`, also "inserted" and "updated".
    A GeoTIFF becomes a raster layer stored under `home`/rasters (see io.raster).
    """
    options = options or ImportOptions()
    filename = filename or path.name
    fmt = detect(path, filename)
    if fmt == RASTER:
        layer = target_layer(session, slug, options.kind, storage="raster")
        return raster.store_raster(session, layer, path, filename, home=home)
    report(0.0, f"reading {filename}")
    frame = read_vector(path, fmt, filename=filename, table=options.table, crs=options.crs)
    layer = target_layer(session, slug, options.kind, storage="vector")
    report(0.2, f"validating and writing {len(frame)} features")
    prepared = prepare(frame, layer.kind, options, filename)
    # A savepoint: an error half-way through the COPY leaves the caller's transaction usable and
    # without any of this file's rows, as when validation failed before anything was written.
    with session.begin_nested():
        counts = write(session, layer, prepared, options, _scaled(report, len(frame)))
    report(1.0, "done")
    return {
        "layer": layer.slug,
        "format": fmt,
        "imported": prepared.count,
        **counts,
        "repaired": prepared.repaired,
        "rejected": prepared.rejected,
    }


def target_layer(session: Session, slug: str, kind: str | None, storage: str) -> Layer:
    """The layer `slug`, created with `kind` (default reference) when it does not exist."""
    try:
        layer = store.get_layer(session, slug)
    except UnknownLayer:
        return store.create_layer(session, slug, kind=kind or "reference", storage=storage)
    if kind is not None and parse_kind(kind).value != layer.kind:
        raise Conflict(
            f"Layer '{slug}' holds {layer.kind} features, not {kind}",
            where={"layer": slug, "kind": kind},
        )
    if layer.storage != storage:
        raise Conflict(
            f"Layer '{slug}' is a {layer.storage} layer; this file holds {storage} data",
            where={"layer": slug},
        )
    return layer


# -- validation ---------------------------------------------------------------------------------


def _python_values(column: pd.Series) -> list[Any]:
    """A column as JSON-ready Python values (None for missing)."""
    if column.dtype.kind == "f":
        return [None if math.isnan(v) else v for v in column.to_numpy().tolist()]
    if column.dtype.kind in "iub" and not column.hasnans:
        return column.to_numpy().tolist()
    values = column.astype(object).where(column.notna(), None).tolist()
    return [v.tolist() if isinstance(v, np.ndarray) else v for v in values]


def _records(frame: gpd.GeoDataFrame) -> Iterator[dict[str, Any]]:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    values = [_python_values(frame[c]) for c in columns]
    for row in zip(*values, strict=True) if columns else ([] for _ in range(len(frame))):
        yield dict(zip(columns, row, strict=True))


def _scaled(report: Report, total: int) -> Callable[[int], None]:
    """Progress while writing: `n` of `total` rows maps to 0.2..0.95."""

    def written(n: int) -> None:
        report(0.2 + 0.75 * n / max(total, 1), f"written {n} of {total}")

    return written


def _check_fields(frame: gpd.GeoDataFrame, options: ImportOptions, filename: str) -> None:
    for option, name in (("name_field", options.name_field), ("upsert_key", options.upsert_key)):
        if name and name not in frame.columns:
            raise InvalidInput(
                f"'{filename}' has no field '{name}' ({option}); its fields: "
                + ", ".join(str(c) for c in frame.columns if c != frame.geometry.name),
                where={"file": filename, option: name},
            )


def _checked_geometries(
    geoms: np.ndarray, kind: str, strict: bool, filename: str, prepared: Prepared
) -> np.ndarray:
    """Geometries to store (None where rejected); repaired ones are noted with their reason."""
    geoms = geoms.copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        prepared.rejected.append({"index": int(i), "reason": "missing or unreadable geometry"})
    geoms[missing] = None
    bounds = shapely.bounds(geoms)
    out_of_range = (np.abs(bounds[:, [0, 2]]) > 180.0001).any(axis=1) | (
        np.abs(bounds[:, [1, 3]]) > 90.0001
    ).any(axis=1)
    for i in np.flatnonzero(out_of_range)[:1]:
        check_lonlat(geoms[i], where={"file": filename, "index": int(i)})
    invalid = ~missing & ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        where = {"file": filename, "index": int(i)}
        try:
            checked = check_geometry(geoms[i], strict=strict, where=where)
        except InvalidGeometry as exc:
            prepared.rejected.append({"index": int(i), "reason": exc.detail})
            geoms[i] = None
            continue
        prepared.repaired.append({"index": int(i), "reason": checked.repaired})
        geoms[i] = checked.geometry
    kept = ~shapely.is_missing(geoms)
    types = shapely.get_type_id(geoms)
    for type_id in np.unique(types[kept]):
        first = int(np.flatnonzero(kept & (types == type_id))[0])
        check_geometry_type(kind, geoms[first].geom_type, where={"file": filename, "index": first})
    return geoms


def prepare(frame: gpd.GeoDataFrame, kind: str, options: ImportOptions, filename: str) -> Prepared:
    """Validate every feature of `frame` (EPSG:4326) for a layer of `kind`.

    Invalid geometries are repaired (or rejected when `options.strict`) and a feature without a
    geometry is rejected, all before this returns, so is a geometry type the kind refuses.
    Attributes are checked as `rows` are consumed: those that do not fit the kind fail the whole
    import (InvalidAttributes listing the feature indices, raised after the last row).
    """
    _check_fields(frame, options, filename)
    prepared = Prepared(rows=iter(()))
    geoms = _checked_geometries(
        np.asarray(frame.geometry.array, dtype=object), kind, options.strict, filename, prepared
    )
    prepared.rows = _rows(frame, geoms, kind, options, filename, prepared)
    return prepared


def _rows(
    frame: gpd.GeoDataFrame,
    geoms: np.ndarray,
    kind: str,
    options: ImportOptions,
    filename: str,
    prepared: Prepared,
) -> Iterator[tuple[str | None, str, str]]:
    keep = ~shapely.is_missing(geoms)
    problems: list[dict[str, Any]] = []
    keys: dict[str, int] = {}
    hexes: list[str] = []
    for index, record in enumerate(_records(frame)):
        if index % CHUNK == 0:  # encode a chunk at a time: vectorised, yet streamed
            chunk = geoms[index : index + CHUNK]
            chunk = shapely.set_srid(chunk[~shapely.is_missing(chunk)], 4326)
            hexes = shapely.to_wkb(chunk, hex=True, include_srid=True).tolist()
            hexes.reverse()
        if not keep[index]:
            continue
        geometry = hexes.pop()
        where = {"file": filename, "index": index}
        try:
            props = validate_properties(kind, record, where=where)
        except InvalidAttributes as exc:
            problems.extend({"index": index, **e} for e in exc.errors)
            continue
        if options.upsert_key:
            _note_key(props, options.upsert_key, index, keys, filename)
        if not problems:  # once one row is refused the file is, and nothing more is sent
            prepared.count += 1
            yield (
                display_name(props, options.name_field),
                orjson.dumps(props, default=str).decode(),
                geometry,
            )
    if problems:
        first = problems[0]
        raise InvalidAttributes(
            f"'{filename}': {len(problems)} attribute problem(s) for kind '{kind}'; first at "
            f"feature {first['index']}: {first['field']}: {first['message']}",
            where={"file": filename, "index": first["index"]},
            errors=problems[:MAX_LISTED_ERRORS],
        )


def _note_key(
    props: dict[str, Any], key: str, index: int, seen: dict[str, int], filename: str
) -> None:
    value = props.get(key)
    if value is None:
        raise InvalidInput(
            f"'{filename}': feature {index} has no value for the upsert key '{key}'",
            where={"file": filename, "index": index},
        )
    value = str(value)
    if value in seen:
        raise InvalidInput(
            f"'{filename}': features {seen[value]} and {index} share the upsert key "
            f"{key}={value!r}",
            where={"file": filename, "index": index},
        )
    seen[value] = index


# -- writing ------------------------------------------------------------------------------------

_COPY_FEATURES = (
    "COPY features (layer_id, name, properties, geom, created_by, updated_by) FROM STDIN"
)
_STAGE = """
CREATE TEMP TABLE import_stage (name text, properties jsonb, geom geometry)
ON COMMIT DROP
"""
_COPY_STAGE = "COPY import_stage (name, properties, geom) FROM STDIN"
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
    session: Session, sql: str, rows: Iterator[tuple[Any, ...]], written: Callable[[int], None]
) -> None:
    """Stream `rows` through COPY on the session's own connection (same transaction)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for n, row in enumerate(rows, 1):
            copy.write_row(row)
            if n % CHUNK == 0:
                written(n)


def write(
    session: Session,
    layer: Layer,
    prepared: Prepared,
    options: ImportOptions,
    written: Callable[[int], None],
) -> dict[str, int]:
    """Insert the prepared features into `layer`, or upsert them by `options.upsert_key`."""
    if not options.upsert_key:
        rows = (
            (layer.id, name, props, geom, options.user, options.user)
            for name, props, geom in prepared.rows
        )
        _copy(session, _COPY_FEATURES, rows, written)
        return {}
    session.execute(text(_STAGE))
    _copy(session, _COPY_STAGE, prepared.rows, written)
    params = {"layer": layer.id, "key": options.upsert_key, "user": options.user}
    updated = _rowcount(session.execute(text(_UPSERT_UPDATE), params))
    inserted = _rowcount(session.execute(text(_UPSERT_INSERT), params))
    session.execute(text("DROP TABLE import_stage"))
    return {"inserted": inserted, "updated": updated}


def _rowcount(result: Any) -> int:
    """Rows touched by an UPDATE or INSERT (a CursorResult; Session.execute types it loosely)."""
    return int(result.rowcount)
