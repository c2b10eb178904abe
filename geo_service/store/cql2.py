"""CQL2 filters (OGC 21-065) as SQL on `features`: the one filter compiler of the service.

Text and JSON are parsed by cql2 (cql2-rs) into CQL2 JSON, which is compiled here into a
parameterised SQL condition: property names and values are bind parameters, never formatted in.
Items, exports, tiles, analyses and the map's filters all compile through `compile_filter`, so a
filter means one thing everywhere. The old `property=value` query parameters (Part 3
queryables-query-parameters) and the analyses' `{property: value}` maps are CQL2 equalities too.

Properties are read from the feature's JSON: `id` is the feature id, `name` its display name,
`geom` (or `geometry`) its geometry; every other name is an attribute. A comparison takes the
type of the literal it is compared with (a number compares numbers, a DATE reads the attribute
as an ISO date, a string compares text) and is unknown, so not selected, for a feature whose
attribute is missing or of another type. An attribute that holds a list (minerals, hazards)
equals a value when it contains it, as the map's filters and the tiles always had it.

    >>> sql, params = compile_filter(parse("minerals = 'gold'", "cql2-text"), prefix="q")
    >>> params
    {'q0': 'minerals', 'q1': 'gold'}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson

from geo_service.errors import InvalidInput
from geo_service.problems import msg
from geo_service.store.crs import STORAGE, Crs, to_storage

TEXT_LANGS = ("cql2-text", "cql-text")  # cql-text: the draft's name, which GDAL 3.6 sends
LANGS = (*TEXT_LANGS, "cql2-json")
MAX_FILTER = 20_000  # characters: a national park drawn by hand fits, a DoS does not
MAX_DEPTH = 64

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
)

# Accents folded by ACCENTI: the letters of French, Portuguese and the Sahel's romanised names.
_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ"
_PLAIN = "aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUY"
# CASEI lowers those capitals itself: lower() of a database in the C locale knows only ASCII.
_CAPITALS = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ"
_SMALL = "àáâãäåçèéêëìíîïñòóôõöùúûüý"

_COMPARE = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_equals": "ST_Equals",
    "s_disjoint": "ST_Disjoint",
    "s_touches": "ST_Touches",
    "s_within": "ST_Within",
    "s_overlaps": "ST_Overlaps",
    "s_crosses": "ST_Crosses",
    "s_contains": "ST_Contains",
}
_ARITHMETIC = {"+": "+", "-": "-", "*": "*", "/": "/"}
# A JSON attribute read as a literal's type: NULL (unknown) when it holds another type.
_READ_AS = {
    "text": "(CASE WHEN jsonb_typeof({x}) = 'string' THEN {t} END)",
    "number": "(CASE WHEN jsonb_typeof({x}) = 'number' THEN ({t})::numeric END)",
    "bool": "(CASE WHEN jsonb_typeof({x}) = 'boolean' THEN ({t})::boolean END)",
    "date": "filter_date(CASE WHEN jsonb_typeof({x}) = 'string' THEN {t} END)",
    "timestamp": "filter_timestamp(CASE WHEN jsonb_typeof({x}) = 'string' THEN {t} END)",
}
# Array functions that are one jsonb operator between the attribute and the list.
_ARRAY_OPERATORS = {"a_contains": "@>", "a_containedby": "<@", "a_equals": "="}
_UNITS = {"meters": 1.0, "metres": 1.0, "m": 1.0, "kilometers": 1000.0, "kilometres": 1000.0,
          "km": 1000.0}  # fmt: skip
_COLUMNS = {"id": ("f.id", "number"), "name": ("f.name", "text")}
GEOMETRY_NAMES = ("geom", "geometry")


def _bad(detail: str, where: Any) -> InvalidInput:
    return InvalidInput(detail, where={"filter": where})


def parse(value: str | dict[str, Any], lang: str | None = None) -> dict[str, Any]:
    """CQL2 JSON of a filter given as text (`cql2-text`, the default for a str) or JSON
    (`cql2-json`, the default for a dict). InvalidInput saying where the text is wrong."""
    import cql2

    if lang is not None and lang not in LANGS:
        raise InvalidInput(
            msg("filter.lang", lang=lang[:40], langs=", ".join(LANGS)),
            where={"filter-lang": lang[:40]},
        )
    if isinstance(value, str) and len(value) > MAX_FILTER:
        raise _bad(msg("filter.too_long", max=MAX_FILTER), len(value))
    try:
        if isinstance(value, dict):
            expr = cql2.Expr(value)
        elif lang == "cql2-json":
            expr = cql2.parse_json(value)
        else:
            expr = cql2.parse_text(value)
        parsed = expr.to_json()
    except Exception as exc:  # cql2 raises ParseError, ValueError or a bare Exception
        said = " ".join(str(exc).split())[:300]
        raise _bad(msg("filter.syntax", lang=lang or "cql2-text", said=said), said) from None
    return parsed if isinstance(parsed, dict) else {"op": "=", "args": [parsed, True]}


def equalities(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The CQL2 of `{property: value}` equalities (a list: any of its values), all of them."""
    parts: list[dict[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, list):
            if not value:
                raise InvalidInput(msg("filter.empty", key=key), where={"filter": key})
            parts.append({"op": "in", "args": [{"property": str(key)}, value]})
        else:
            parts.append({"op": "=", "args": [{"property": str(key)}, value]})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"op": "and", "args": parts}


def both(*filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """The CQL2 `and` of the filters given (None ones left out)."""
    present = [f for f in filters if f is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"op": "and", "args": present}


@dataclass
class _Operand:
    sql: str
    type: str  # json, text, number, bool, date, timestamp, geometry
    text: str | None = None  # a json attribute's value as text (->>), for text comparisons


@dataclass
class Compiler:
    """Compiles one CQL2 expression on the features aliased `alias`; bind parameters are named
    `{prefix}{n}` and written by `placeholder` (":name" for SQLAlchemy text, "%(name)s" for the
    driver). `queryables`, when given, are the property names a filter may use."""

    alias: str = "f"
    prefix: str = "q"
    placeholder: str = ":{}"
    queryables: Iterable[str] | None = None
    crs: Crs = STORAGE
    params: dict[str, Any] = field(default_factory=dict)
    # Attributes the caller may not see (store/sensitivity.py): filtering on them would leak
    # them, so they are unknown to it, `name` included.
    hidden: Iterable[str] = ()
    # SQL of the geometry spatial predicates test (None: `{alias}.geom`): the generalised one
    # for a caller who sees the layer generalised, or a shrinking box would find the exact site.
    geometry: str | None = None

    def __post_init__(self) -> None:
        self._allowed = None if self.queryables is None else set(self.queryables)
        self._hidden = set(self.hidden)
        self._dispatch = self._handlers()

    # -- bind parameters and operands -----------------------------------------------------------

    def bind(self, value: Any, cast: str | None = None) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        ph = self.placeholder.format(name)
        return f"CAST({ph} AS {cast})" if cast else ph

    def _property(self, name: str) -> _Operand:
        if name in GEOMETRY_NAMES:
            return _Operand(self.geometry or f"{self.alias}.geom", "geometry")
        unknown = self._allowed is not None and name not in self._allowed and name not in _COLUMNS
        if unknown or name in self._hidden:
            listed = ", ".join(sorted(set(self._allowed or ()) - self._hidden)[:40])
            raise _bad(
                msg("filter.unknown_property", name=name[:100], queryables=listed), name[:100]
            )
        if name in _COLUMNS:
            column, typ = _COLUMNS[name]
            return _Operand(column.replace("f.", f"{self.alias}.", 1), typ)
        key = self.bind(name, "text")
        return _Operand(f"({self.alias}.properties -> {key})", "json",
                        f"({self.alias}.properties ->> {key})")  # fmt: skip

    def operand(self, node: Any, depth: int = 0) -> _Operand:
        if depth > MAX_DEPTH:
            raise _bad(msg("filter.too_deep", max=MAX_DEPTH), "depth")
        if isinstance(node, bool):
            return _Operand(self.bind(node, "boolean"), "bool")
        if isinstance(node, int | float):
            if not math.isfinite(node):
                raise _bad(msg("filter.number", value=str(node)), str(node))
            return _Operand(self.bind(node, "numeric"), "number")
        if isinstance(node, str):
            return _Operand(self.bind(node, "text"), "text")
        if isinstance(node, dict):
            if "property" in node:
                return self._property(str(node["property"]))
            if "date" in node:
                return _Operand(self.bind(_date(node["date"]), "date"), "date")
            if "timestamp" in node:
                return _Operand(
                    self.bind(_timestamp(node["timestamp"]), "timestamptz"), "timestamp"
                )
            if "bbox" in node:
                return _Operand(self._bbox(node["bbox"]), "geometry")
            if "type" in node and ("coordinates" in node or "geometries" in node):
                return _Operand(self._geometry(node), "geometry")
            if "op" in node:
                return self._function(node, depth)
        raise _bad(msg("filter.unsupported", construct=_said(node)), _said(node))

    def _function(self, node: dict[str, Any], depth: int) -> _Operand:
        op = str(node.get("op", "")).lower()
        args = node.get("args") or []
        if op in ("casei", "accenti") and len(args) == 1:
            inner = self._as(self.operand(args[0], depth + 1), "text")
            folded = (
                f"lower(translate({inner}, '{_CAPITALS}', '{_SMALL}'))" if op == "casei"
                else f"translate({inner}, '{_ACCENTED}', '{_PLAIN}')"
            )  # fmt: skip
            return _Operand(folded, "text")
        if op in _ARITHMETIC and len(args) == 2:
            left, right = (self._as(self.operand(a, depth + 1), "number") for a in args)
            if op == "/":
                right = f"NULLIF({right}, 0)"
            return _Operand(f"({left} {_ARITHMETIC[op]} {right})", "number")
        raise _bad(msg("filter.unsupported", construct=op or _said(node)), op or _said(node))

    def _geometry(self, node: dict[str, Any]) -> str:
        from shapely.geometry import shape

        try:
            geometry = shape(node)
        except Exception:
            raise _bad(msg("filter.geometry", said=_said(node)), _said(node)) from None
        if geometry.is_empty or not all(map(math.isfinite, geometry.bounds)):
            raise _bad(msg("filter.geometry", said=_said(node)), _said(node))
        literal = f"ST_GeomFromText({self.bind(geometry.wkt)})"
        return to_storage(literal, self.crs)

    def _bbox(self, values: Any) -> str:
        if not isinstance(values, list) or len(values) not in (4, 6):
            raise _bad(msg("filter.bbox"), _said(values))
        numbers = [float(v) for v in values]
        minx, miny, maxx, maxy = (
            numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])
        )
        if self.crs.north_first:
            minx, miny, maxx, maxy = miny, minx, maxy, maxx
        envelope = (
            f"ST_MakeEnvelope({self.bind(minx, 'float8')}, {self.bind(miny, 'float8')}, "
            f"{self.bind(maxx, 'float8')}, {self.bind(maxy, 'float8')})"
        )
        plain = self.crs if not self.crs.north_first else Crs(self.crs.uri, self.crs.srid, False)
        return to_storage(envelope, plain)

    def _as(self, operand: _Operand, typ: str) -> str:
        """The operand's SQL as `typ`; a JSON attribute of another type reads as NULL."""
        if operand.type == typ:
            return operand.sql
        if operand.type == "json" and typ in _READ_AS:
            return _READ_AS[typ].format(x=operand.sql, t=operand.text)
        if operand.type == "number" and typ == "text":
            return f"({operand.sql})::text"
        if operand.type == "date" and typ == "timestamp":
            return f"({operand.sql})::timestamptz"
        if operand.type == "timestamp" and typ == "date":
            return f"({operand.sql})::date"
        raise _bad(msg("filter.types", left=operand.type, right=typ), [operand.type, typ])

    # -- predicates -----------------------------------------------------------------------------

    def condition(self, node: Any, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            raise _bad(msg("filter.too_deep", max=MAX_DEPTH), "depth")
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if not isinstance(node, dict) or "op" not in node:
            raise _bad(msg("filter.not_condition", said=_said(node)), _said(node))
        op = str(node["op"]).lower()
        args = node.get("args")
        if not isinstance(args, list):
            raise _bad(msg("filter.unsupported", construct=op), op)
        handler = self._dispatch.get(op)
        if handler is None:
            raise _bad(msg("filter.unsupported", construct=op), op)
        return handler(args, depth + 1)

    def _handlers(self) -> dict[str, Callable[[list[Any], int], str]]:
        handlers: dict[str, Callable[[list[Any], int], str]] = {
            "and": self._and,
            "or": self._or,
            "not": self._not,
            "like": self._like,
            "between": self._between,
            "in": self._in,
            "isnull": self._is_null,
            "s_dwithin": self._dwithin,
            "a_equals": self._array("a_equals"),
            "a_contains": self._array("a_contains"),
            "a_containedby": self._array("a_containedby"),
            "a_overlaps": self._array("a_overlaps"),
        }
        for op in _COMPARE:
            handlers[op] = self._comparison(op)
        for op in _SPATIAL:
            handlers[op] = self._spatial(op)
        return handlers

    def _and(self, args: list[Any], depth: int) -> str:
        return "(" + " AND ".join(self.condition(a, depth) for a in args) + ")"

    def _or(self, args: list[Any], depth: int) -> str:
        return "(" + " OR ".join(self.condition(a, depth) for a in args) + ")"

    def _not(self, args: list[Any], depth: int) -> str:
        _arity("not", args, 1)
        return f"(NOT {self.condition(args[0], depth)})"

    def _comparison(self, op: str) -> Callable[[list[Any], int], str]:
        def compile_(args: list[Any], depth: int) -> str:
            _arity(op, args, 2)
            left, right = (self.operand(a, depth) for a in args)
            return self.compare(left, op, right)

        return compile_

    def compare(self, left: _Operand, op: str, right: _Operand) -> str:
        sql_op = _COMPARE[op]
        if left.type != "json" and right.type == "json":
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return self.compare(right, flipped, left)
        if "geometry" in (left.type, right.type):
            raise _bad(msg("filter.types", left=left.type, right=right.type), op)
        if left.type == "json" and right.type == "json":
            return (
                f"(jsonb_typeof({left.sql}) = jsonb_typeof({right.sql}) "
                f"AND {left.sql} {sql_op} {right.sql})"
            )
        if left.type == "json":
            scalar = f"({self._as(left, right.type)} {sql_op} {right.sql})"
            if op in ("=", "<>") and right.type in ("text", "number", "bool"):
                element = f"jsonb_build_array({right.sql})"
                listed = f"{left.sql} @> {element}"
                if op == "=":
                    return f"(CASE WHEN jsonb_typeof({left.sql}) = 'array' THEN {listed} ELSE {scalar} END)"
                return f"(CASE WHEN jsonb_typeof({left.sql}) = 'array' THEN NOT {listed} ELSE {scalar} END)"
            return scalar
        typ = _common_type(left.type, right.type)
        return f"({self._as(left, typ)} {sql_op} {self._as(right, typ)})"

    def _like(self, args: list[Any], depth: int) -> str:
        _arity("like", args, 2)
        value, pattern = self.operand(args[0], depth), self.operand(args[1], depth)
        pattern_sql = self._as(pattern, "text")
        scalar = f"({self._as(value, 'text')} LIKE {pattern_sql})"
        if value.type != "json":
            return scalar
        return (
            f"(CASE WHEN jsonb_typeof({value.sql}) = 'array' THEN EXISTS ("
            f"SELECT 1 FROM jsonb_array_elements_text({value.sql}) e(v) WHERE e.v LIKE {pattern_sql})"
            f" ELSE {scalar} END)"
        )

    def _between(self, args: list[Any], depth: int) -> str:
        _arity("between", args, 3)
        value, low, high = (self.operand(a, depth) for a in args)
        typ = _common_type(low.type, high.type)
        return f"({self._as(value, typ)} BETWEEN {self._as(low, typ)} AND {self._as(high, typ)})"

    def _in(self, args: list[Any], depth: int) -> str:
        _arity("in", args, 2)
        if not isinstance(args[1], list) or not args[1]:
            raise _bad(msg("filter.in_list"), _said(args[1]))
        value = self.operand(args[0], depth)
        return "(" + " OR ".join(
            self.compare(value, "=", self.operand(item, depth)) for item in args[1]
        ) + ")"  # fmt: skip

    def _is_null(self, args: list[Any], depth: int) -> str:
        _arity("isNull", args, 1)
        value = self.operand(args[0], depth)
        if value.type == "json":
            return f"(coalesce(jsonb_typeof({value.sql}), 'null') = 'null')"
        return f"({value.sql} IS NULL)"

    def _spatial(self, op: str) -> Callable[[list[Any], int], str]:
        def compile_(args: list[Any], depth: int) -> str:
            _arity(op, args, 2)
            left, right = (self._geometry_operand(a, depth) for a in args)
            return f"{_SPATIAL[op]}({left}, {right})"

        return compile_

    def _geometry_operand(self, node: Any, depth: int) -> str:
        operand = self.operand(node, depth)
        if operand.type != "geometry":
            raise _bad(msg("filter.types", left=operand.type, right="geometry"), _said(node))
        return operand.sql

    def _dwithin(self, args: list[Any], depth: int) -> str:
        """S_DWITHIN(a, b, distance, units): within a geodesic distance (WGS84 spheroid)."""
        _arity("s_dwithin", args, 4)
        left, right = (self._geometry_operand(a, depth) for a in args[:2])
        distance, units = args[2], args[3]
        unit = units.get("property") if isinstance(units, dict) else units
        factor = _UNITS.get(str(unit).lower())
        if not isinstance(distance, int | float) or factor is None or distance < 0:
            raise _bad(msg("filter.distance", units=", ".join(_UNITS)), _said(args[2:]))
        metres = self.bind(float(distance) * factor, "float8")
        return f"ST_DWithin(({left})::geography, ({right})::geography, {metres})"

    def _array(self, op: str) -> Callable[[list[Any], int], str]:
        def compile_(args: list[Any], depth: int) -> str:
            _arity(op, args, 2)
            value = self.operand(args[0], depth)
            items = args[1]
            if value.type != "json" or not isinstance(items, list):
                raise _bad(msg("filter.array", op=op), op)
            literal = self.bind(orjson.dumps(items).decode(), "jsonb")
            x = value.sql
            is_array = f"jsonb_typeof({x}) = 'array'"
            if op in _ARRAY_OPERATORS:
                return f"({is_array} AND {x} {_ARRAY_OPERATORS[op]} {literal})"
            return (
                f"({is_array} AND EXISTS (SELECT 1 FROM jsonb_array_elements({x}) e(v) "
                f"WHERE {literal} @> jsonb_build_array(e.v)))"
            )

        return compile_


def _arity(op: str, args: list[Any], n: int) -> None:
    if len(args) != n:
        raise _bad(msg("filter.arity", op=op, n=n, given=len(args)), op)


def _common_type(left: str, right: str) -> str:
    if left == right:
        return left
    pair = {left, right}
    if pair == {"date", "timestamp"}:
        return "timestamp"
    if pair == {"text", "number"}:
        return "text"
    raise _bad(msg("filter.types", left=left, right=right), [left, right])


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _bad(msg("filter.date", value=str(value)[:40]), str(value)[:40]) from None


def _timestamp(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _bad(msg("filter.timestamp", value=str(value)[:60]), str(value)[:60]) from None
    if moment.tzinfo is None:
        raise _bad(msg("filter.timestamp", value=str(value)[:60]), str(value)[:60])
    return moment


def _said(node: Any) -> str:
    return orjson.dumps(node, default=str).decode()[:200]


def compile_filter(
    expr: dict[str, Any] | None,
    *,
    alias: str = "f",
    prefix: str = "q",
    placeholder: str = ":{}",
    queryables: Iterable[str] | None = None,
    crs: Crs = STORAGE,
    hidden: Iterable[str] = (),
    geometry: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """SQL (on features `alias`) and bind parameters of a CQL2 JSON filter; 'TRUE' for None.
    A property among `hidden` is refused as one that is not a queryable; spatial predicates
    test `geometry` (SQL) when given, else the feature's own."""
    if expr is None:
        return "TRUE", {}
    compiler = Compiler(alias, prefix, placeholder, queryables, crs, hidden=hidden,
                        geometry=geometry)  # fmt: skip
    return compiler.condition(expr), compiler.params
