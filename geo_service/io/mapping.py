"""Field and value mappings on import: which source field fills which field of the layer's kind,
and which source values become which of the kind's values.

A mapping is a small JSON object, kept with the layer so that the next import of the same
cadastre reuses it:

    {"fields": {"code": "Code", "holder": "Parties", "title_type": "Licence_"},
     "values": {"title_type": {"PE": "exploitation", "PR": "exploration", "ARPC": null}}}

`fields` maps a field of the kind to the source field that fills it; `values` maps, per field of
the kind, source values (compared as text, spaces around them ignored) to values of the kind
(null: left empty). Source fields no mapping names are kept as they came, source values none
names are validated by the kind as they came. A reference layer has no typed fields: there
`fields` renames, to any name.

    >>> mapping = check_mapping(parse_mapping('{"fields": {"holder": "Parties"}}'), "concession")
    >>> mapping.fields
    {'holder': 'Parties'}
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd

from geo_service.domain.kinds import MODELS, KindAttributes, parse_kind, validate_properties
from geo_service.errors import InvalidAttributes, InvalidInput
from geo_service.problems import msg

MEMBERS = ("fields", "values")
MAX_LISTED = 100  # distinct values listed per field in a preview
Value = str | int | float | bool | None


@dataclass(frozen=True)
class Mapping:
    """`fields`: {kind field: source field}; `values`: {kind field: {source value: value}}."""

    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Value]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields or self.values)

    def to_json(self) -> dict[str, Any]:
        return {"fields": dict(self.fields), "values": {k: dict(v) for k, v in self.values.items()}}


def _refuse(message: str, member: str | None = None, field: str | None = None) -> InvalidInput:
    """InvalidInput saying `message`, where: the mapping, its `member` and `field` if known."""
    where = {"option": "mapping", "member": member, "field": field}
    return InvalidInput(message, where={k: v for k, v in where.items() if v is not None})


def _object(value: Any, member: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(msg("mapping.not_object", member=member), member)
    return value


def parse_mapping(value: str | dict[str, Any] | None) -> Mapping | None:
    """The mapping in `value` (JSON text or its object), its shape checked; None when not given.
    An empty object `{}` is a mapping that maps nothing (given on import, it forgets the one
    kept with the layer). InvalidInput naming the member at fault."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise _refuse(msg("mapping.not_json", reason=str(exc))) from None
    if not isinstance(value, dict):
        raise _refuse(msg("mapping.not_an_object"))
    data = value
    unknown = [k for k in data if k not in MEMBERS]
    if unknown:
        members = ", ".join(MEMBERS)
        raise _refuse(msg("mapping.unknown_member", member=unknown[0], members=members), unknown[0])
    fields = _object(data.get("fields", {}), "fields")
    for target, source in fields.items():
        if not isinstance(source, str) or not source or not target:
            raise _refuse(msg("mapping.bad_field", field=target, source=source), "fields", target)
    values = _object(data.get("values", {}), "values")
    for target, table in values.items():
        for source, to in _object(table, f"values.{target}").items():
            if not isinstance(to, str | int | float | bool | None):
                said = msg("mapping.bad_value", field=target, value=source)
                raise _refuse(said, "values", target)
    return Mapping(dict(fields), {k: dict(v) for k, v in values.items()})


def kind_fields(kind: str) -> list[str]:
    """The typed fields of `kind` ([] for a reference layer)."""
    model = MODELS[parse_kind(kind)]
    return list(model.model_fields) if model else []


def _literal(annotation: Any) -> list[str] | None:
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    for arg in get_args(annotation):
        found = _literal(arg)
        if found is not None:
            return found
    return None


def allowed_values(kind: str, name: str) -> list[str] | None:
    """The values the field `name` of `kind` allows, when it allows a list of them.

    >>> allowed_values("concession", "title_type")[:2]
    ['reconnaissance', 'exploration']
    """
    model: type[KindAttributes] | None = MODELS[parse_kind(kind)]
    if model is None or name not in model.model_fields:
        return None
    return _literal(model.model_fields[name].annotation)


def _refusal(kind: str, name: str, value: Any) -> str | None:
    """What `kind` says of `value` in its field `name` alone, when it refuses it."""
    try:
        validate_properties(kind, {name: value})
    except InvalidAttributes as exc:
        # the kind's own message, which stays a catalogued one (said in the reader's language)
        return exc.errors[0]["message"] if exc.errors else exc.detail
    return None


def check_mapping(mapping: Mapping, kind: str) -> Mapping:
    """`mapping` once every field it names is a field of `kind` and every value it maps to is
    one `kind` accepts there; InvalidInput naming the field or value otherwise."""
    known = kind_fields(kind)
    if not known:
        return mapping
    for member, names in (("fields", mapping.fields), ("values", mapping.values)):
        for name in names:
            if name not in known:
                said = msg("mapping.unknown_field", member=member, field=name, kind=kind,
                           fields=", ".join(known))  # fmt: skip
                raise _refuse(said, member, name)
    for name, table in mapping.values.items():
        for source, to in table.items():
            reason = None if to is None else _refusal(kind, name, to)
            if reason is not None:
                said = msg("mapping.value_refused", field=name, source=source, value=to, kind=kind,
                           reason=reason)  # fmt: skip
                raise _refuse(said, "values", name)
    return mapping


def _key(value: Any) -> str | None:
    """A source value as the mapping names it: text without spaces around, 12 for 12.0; None
    for an empty value or a list."""
    if isinstance(value, list | dict | np.ndarray) or value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    key = str(value).strip()
    return key or None


def _mapped(column: pd.Series, table: dict[str, Value]) -> pd.Series:
    def convert(value: Any) -> Any:
        key = _key(value)
        return value if key is None else table.get(key, value)

    values = [convert(v) for v in column.astype(object).tolist()]
    return pd.Series(values, index=column.index, dtype=object)


def _sources(frame: gpd.GeoDataFrame) -> list[str]:
    return [str(c) for c in frame.columns if c != frame.geometry.name]


def apply_mapping(frame: gpd.GeoDataFrame, mapping: Mapping, filename: str) -> gpd.GeoDataFrame:
    """`frame` with its mapped fields renamed and their values mapped, in the order of the file
    (a mapped field takes the place of its source; one it replaces is left out).
    InvalidInput when the mapping names a field the file does not have."""
    sources = _sources(frame)
    for name, source in mapping.fields.items():
        if source not in sources:
            raise InvalidInput(
                msg("mapping.no_source", file=filename, field=name, source=source,
                    fields=", ".join(sources) or msg("list.none")),
                where={"file": filename, "option": "mapping", "field": name, "source": source},
            )  # fmt: skip
    for name in mapping.values:
        if name not in mapping.fields and name not in sources:
            raise InvalidInput(
                msg("mapping.no_values_field", file=filename, field=name,
                    fields=", ".join(sources) or msg("list.none")),
                where={"file": filename, "option": "mapping", "field": name},
            )  # fmt: skip
    targets: dict[str, list[str]] = {}
    for name, source in mapping.fields.items():
        targets.setdefault(source, []).append(name)
    columns: dict[str, pd.Series] = {}
    for column in sources:
        for name in targets.get(column, [column] if column not in mapping.fields else []):
            columns[name] = frame[column]
    for name, table in mapping.values.items():
        columns[name] = _mapped(columns[name], table)
    geometry = frame.geometry.name
    return gpd.GeoDataFrame(
        {**columns, geometry: frame.geometry}, geometry=geometry, crs=frame.crs, index=frame.index
    )


def _counted(column: pd.Series) -> tuple[Counter[str], dict[str, Any], int]:
    """Distinct values of `column` as the mapping names them, with their counts and a value as
    it came for each; and the count of empty values."""
    counts: Counter[str] = Counter()
    first: dict[str, Any] = {}
    empty = 0
    for value in column.astype(object).tolist():
        key = _key(value)
        if key is None:
            empty += 1
            continue
        counts[key] += 1
        first.setdefault(key, value.item() if isinstance(value, np.generic) else value)
    return counts, first, empty


def _values_report(
    column: pd.Series, kind: str, name: str, table: dict[str, Value] | None, listed: bool
) -> tuple[dict[str, Any], set[str]]:
    """What becomes of the values of the source `column` in field `name`: those the mapping
    maps, those it does not (when `listed`), those `kind` would refuse; each with its count.
    And the refused ones, all of them."""
    counts, first, empty = _counted(column)
    table = table or {}
    ordered = sorted(counts, key=lambda k: (-counts[k], k))
    report: dict[str, Any] = {"distinct": len(counts), "empty": empty}
    report["mapped_values"] = [
        {"value": k, "to": table[k], "count": counts[k]} for k in ordered if k in table
    ][:MAX_LISTED]
    if listed:
        unmapped = [{"value": k, "count": counts[k]} for k in ordered if k not in table]
        report["unmapped_values"] = unmapped[:MAX_LISTED]
    refused: dict[str, str] = {}
    for key in ordered:
        to = table[key] if key in table else first[key]
        reason = None if to is None else _refusal(kind, name, to)
        if reason is not None:
            refused[key] = reason
    report["refused_values"] = [
        {"value": k, "count": counts[k], "message": reason} for k, reason in refused.items()
    ][:MAX_LISTED]
    report["refused_count"] = sum(counts[k] for k in refused)
    return report, set(refused)


def preview(
    frame: gpd.GeoDataFrame, kind: str, mapping: Mapping | None, filename: str
) -> dict[str, Any]:
    """What importing `frame` into a layer of `kind` with `mapping` would make of its fields,
    without importing: for each field of the kind (each mapped field of a reference layer), the
    source field filling it ("by": "mapping", or "name" when a source field has its name), its
    allowed values, and its values mapped, left as they came (listed for fields with a value
    mapping or a list of allowed values) and refused by the kind, with counts; the fields of
    the kind no source fills, and the source fields kept as they came."""
    mapping = mapping or Mapping()
    apply_mapping(frame, mapping, filename)  # refuses what the import would refuse
    sources = _sources(frame)
    names = kind_fields(kind) or list(mapping.fields)
    fields = []
    refused = np.zeros(len(frame), dtype=bool)  # features holding a value the kind refuses
    for name in names:
        source = mapping.fields.get(name) or (name if name in sources else None)
        entry: dict[str, Any] = {
            "field": name,
            "source": source,
            "by": None if source is None else "mapping" if name in mapping.fields else "name",
        }
        allowed = allowed_values(kind, name)
        if allowed is not None:
            entry["allowed"] = allowed
        if source is not None:
            table = mapping.values.get(name)
            listed = bool(table) or allowed is not None
            report, bad = _values_report(frame[source], kind, name, table, listed)
            entry.update(report)
            if bad:
                refused |= frame[source].astype(object).map(_key).isin(bad).to_numpy()
        fields.append(entry)
    consumed = {f["source"] for f in fields if f["source"] is not None}
    return {
        "kind": kind,
        "features": len(frame),
        "source_fields": sources,
        "mapping": mapping.to_json() if mapping else None,
        "fields": fields,
        "unmapped_fields": [f["field"] for f in fields if f["source"] is None],
        "kept_fields": [s for s in sources if s not in consumed],
        "refused_features": int(refused.sum()),
    }
