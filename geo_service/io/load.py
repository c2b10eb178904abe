"""Import a file into a layer: read, reproject, validate or repair, then bulk-insert with COPY.

Everything happens in the caller's transaction, so an import is atomic: any error (a broken
file, attributes that do not fit the layer's kind, a file with no feature to keep) raises before
the caller commits and nothing is written; a savepoint takes back the layer the import created
and its rows even before the caller rolls back. Geometries are validated in bulk (shapely,
vectorised); only invalid ones go through `domain.geometry.check_geometry` one by one to be
repaired, or rejected when `strict`.
Features are validated chunk by chunk while COPY streams the chunks before them, so that
PostgreSQL (another process) inserts and indexes while Python validates, and a thread checks
the next chunk's geometries while this one's attributes are checked.

    >>> summary = import_file(session, "sites", Path("sites.gpkg"))  # doctest: +SKIP
    >>> summary  # doctest: +SKIP
    {"layer": "sites", "imported": 120, "repaired": [{"index": 7, "reason": "..."}], "rejected": []}
"""

from __future__ import annotations

import contextvars
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from geo_service.db import audit
from geo_service.db.models import Layer
from geo_service.domain.access import ANONYMOUS, Principal, Role
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
from geo_service.io.mapping import Mapping, apply_mapping, check_mapping, parse_mapping, preview
from geo_service.io.read import read_vector, tables
from geo_service.problems import msg
from geo_service.store import bulk
from geo_service.store import layers as store

Report = Callable[[float, str | None], None]
CHUNK = 10_000  # rows validated, encoded and reported at a time while COPY streams
MAX_LISTED_ERRORS = 20


def _silent(progress: float, message: str | None = None) -> None:
    """The default progress callback: nobody is listening."""


@dataclass
class ImportOptions:
    """How to import: `kind` of a new layer, the field naming features, strict validation,
    the attribute identifying a feature on re-import, the GeoPackage table / Shapefile in the zip
    (by name or path), the source CRS of files that name none, who imports, the visibility of a
    new layer, the character `encoding` of the file's text (e.g. latin-1, cp1252: over a
    .cpg, and needed for GeoJSON, CSV or KML that are not UTF-8), the `mapping` of the file's
    fields and values to the kind's (io.mapping; None: the one kept with the layer, if any;
    an empty one: none, and the layer forgets its own), and `each_table`: every table of the
    file (each Shapefile of a zip, each GeoPackage table) into a layer of its own.
    `name_field` and `upsert_key` name fields as the mapping leaves them."""

    kind: str | None = None
    name_field: str | None = None
    strict: bool = False
    upsert_key: str | None = None
    table: str | None = None
    crs: str | None = None
    who: Principal = ANONYMOUS
    visibility: str = "private"
    encoding: str | None = None
    mapping: Mapping | None = None
    each_table: bool = False


@dataclass
class Prepared:
    """Features being validated: `rows` yields them for COPY as (name, JSON properties, WKB in
    EPSG:4326 without its SRID: the column's own gives it, whether analyses read it whole);
    `repaired`, `rejected` and `count` are complete once every row has been yielded."""

    rows: Iterator[tuple[str | None, bytes, bytes, bool]]
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

    Returns {"layer", "format", "imported", "repaired": [{"index", "reason"}], "rejected": [...],
    "mapping"} with 0-based feature indices in file order; with `upsert_key`, also "inserted"
    and "updated"; "mapping" is the one applied (given, or kept with the layer), or None. A
    given mapping is kept with the layer. With `each_table`: {"imported", "layers": [summary,
    ...]}, a layer per table (see `table_slugs`), all or none imported. A GeoTIFF becomes a
    raster layer stored under `home`/rasters (see io.raster).
    """
    options = options or ImportOptions()
    options.who.require(Role.editor, msg("access.import"))
    filename = filename or path.name
    fmt = detect(path, filename)
    if options.each_table:
        with session.begin_nested():  # every table, or none when one fails
            return _each_table(
                lambda s, o: import_file(session, s, path, filename, o, report, home),
                slug, path, fmt, filename, options,
            )  # fmt: skip
    if fmt == RASTER:
        if options.mapping:
            raise InvalidInput(msg("mapping.raster", file=filename), where={"file": filename})
        with session.begin_nested():  # a broken GeoTIFF takes back the layer made for it
            layer = target_layer(session, slug, options, storage="raster")
            summary = raster.store_raster(session, layer, path, filename, home=home)
        _audit(session, options, layer, filename, summary)
        return summary
    # A bad mapping is refused before the file is read.
    mapping, _ = import_mapping(existing_layer(session, slug, options, "vector"), options)
    report(0.0, f"reading {filename}")
    frame = read_vector(
        path, fmt, filename=filename, table=options.table, crs=options.crs,
        encoding=options.encoding,
    )  # fmt: skip
    # A savepoint: an error in validation or half-way through the COPY leaves the caller's
    # transaction usable and without this file's rows, or the layer created for them (or the
    # mapping kept with it). Rows are audited once for the whole file (below), not one by one.
    with session.begin_nested():
        layer = target_layer(session, slug, options, storage="vector")
        if mapping:
            frame = apply_mapping(frame, mapping, filename)
        report(0.2, f"validating and writing {len(frame)} features")
        prepared = prepare(frame, layer.kind, options, filename)
        audit.act_as(session, options.who, action="import", bulk=True)
        counts = bulk.write(
            session, layer.id, prepared.rows, options.who.actor, options.upsert_key,
            _scaled(report, len(frame)), every=CHUNK,
        )  # fmt: skip
        audit.act_as(session, options.who)
        if options.mapping is not None:
            layer.import_mapping = options.mapping.to_json() if options.mapping else None
    report(1.0, "done")
    summary = {
        "layer": layer.slug,
        "format": fmt,
        "imported": prepared.count,
        **counts,
        "repaired": prepared.repaired,
        "rejected": prepared.rejected,
        "mapping": mapping.to_json() if mapping else None,
    }
    _audit(session, options, layer, filename, summary)
    return summary


def preview_file(
    session: Session,
    slug: str,
    path: Path,
    filename: str | None = None,
    options: ImportOptions | None = None,
) -> dict[str, Any]:
    """What importing `path` into layer `slug` with `options` would make of the file's fields
    and values, without writing anything (see io.mapping.preview), with "layer", "exists" (the
    layer), "format" and "mapping_from" ("given", "layer" or None). With `each_table`:
    {"layers": [preview, ...]}, one per table."""
    options = options or ImportOptions()
    options.who.require(Role.editor, msg("access.import"))
    filename = filename or path.name
    fmt = detect(path, filename)
    if options.each_table:
        return _each_table(
            lambda s, o: preview_file(session, s, path, filename, o), slug, path, fmt, filename,
            options,
        )  # fmt: skip
    if fmt == RASTER:
        raise InvalidInput(msg("mapping.raster", file=filename), where={"file": filename})
    layer = existing_layer(session, slug, options, "vector")
    mapping, source = import_mapping(layer, options)
    frame = read_vector(
        path, fmt, filename=filename, table=options.table, crs=options.crs,
        encoding=options.encoding,
    )  # fmt: skip
    return {
        "layer": slug,
        "exists": layer is not None,
        "format": fmt,
        "mapping_from": source,
        **preview(frame, _kind(layer, options), mapping, filename),
    }


def _kind(layer: Layer | None, options: ImportOptions) -> str:
    """The kind of the features imported: the layer's, or the one it will be created with."""
    return layer.kind if layer is not None else parse_kind(options.kind or "reference").value


def import_mapping(
    layer: Layer | None, options: ImportOptions
) -> tuple[Mapping | None, str | None]:
    """The mapping to import with into `layer` (None: a layer to create) and where it comes
    from: the one given ("given"), else the one kept with the layer ("layer"); checked against
    the kind."""
    kind = _kind(layer, options)
    if options.mapping is not None:
        return check_mapping(options.mapping, kind), "given"
    kept = parse_mapping(layer.import_mapping) if layer is not None else None
    return (check_mapping(kept, kind), "layer") if kept else (None, None)


def _each_table(
    run: Callable[[str, ImportOptions], dict[str, Any]],
    slug: str,
    path: Path,
    fmt: str,
    filename: str,
    options: ImportOptions,
) -> dict[str, Any]:
    """`run` (an import or a preview) on every table of the file, each into its own layer; a
    file of one table (GeoJSON...) into `slug`."""
    names = tables(path, fmt, filename) if fmt != RASTER else []
    slugs = table_slugs(slug, names) if names else {None: slug}
    results = [
        run(layer, replace(options, table=name, each_table=False)) for name, layer in slugs.items()
    ]
    summary: dict[str, Any] = {"layers": results}
    if all("imported" in r for r in results):
        summary = {"imported": sum(r["imported"] for r in results), **summary}
    return summary


_NOT_SLUG = re.compile(r"[^a-z0-9_-]+")
MAX_SLUG = 63


def _slugified(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", plain.lower()).strip("-_")


def table_slugs(slug: str, names: list[str]) -> dict[str | None, str]:
    """The layer each table of a file goes into: `slug`, a hyphen and the table's name (a
    Shapefile's base name, or its path in the zip when two share it), as a slug; the name alone
    when it starts with `slug` already.

    >>> table_slugs("wdpa", ["WDPA_Mar2025/shp/WDPA_poly.shp", "Points/Sites.shp"])
    {'WDPA_Mar2025/shp/WDPA_poly.shp': 'wdpa_poly', 'Points/Sites.shp': 'wdpa-sites'}
    """
    stems = [re.sub(r"\.shp$", "", name, flags=re.IGNORECASE) for name in names]
    bases = [stem.rsplit("/", 1)[-1] for stem in stems]
    slugs: dict[str | None, str] = {}
    for name, stem, base in zip(names, stems, bases, strict=True):
        part = _slugified(base if bases.count(base) == 1 else stem) or "table"
        candidate = (part if part.startswith(slug) else f"{slug}-{part}")[:MAX_SLUG]
        n = 1
        while candidate in slugs.values():
            n += 1
            candidate = f"{candidate[: MAX_SLUG - len(str(n)) - 1]}-{n}"
        slugs[name] = candidate
    return slugs


def _audit(
    session: Session, options: ImportOptions, layer: Layer, filename: str, summary: dict[str, Any]
) -> None:
    audit.record(
        session, options.who, "import", layer_id=layer.id, layer_slug=layer.slug,
        details={"file": filename, **{k: summary.get(k) for k in
                 ("format", "imported", "inserted", "updated")},
                 "repaired": len(summary["repaired"]), "rejected": len(summary["rejected"])},
    )  # fmt: skip


def target_layer(session: Session, slug: str, options: ImportOptions, storage: str) -> Layer:
    """The layer `slug`, created with `options.kind` (default reference) and visibility when it
    does not exist, owned by the importer."""
    layer = existing_layer(session, slug, options, storage)
    if layer is None:
        return store.create_layer(
            session, slug, options.who, kind=options.kind or "reference", storage=storage,
            visibility=options.visibility,
        )  # fmt: skip
    return layer


def existing_layer(
    session: Session, slug: str, options: ImportOptions, storage: str
) -> Layer | None:
    """The layer `slug` if it exists, once it may take this file: of `options.kind` when given,
    and of `storage`; Conflict otherwise."""
    kind = options.kind
    try:
        layer = store.get_layer(session, slug, options.who)
    except UnknownLayer:
        return None
    if kind is not None and parse_kind(kind).value != layer.kind:
        raise Conflict(
            msg("import.kind", layer=slug, held=layer.kind, kind=kind),
            where={"layer": slug, "kind": kind},
        )
    if layer.storage != storage:
        raise Conflict(
            msg("import.raster_into_vector", layer=slug)
            if storage == "raster"
            else msg("import.vector_into_raster", layer=slug),
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
    if column.dtype.kind == "M":  # one Timestamp per distinct date, not one per feature
        codes, dates = pd.factorize(column)
        objects = [*dates.astype(object), None]  # code -1 (NaT) picks the None
        return [objects[code] for code in codes.tolist()]
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
            fields = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
            raise InvalidInput(
                msg("import.no_field", file=filename, field=name, option=option, fields=fields),
                where={"file": filename, option: name},
            )


def _checked_geometries(
    geoms: np.ndarray, start: int, kind: str, strict: bool, filename: str, prepared: Prepared
) -> tuple[np.ndarray, np.ndarray]:
    """Geometries to store (None where rejected) of the features from index `start` on,
    repaired ones noted with their reason, and which of them analyses read whole
    (bulk.WHOLE_MAX_POINTS: valid, not empty, few points)."""
    geoms = geoms.copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        prepared.rejected.append({"index": start + int(i), "reason": msg("import.no_geometry")})
    geoms[missing] = None
    invalid = ~missing & ~shapely.is_valid(geoms)
    _check_finite(geoms, invalid, start, filename)
    bounds = shapely.bounds(geoms)
    out_of_range = (np.abs(bounds[:, [0, 2]]) > 180.0001).any(axis=1) | (
        np.abs(bounds[:, [1, 3]]) > 90.0001
    ).any(axis=1)
    for i in np.flatnonzero(out_of_range)[:1]:
        check_lonlat(geoms[i], where={"file": filename, "index": start + int(i)})
    for i in np.flatnonzero(invalid):
        index = start + int(i)
        try:
            checked = check_geometry(
                geoms[i], strict=strict, where={"file": filename, "index": index}
            )
        except InvalidGeometry as exc:
            prepared.rejected.append({"index": index, "reason": exc.detail})
            geoms[i] = None
            continue
        prepared.repaired.append({"index": index, "reason": checked.repaired})
        geoms[i] = checked.geometry
    kept = ~shapely.is_missing(geoms)
    types = shapely.get_type_id(geoms)
    for type_id in np.unique(types[kept]):
        first = int(np.flatnonzero(kept & (types == type_id))[0])
        where = {"file": filename, "index": start + first}
        check_geometry_type(kind, geoms[first].geom_type, where=where)
    valid = ~invalid
    valid[invalid] = shapely.is_valid(geoms[invalid])  # the repaired ones, tested again
    whole = kept & valid & (shapely.get_num_coordinates(geoms) <= bulk.WHOLE_MAX_POINTS)
    return geoms, whole & ~shapely.is_empty(geoms)


def _check_finite(geoms: np.ndarray, invalid: np.ndarray, start: int, filename: str) -> None:
    """Refuse the file when a geometry has a NaN or infinite coordinate: no repair can place it,
    and PostGIS would store it. GEOS finds them invalid, so only invalid ones are looked at."""
    indices = np.flatnonzero(invalid)
    if not len(indices):
        return
    reasons = shapely.is_valid_reason(geoms[indices])
    for i, reason in zip((indices + start).tolist(), reasons.tolist(), strict=True):
        if reason.startswith("Invalid Coordinate"):
            raise InvalidGeometry(
                msg("import.not_finite", file=filename, index=i, reason=reason),
                where={"file": filename, "index": i},
            )


def _require_features(prepared: Prepared, total: int, filename: str) -> None:
    """Refuse an import that would keep no feature: its new layer would stay empty."""
    rejected = len(prepared.rejected)
    if total > rejected:
        return
    detail = msg("import.nothing", file=filename, total=total)
    if rejected:
        first = prepared.rejected[0]
        detail = msg(
            "import.all_rejected",
            file=filename,
            total=total,
            rejected=rejected,
            index=first["index"],
            reason=first["reason"],
        )
    raise InvalidInput(
        detail,
        where={"file": filename},
        errors=prepared.rejected[:MAX_LISTED_ERRORS],
        extra={"features": total, "rejected": rejected},
    )


def prepare(frame: gpd.GeoDataFrame, kind: str, options: ImportOptions, filename: str) -> Prepared:
    """Validate every feature of `frame` (EPSG:4326) for a layer of `kind`, as `rows` are
    consumed, a chunk at a time.

    Invalid geometries are repaired (or rejected when `options.strict`) and a feature without a
    geometry is rejected; a geometry type the kind refuses, a NaN or infinite coordinate, and a
    file left with no feature to import fail the whole import, so do attributes that do not fit
    the kind, or hold text PostgreSQL cannot store (NUL, lone surrogates): InvalidAttributes
    listing the feature indices and fields, raised after the last row. The caller writes rows
    as they come, in a savepoint it takes back on any of these errors.
    """
    _check_fields(frame, options, filename)
    prepared = Prepared(rows=iter(()))
    prepared.rows = _rows(frame, kind, options, filename, prepared)
    return prepared


# Characters a jsonb value (or a text column) cannot hold: NUL, and UTF-16 surrogates, which
# only come unpaired in a Python str.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value: Any, field: str = "") -> dict[str, str] | None:
    """The first field (dotted path into objects and lists) of `value` holding a character that
    PostgreSQL cannot store, with what it is."""
    if isinstance(value, str):
        match = _UNSTORABLE.search(value)
        if match is None:
            return None
        what = (
            msg("character.nul")
            if match.group() == "\x00"
            else msg("character.lone_surrogate", codepoint=f"{ord(match.group()):04X}")
        )
        return {"field": field, "message": msg("import.unstorable", what=what)}
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        path = f"{field}.{key}" if field else str(key)
        found = _unstorable(key, path) if isinstance(key, str) else None
        found = found or _unstorable(item, path)
        if found:
            return found
    return None


def _encoded(props: dict[str, Any]) -> bytes | dict[str, str]:
    """`props` as JSON (UTF-8), or the problem of the field that cannot be stored. orjson
    refuses surrogates and writes NUL as \\u0000: only then are the values searched."""
    try:
        encoded = orjson.dumps(props, default=str)
    except orjson.JSONEncodeError:
        problem = _unstorable(props)
        if problem is None:
            raise
        return problem
    problem = _unstorable(props) if b"\\u0000" in encoded else None
    return problem or encoded


@dataclass
class _Chunk:
    """A chunk's geometries checked: which features are kept, the WKB of those, which of them
    analyses read whole."""

    keep: list[bool]
    wkbs: list[bytes]
    whole: list[bool]


def _checked_chunk(
    geoms: np.ndarray, start: int, kind: str, strict: bool, filename: str, prepared: Prepared
) -> _Chunk:
    checked, whole = _checked_geometries(geoms, start, kind, strict, filename, prepared)
    kept = ~shapely.is_missing(checked)
    return _Chunk(kept.tolist(), shapely.to_wkb(checked[kept]).tolist(), whole.tolist())


def _rows(
    frame: gpd.GeoDataFrame,
    kind: str,
    options: ImportOptions,
    filename: str,
    prepared: Prepared,
) -> Iterator[tuple[str | None, bytes, bytes, bool]]:
    """The rows to write, a chunk at a time: while the features of one chunk are validated and
    encoded here, a thread checks the geometries of the next (GEOS works without the GIL)."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    total = len(geoms)
    parsed = parse_kind(kind)
    upsert_key, name_field = options.upsert_key, options.name_field
    problems: list[dict[str, Any]] = []
    keys: dict[str, int] = {}
    records = _records(frame)

    def check(start: int) -> _Chunk:
        chunk = geoms[start : start + CHUNK]
        return _checked_chunk(chunk, start, kind, options.strict, filename, prepared)

    # In this context (the language messages are said in...), as asyncio.to_thread does.
    with ThreadPoolExecutor(1, thread_name_prefix="import-geometries") as pool:
        ahead = pool.submit(contextvars.copy_context().run, check, 0)
        for start in range(0, total, CHUNK):
            chunk = ahead.result()
            if start + CHUNK < total:
                ahead = pool.submit(contextvars.copy_context().run, check, start + CHUNK)
            wkbs = iter(chunk.wkbs)
            # `keep` first: zip stops on it without drawing the next chunk's first record.
            for offset, (kept, record) in enumerate(zip(chunk.keep, records, strict=False)):
                if not kept:
                    continue
                index = start + offset
                geometry = next(wkbs)
                try:
                    props = validate_properties(
                        parsed, record, where={"file": filename, "index": index}
                    )
                except InvalidAttributes as exc:
                    problems.extend({"index": index, **e} for e in exc.errors)
                    continue
                encoded = _encoded(props)
                if isinstance(encoded, dict):
                    problems.append({"index": index, **encoded})
                    continue
                if upsert_key:
                    _note_key(props, upsert_key, index, keys, filename)
                if not problems:  # once one row is refused the file is, and nothing more is sent
                    prepared.count += 1
                    yield display_name(props, name_field), encoded, geometry, chunk.whole[offset]
    _require_features(prepared, total, filename)
    if problems:
        first = problems[0]
        raise InvalidAttributes(
            msg(
                "import.attributes",
                file=filename,
                count=len(problems),
                kind=kind,
                index=first["index"],
                field=first["field"],
                message=first["message"],
            ),
            where={"file": filename, "index": first["index"]},
            errors=problems[:MAX_LISTED_ERRORS],
        )


def _note_key(
    props: dict[str, Any], key: str, index: int, seen: dict[str, int], filename: str
) -> None:
    value = props.get(key)
    if value is None:
        raise InvalidInput(
            msg("import.no_key", file=filename, index=index, key=key),
            where={"file": filename, "index": index},
        )
    value = str(value)
    if value in seen:
        raise InvalidInput(
            msg("import.same_key", file=filename, first=seen[value], index=index, key=key,
                value=value),
            where={"file": filename, "index": index},
        )  # fmt: skip
    seen[value] = index
