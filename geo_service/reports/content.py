"""What a report says: a screening or an analysis result turned into one Document.

The Document (title, the facts of the zone or the analysis, the map, the tables) is rendered
by html.py and pdf.py alike, so the two never say different things. Besides the result itself
it reads from the database what a result does not carry: the saved zone's record (code,
authority, status, who drew and last changed it), the layers' titles, and the whole geometry
of each feature in the report, clipped to the map and simplified to its pixels, so a title or
a park is drawn as it lies and not only where it meets the zone. Only layers the caller may
read take part.

    >>> document = zone_document(session, screen(session, zone_id=12, who=who), who=who,
    ...                          lang="fr", zone_id=12)
    >>> document.title, document.filename
    ('Rapport de vérification de zone', 'rapport-zone-ZOP-KGB-01')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.common import geometry as parse_geometry
from geo_service.analysis.messages import Lang, number
from geo_service.analysis.messages import text as message
from geo_service.analysis.screen import CATEGORIES
from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.reports.mapimage import MapImage, Shape, View, fit, render
from geo_service.reports.styles import (
    CONFLICT,
    RESULT,
    ZONE,
    Look,
    as_key,
    colour_rule,
    feature_style,
)
from geo_service.reports.words import app_word, long_date, short_date, value, word

Analysis = Literal["overlap", "proximity", "zonal"]
MAX_ROWS = 500  # rows printed per table; the CSV download has every row
MAX_FEATURES = 5000  # features drawn on one map

VERDICT_COLOURS = {"pass": "#1a9641", "warn": "#b35806", "fail": "#d7191c"}


@dataclass
class Table:
    """A titled table; `numeric` columns are right-aligned, and `tones` (one verdict or None
    per row) colour the `tone_column`. With no rows, `note` says why."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    widths: list[float]
    numeric: frozenset[int] = frozenset()
    tones: list[str | None] | None = None
    tone_column: int | None = None
    note: str | None = None


@dataclass
class Document:
    """Everything a printed report shows, in its language, ready to lay out."""

    lang: Lang
    title: str
    heading: str
    facts: list[tuple[str, str]]
    map: MapImage
    tables: list[Table]
    made: datetime
    filename: str
    author: str | None = None
    notes: list[str] = field(default_factory=list)


# A saved feature's record: what the zone report names and who made it.
_RECORD = """
    SELECT f.id, f.name, f.properties, f.version, f.created_by, f.created_at, f.updated_by,
           f.updated_at, l.kind
      FROM features f JOIN layers l ON l.id = f.layer_id
     WHERE f.id = :id AND {visible}
"""

# Where each feature comes nearest to a geometry: what the map must show of it.
_NEAREST_POINTS = """
    SELECT ST_AsGeoJSON(ST_ClosestPoint(f.geom, ST_SetSRID(ST_GeomFromGeoJSON(:near), 4326)), 7)
      FROM features f JOIN layers l ON l.id = f.layer_id
     WHERE f.id = ANY(CAST(:ids AS bigint[])) AND {visible}
"""

_EXTENT = """
    SELECT ST_AsGeoJSON(ST_Extent(f.geom)::geometry, 7)
      FROM features f JOIN layers l ON l.id = f.layer_id
     WHERE l.id = ANY(CAST(:layers AS int[])) AND {visible}
"""

# The features to draw (those named, or any of the given layers) as they lie inside the map,
# simplified to a fraction of a pixel.
_FEATURES = """
    SELECT l.id, l.kind, l.theme, l.style, {title}, f.properties,
           ST_AsGeoJSON(ST_Simplify(ST_ClipByBox2D(f.geom, box), :tolerance, true), 7)
      FROM features f JOIN layers l ON l.id = f.layer_id,
           ST_MakeEnvelope(:west, :south, :east, :north, 4326) box
     WHERE (f.id = ANY(CAST(:ids AS bigint[])) OR f.layer_id = ANY(CAST(:layers AS int[])))
       AND f.geom && box AND {visible}
     ORDER BY ST_Area(f.geom) DESC, f.id
     LIMIT :limit
"""

_LAYERS = "SELECT slug, id, {title} FROM layers l WHERE slug = ANY(:slugs) AND {visible}"

# A layer's title in the report's language when it has one.
_TITLE = (
    "COALESCE(CASE WHEN :lang = 'fr' THEN l.title_fr ELSE l.title_en END, l.title, l.slug) AS title"
)


def _sql(statement: str, who: Principal) -> tuple[Any, dict[str, Any]]:
    readable, access = visible(who, "l")
    return text(statement.replace("{visible}", readable).replace("{title}", _TITLE)), access


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _file_part(value_: str) -> str:
    """`value_` as a safe part of a file name: letters, digits, dot, dash, underscore."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value_).strip("-.") or "report"


def _ha(value_: float | None, lang: Lang) -> str:
    return "" if value_ is None else number(value_, 2, lang)


def _pct(value_: float | None, lang: Lang) -> str:
    return "" if value_ is None else f"{number(value_, 1, lang)} %"


def _m(value_: float | None, lang: Lang) -> str:
    return "" if value_ is None else number(value_, 0, lang)


def _legend_label(look: Look, title: str, properties: dict[str, Any], lang: Lang) -> str:
    """How the legend names a feature's colour, as the app's legend does: its kind (or its
    layer, for a layer's own style) and the value that colours it, else its layer's title."""
    rule = colour_rule(look)
    if rule is None:
        return title
    pair = app_word("label.pair", lang, "{field}: {value}")
    raw = properties.get(rule.field)
    if rule.own:
        shown = value(rule.field, raw, lang) if as_key(raw) in rule.colours else word("other", lang)
        return pair.format(field=title, value=shown)
    shown = value(rule.field, raw, lang) or word("none", lang)
    return pair.format(field=app_word(f"kind.{look.kind}", lang, look.kind), value=shown)


def _features(
    session: Session,
    who: Principal,
    view: View,
    lang: Lang,
    ids: list[int],
    layers: list[int] | None = None,
) -> list[Shape]:
    """The named features (or those of `layers`) inside `view`, each in the app's style."""
    if not ids and not layers:
        return []
    west, south, east, north = view.bounds
    statement, access = _sql(_FEATURES, who)
    rows = session.execute(
        statement,
        {
            **access,
            "ids": ids,
            "layers": layers or [],
            "west": west,
            "south": south,
            "east": east,
            "north": north,
            "tolerance": (east - west) / view.width / 3,
            "limit": MAX_FEATURES,
            "lang": lang,
        },
    )
    shapes = []
    for layer_id, kind, theme, style, title, properties, geojson in rows:
        geom = shape(parse_geometry(geojson)) if geojson else None
        if geom is not None and not geom.is_empty:
            look, props = Look(layer_id, kind, theme, style or {}), properties or {}
            label = _legend_label(look, title, props, lang)
            shapes.append(Shape(geom, feature_style(look, props), label))
    return shapes


def _by_on(who: str | None, when: datetime | None, lang: Lang) -> str | None:
    if not who:
        return None
    if when is None:
        return who
    return word("fact.by_on", lang, who=who, when=long_date(when.astimezone(UTC), lang))


def _zone_facts(record: Any, lang: Lang) -> list[tuple[str, str]]:
    """A saved zone's code, authority, status and who drew and last changed it."""
    props = record.properties or {}
    facts = [
        (word("fact.code", lang), props.get("code") or ""),
        (word("fact.authority", lang), props.get("authority") or ""),
        (word("fact.status", lang), value("status", props.get("status"), lang)),
        (word("fact.drawn_by", lang), _by_on(record.created_by, record.created_at, lang) or ""),
    ]
    if record.version > 1:
        changed = _by_on(record.updated_by, record.updated_at, lang) or ""
        facts += [(word("fact.changed_by", lang), changed)]
    facts += [(word("fact.version", lang), str(record.version))]
    return [(k, v) for k, v in facts if v]


def _rules_table(rules: list[dict[str, Any]], lang: Lang) -> Table:
    return Table(
        title=word("section.rules", lang),
        columns=[word("col.rule", lang), word("col.verdict", lang), word("col.reason", lang)],
        rows=[
            [
                message(f"rule.{rule['id']}", lang),
                message(f"verdict.{rule['verdict']}", lang),
                rule["reason"],
            ]
            for rule in rules
        ],
        widths=[3, 2, 7],
        tones=[rule["verdict"] for rule in rules],
        tone_column=1,
    )


def _name(item: dict[str, Any]) -> str:
    return item.get("name") or f"#{item['id']}"


def _conflict_table(category: str, items: list[dict[str, Any]], lang: Lang) -> Table:
    """The conflicts of one screening category, with the columns that matter for it."""
    w = lambda key: word(f"col.{key}", lang)  # noqa: E731
    overlap = [w("overlap_ha"), w("zone_pct")]
    title = message(f"conflict.{category}", lang)
    if category == "concessions":
        columns = [w("code"), w("holder"), w("type"), w("status"), *overlap]
        rows = [
            [
                c.get("code") or _name(c),
                c.get("holder") or "",
                value("title_type", c.get("title_type"), lang),
                value("status", c.get("status"), lang),
                _ha(c["overlap_ha"], lang),
                _pct(c["overlap_pct"], lang),
            ]
            for c in items
        ]
        return Table(title, columns, rows, [2.2, 2.8, 2, 1.5, 2.1, 1.4], frozenset({4, 5}))
    if category == "protected_areas":
        columns = [w("name"), *overlap, w("distance_m")]
        rows = [
            [_name(c), _ha(c["overlap_ha"], lang), _pct(c["overlap_pct"], lang),
             _m(c["distance_m"], lang)]
            for c in items
        ]  # fmt: skip
        return Table(title, columns, rows, [5, 2, 1.6, 1.6], frozenset({1, 2, 3}))
    if category == "asm_zones":
        columns = [w("code"), w("name"), w("status"), *overlap]
        rows = [
            [c.get("code") or "", _name(c), value("status", c.get("status"), lang),
             _ha(c["overlap_ha"], lang), _pct(c["overlap_pct"], lang)]
            for c in items
        ]  # fmt: skip
        return Table(title, columns, rows, [2, 3.4, 2, 2, 1.6], frozenset({3, 4}))
    if category == "mine_sites":
        columns = [w("name"), w("code"), w("qualification")]
        rows = [
            [_name(c), c.get("code") or "", value("qualification", c.get("qualification"), lang)]
            for c in items
        ]
        return Table(title, columns, rows, [4, 2, 2])
    extra: dict[str, tuple[str, str]] = {
        "tailings": ("consequence", "consequence"),
        "abandoned_mines": ("hazards", "hazards"),
    }
    if category in extra:
        column, attribute = extra[category]
        rows = [
            [_name(c), value(attribute, c.get(attribute), lang), _m(c["distance_m"], lang)]
            for c in items
        ]
        return Table(title, [w("name"), w(column), w("distance_m")], rows, [4, 3, 1.6],
                     frozenset({2}))  # fmt: skip
    rows = [[_name(c), _m(c["distance_m"], lang)] for c in items]
    return Table(title, [w("name"), w("distance_m")], rows, [6, 2], frozenset({1}))


def _nearest_points(
    session: Session, who: Principal, ids: list[int], near: BaseGeometry
) -> list[BaseGeometry]:
    if not ids:
        return []
    statement, access = _sql(_NEAREST_POINTS, who)
    found = session.execute(statement, {**access, "ids": ids, "near": shapely.to_geojson(near)})
    return [shape(parse_geometry(gj)) for (gj,) in found if gj]


def zone_document(
    session: Session,
    result: dict[str, Any],
    *,
    who: Principal,
    lang: Lang,
    zone_id: int | None = None,
    exclude_id: int | None = None,
    now: datetime | None = None,
) -> Document:
    """The report of a screening `result` (screen(..., with_geometry=True)). A saved zone
    (`zone_id`, or the ASM zone `exclude_id` whose edited shape was screened) brings its
    record; a drawn zone has none."""
    made = _now(now)
    statement, access = _sql(_RECORD, who)
    record, edited = None, False
    for feature_id, drawn in ((zone_id, False), (exclude_id, True)):
        if feature_id is not None and record is None:
            found = session.execute(statement, {**access, "id": feature_id}).first()
            if found is not None and (not drawn or found.kind == "asm_zone"):
                record, edited = found, drawn
    zone = shape(result["geometry"])
    conflicts = result["conflicts"]
    ids = [item["id"] for category in CATEGORIES for item in conflicts[category]]
    view = fit([zone, *_nearest_points(session, who, ids, zone)])
    shapes = _features(session, who, view, lang, ids)
    shapes.append(Shape(zone, ZONE, word("legend.zone", lang)))
    shapes += [
        Shape(shape(item["geometry"]), CONFLICT, word("legend.overlap", lang))
        for category in CATEGORIES
        for item in conflicts[category]
        if item.get("geometry")
    ]
    facts, notes = [], []
    if record is not None:
        code = (record.properties or {}).get("code")
        heading = record.name or word("zone.unnamed", lang, id=record.id)
        facts += _zone_facts(record, lang)
        if edited:
            notes.append(word("zone.edited", lang))
    else:
        code, heading = None, word("zone.unsaved", lang)
    facts += [
        (word("fact.area", lang), f"{number(result['area_ha'], 2, lang)} ha"),
        (word("fact.verdict", lang), message(f"verdict.{result['verdict']}", lang)),
        (word("fact.date", lang), long_date(made, lang)),
    ]
    if who.authenticated:
        facts.append((word("fact.prepared_by", lang), who.actor))
    tables = [_rules_table(result["rules"], lang)]
    tables += [_conflict_table(c, conflicts[c], lang) for c in CATEGORIES if conflicts[c]]
    if len(tables) == 1:
        notes.append(word("section.no_conflict", lang))
    return Document(
        lang=lang,
        title=word("title.zone", lang),
        heading=heading,
        facts=facts,
        map=render(view, shapes, lang),
        tables=tables,
        made=made,
        filename=f"{word('file.zone', lang)}-{_file_part(code or short_date(made))}",
        author=who.actor if who.authenticated else None,
        notes=notes,
    )


def _layers(session: Session, who: Principal, slugs: list[str], lang: Lang) -> dict[str, Any]:
    statement, access = _sql(_LAYERS, who)
    found = session.execute(statement, {**access, "slugs": slugs, "lang": lang})
    return {row.slug: row for row in found}


def _title(layer: Any | None, slug: str) -> str:
    return layer.title if layer is not None and layer.title else slug


def _layer_fact(layer: Any | None, slug: str) -> str:
    if layer is None or not layer.title or layer.title == slug:
        return slug
    return f"{layer.title} ({slug})"


def _ref(item: dict[str, Any] | None) -> str:
    return "—" if item is None else _name(item)


def _results_table(kind: Analysis, rows: list[dict[str, Any]], lang: Lang) -> Table:
    w = lambda key: word(f"col.{key}", lang)  # noqa: E731
    shown = rows[:MAX_ROWS]
    title = word("section.results", lang)
    note = None
    if len(rows) > MAX_ROWS:
        note = word("section.truncated", lang, shown=MAX_ROWS, total=len(rows))
    if kind == "overlap":
        columns = [w("source"), w("target"), w("overlap_ha"), w("source_pct"), w("target_pct")]
        cells = [
            [_ref(r["source"]), _ref(r["target"]),
             (w("inside") if r["inside"] else "") if "inside" in r else _ha(r["overlap_ha"], lang),
             _pct(r.get("source_pct"), lang), _pct(r.get("target_pct"), lang)]
            for r in shown
        ]  # fmt: skip
        table = Table(title, columns, cells, [3.5, 3.5, 2, 1.6, 1.6], frozenset({2, 3, 4}))
    elif kind == "proximity":
        cells = [[_ref(r["source"]), _ref(r["target"]), _m(r["distance_m"], lang)] for r in shown]
        table = Table(title, [w("source"), w("target"), w("distance_m")], cells, [4, 4, 2],
                      frozenset({2}))  # fmt: skip
    else:
        columns = [w(k) for k in ("zone", "pixels", "min", "max", "mean", "sum", "classes")]
        cells = [
            [_ref(r["zone"]) if r["zone"] else word("fact.drawn_zone", lang),
             number(r["count"], 0, lang),
             *("" if r[k] is None else number(r[k], 2, lang) for k in ("min", "max", "mean", "sum")),
             ", ".join(f"{c}: {number(100 * share, 1, lang)} %"
                       for c, share in (r.get("classes") or {}).items())]
            for r in shown
        ]  # fmt: skip
        table = Table(title, columns, cells, [2.6, 1.2, 1.2, 1.2, 1.3, 1.5, 3],
                      frozenset({1, 2, 3, 4, 5}))  # fmt: skip
    table.note = note if rows else word("section.no_rows", lang)
    return table


def analysis_document(
    session: Session,
    kind: Analysis,
    result: dict[str, Any],
    request: dict[str, Any],
    *,
    who: Principal,
    lang: Lang,
    now: datetime | None = None,
) -> Document:
    """The report of an overlap, proximity or zonal `result` (computed with its geometries)
    for the `request` that asked for it (its layers and distances)."""
    made = _now(now)
    rows = result["rows"]
    role = "zone" if kind == "zonal" else "source"
    slugs = [request["raster"], request["zones"]] if kind == "zonal" else [
        request["source"], request["target"]
    ]  # fmt: skip
    known = _layers(session, who, [s for s in slugs if isinstance(s, str)], lang)
    geometries = [shape(r["geometry"]) for r in rows if r.get("geometry")]
    facts: list[tuple[str, str]] = []
    if kind == "zonal":
        zones = request["zones"]
        facts.append((word("fact.raster", lang), _layer_fact(known.get(slugs[0]), slugs[0])))
        facts.append(
            (word("fact.zones", lang),
             _layer_fact(known.get(zones), zones) if isinstance(zones, str)
             else word("fact.drawn_zone", lang))
        )  # fmt: skip
        draw_layers: list[int] = []
        ids: list[int] = []
    else:
        for key, slug in zip(("fact.source", "fact.target"), slugs, strict=True):
            facts.append((word(key, lang), _layer_fact(known.get(slug), slug)))
        ids = sorted({r[end]["id"] for r in rows for end in (role, "target") if r.get(end)})
        draw_layers = [] if rows else [known[s].id for s in slugs if s in known]
    if kind == "overlap" and "total_overlap_ha" in result:
        facts.append(
            (word("fact.total", lang), f"{number(result['total_overlap_ha'], 2, lang)} ha")
        )
    if kind == "proximity":
        if request.get("within_m") is not None:
            facts.append((word("fact.within", lang), f"{number(request['within_m'], 0, lang)} m"))
        if request.get("k") is not None:
            facts.append((word("fact.nearest", lang), str(request["k"])))
    facts.append((word("fact.rows", lang), number(len(rows), 0, lang)))
    facts.append((word("fact.date", lang), long_date(made, lang)))
    if who.authenticated:
        facts.append((word("fact.prepared_by", lang), who.actor))
    if not geometries and draw_layers:
        statement, access = _sql(_EXTENT, who)
        extent = session.execute(statement, {**access, "layers": draw_layers}).scalar()
        geometries = [shape(parse_geometry(extent))] if extent else []
    view = fit(geometries)
    shapes = _features(session, who, view, lang, ids, draw_layers)
    result_style, result_label = {
        "overlap": (RESULT, "legend.result_overlap"),
        "proximity": (RESULT, "legend.result_line"),
        "zonal": (ZONE, "legend.zonal_zone"),
    }[kind]
    shapes += [Shape(g, result_style, word(result_label, lang)) for g in geometries if rows]
    names = "-".join(_file_part(s) for s in slugs if isinstance(s, str))
    return Document(
        lang=lang,
        title=word(f"title.{kind}", lang),
        heading=" × ".join(_title(known.get(s), s) for s in slugs if isinstance(s, str)),
        facts=facts,
        map=render(view, shapes, lang),
        tables=[_results_table(kind, rows, lang)],
        made=made,
        filename=f"{word(f'file.{kind}', lang)}-{names}",
        author=who.actor if who.authenticated else None,
    )
