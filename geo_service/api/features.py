"""OGC API Features: Part 1 core (GeoJSON, HTML, CSV), Part 2 CRS, Part 3 filters (CQL2 text
and JSON, property filters, queryables), Part 4 create/replace/update/delete. Landing page `/`,
`/conformance`, `/collections`...

Items pages are built as GeoJSON by PostGIS in one statement (store.features.page) and sent as
bytes. `datetime` filters on the time a feature was last changed (`updated_at`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from geo_service.api.deps import Caller, DbSession, Editor
from geo_service.api.openapi import MEDIA_TYPE as OPENAPI_MEDIA_TYPE
from geo_service.api.params import check_properties, filters_on_properties
from geo_service.api.responses import GeoJSONResponse, JSONResponse
from geo_service.db.models import Layer
from geo_service.domain.access import Principal
from geo_service.errors import InvalidCRS, InvalidInput
from geo_service.io.write import csv_lines
from geo_service.problems import joined, msg
from geo_service.store import cql2
from geo_service.store import features as select
from geo_service.store import layers as store
from geo_service.store.crs import CRS84, LISTED_CRS, Crs, parse_crs
from geo_service.store.queryables import queryables as layer_queryables
from geo_service.store.queryables import typed_value
from geo_service.store.sensitivity import audit_read, described, mask_for

router = APIRouter(tags=["OGC API Features"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates" / "ogc")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    *cql2.CONFORMANCE,
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
]
MAX_LIMIT = 10000
MAX_ID = 2**63 - 1  # ids and versions are PostgreSQL bigints
GEOJSON = "application/geo+json"

# -- reusable parameters ------------------------------------------------------------------------

OutputFormat = Annotated[
    str | None,
    Query(
        alias="f",
        pattern="^(json|html|csv)$",
        description="json (GeoJSON), html or csv; default from the Accept header, else json.",
    ),
]


def parse_bbox(
    bbox: Annotated[
        str | None,
        Query(
            description="minx,miny,maxx,maxy in `bbox-crs` (default CRS84: minLon,minLat,"
            "maxLon,maxLat in degrees).",
            examples=["-9.6,11.4,-7.4,13.0"],
        ),
    ] = None,
) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        values = [float(v) for v in bbox.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or values[0] > values[2] or values[1] > values[3]:
        raise InvalidInput(msg("bbox.order"), where={"bbox": bbox})
    return values[0], values[1], values[2], values[3]


BBox = Annotated[tuple[float, float, float, float] | None, Depends(parse_bbox)]
_CRS_NAMES = "a URI (http://www.opengis.net/def/crs/EPSG/0/32629), EPSG:32629 or CRS84"


def output_crs(
    crs: Annotated[
        str | None,
        Query(description=f"The CRS of the coordinates returned: {_CRS_NAMES}; default CRS84."),
    ] = None,
) -> Crs:
    return parse_crs(crs, "crs")


def bbox_crs(
    value: Annotated[
        str | None,
        Query(alias="bbox-crs", description=f"The CRS of `bbox`: {_CRS_NAMES}; default CRS84."),
    ] = None,
) -> Crs:
    return parse_crs(value, "bbox-crs")


OutputCrs = Annotated[Crs, Depends(output_crs)]
BBoxCrs = Annotated[Crs, Depends(bbox_crs)]


class FilterParams:
    """`filter`, `filter-lang` and `filter-crs` (Part 3): a CQL2 filter as CQL2 JSON, or None."""

    def __init__(
        self,
        filter: Annotated[
            str | None,
            Query(
                description="A CQL2 filter (OGC 21-065), as text or JSON (`filter-lang`). "
                "Property names are the collection's queryables.",
                examples=["status = 'active' AND S_INTERSECTS(geom, BBOX(-9.6,11.4,-7.4,13))"],
            ),
        ] = None,
        lang: Annotated[
            str | None,
            Query(
                alias="filter-lang",
                description="cql2-text (default) or cql2-json.",
                json_schema_extra={"enum": list(cql2.LANGS)},
            ),
        ] = None,  # fmt: skip
        crs: Annotated[
            str | None,
            Query(
                alias="filter-crs",
                description=f"The CRS of the filter's geometries: {_CRS_NAMES}; default CRS84.",
            ),
        ] = None,  # fmt: skip
    ) -> None:
        self.crs: Crs = parse_crs(crs, "filter-crs")
        if filter is None and (lang is not None or crs is not None):
            raise InvalidInput(msg("filter.crs_param"), where={"filter": None})
        self.expr = None if filter is None else cql2.parse(filter, lang)


Filter = Annotated[FilterParams, Depends(FilterParams)]


def base_url(request: Request) -> str:
    public = request.app.state.settings.api.public_url
    return (public or str(request.base_url)).rstrip("/")


def wants(request: Request, f: str | None) -> str:
    """The output format: `f`, else HTML for a browser (Accept text/html), else JSON."""
    if f:
        return f
    accept = request.headers.get("accept", "")
    html = accept.find("text/html")
    json = min((i for i in (accept.find("json"),) if i >= 0), default=-1)
    return "html" if html >= 0 and (json < 0 or html < json) else "json"


def _html(request: Request, template: str, title: str, doc: Any, **extra: Any) -> HTMLResponse:
    context = {
        "title": title,
        "doc": doc,
        "base": base_url(request),
        "links": doc.get("links", []),
    }
    return templates.TemplateResponse(request, template, {**context, **extra})


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _alternates(url: str, current: str, formats: tuple[str, ...] = ("json", "html")) -> list:
    media = {"json": "application/json", "html": "text/html", "csv": "text/csv"}
    return [
        _link(f"{url}?f={fmt}", "self" if fmt == current else "alternate", media[fmt])
        for fmt in formats
    ]


# -- landing, conformance, collections ----------------------------------------------------------


@router.get("/", summary="Landing page (a browser is sent to the map)")
def landing(request: Request, f: OutputFormat = None) -> Response:
    fmt = wants(request, f)
    if fmt == "html" and f is None:
        return RedirectResponse("/map", status_code=303)
    base = base_url(request)
    doc = {
        "title": "geo-service",
        "description": (
            "Artisanal and small-scale mining sites, mining titles, tailings storage facilities, "
            "abandoned mines and reference layers, as OGC API Features."
        ),
        "links": [
            *_alternates(f"{base}/", fmt),
            _link(f"{base}/api", "service-desc", OPENAPI_MEDIA_TYPE, "API definition"),
            _link(f"{base}/docs", "service-doc", "text/html", "API documentation"),
            _link(f"{base}/conformance", "conformance", "application/json", "Conformance classes"),
            _link(f"{base}/collections", "data", "application/json", "Collections"),
            _link(f"{base}/map", "alternate", "text/html", "Web map"),
            _link(f"{base}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                  "application/json", "Vector tilesets"),
        ],
    }  # fmt: skip
    if fmt == "html":
        return _html(request, "landing.html", "geo-service", doc)
    return JSONResponse(doc)


@router.get("/conformance", summary="Conformance classes")
def conformance(request: Request, f: OutputFormat = None) -> Response:
    doc = {
        "conformsTo": CONFORMANCE,
        "links": _alternates(f"{base_url(request)}/conformance", "json"),
    }
    if wants(request, f) == "html":
        return _html(request, "conformance.html", "Conformance", doc)
    return JSONResponse(doc)


def _collection(request: Request, description: dict[str, Any]) -> dict[str, Any]:
    base = base_url(request)
    url = f"{base}/collections/{description['slug']}"
    extent = description["extent"]
    items = f"{url}/items"
    return {
        "id": description["slug"],
        "title": description["title"],
        "description": description["description"] or "",
        "kind": description["kind"],
        "theme": description["theme"],
        "itemType": "feature",
        "crs": list(LISTED_CRS),
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [extent], "crs": CRS84}} if extent else None,
        "numberMatched": description["feature_count"],
        "geometryTypes": description["geometry_types"],
        "attributes": description["attributes"],
        "links": [
            *_alternates(url, "json"),
            _link(f"{items}?f=json", "items", GEOJSON, "Features as GeoJSON"),
            _link(f"{items}?f=html", "items", "text/html", "Features as HTML"),
            _link(f"{items}?f=csv", "items", "text/csv", "Features as CSV"),
            _link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                  "application/schema+json", "Queryable properties"),
            _link(f"{url}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-"
                  + ("map" if description["storage"] == "raster" else "vector"),
                  "application/json", "Tilesets"),
            _link(f"{base}/tiles/{description['slug']}/style.json", "stylesheet",
                  "application/json", "MapLibre style"),
            _link(f"{base}/tiles/preview?layers={description['slug']}", "preview", "text/html",
                  "MapLibre preview"),
        ],
    }  # fmt: skip


@router.get("/collections", summary="The vector layers, as collections")
def collections(
    request: Request, session: DbSession, who: Caller, f: OutputFormat = None
) -> Response:
    docs = [
        _collection(request, _described(session, layer, who))
        for layer in store.list_layers(session, who)
        if layer.storage == "vector"
    ]
    doc = {"collections": docs, "links": _alternates(f"{base_url(request)}/collections", "json")}
    if wants(request, f) == "html":
        return _html(request, "collections.html", "Collections", doc)
    return JSONResponse(doc)


@router.get("/collections/{slug}", summary="One collection: extent, count, attributes")
def collection(
    request: Request, slug: str, session: DbSession, who: Caller, f: OutputFormat = None
) -> Response:
    doc = _collection(request, _described(session, store.get_layer(session, slug, who), who))
    if wants(request, f) == "html":
        return _html(request, "collection.html", doc["title"], doc)
    return JSONResponse(doc)


def _described(session: DbSession, layer: Layer, who: Principal) -> dict[str, Any]:
    """The layer's description as `who` may read it (no hidden attribute, the grid's extent)."""
    return described(store.describe_layer(session, layer), mask_for(layer, who))


def _queryables(session: DbSession, layer: Layer) -> dict[str, Any]:
    return layer_queryables(session, layer.id, layer.version, layer.kind)


@router.get("/collections/{slug}/queryables", summary="Properties usable in filters (Part 3)")
def queryables(request: Request, slug: str, session: DbSession, who: Caller) -> Response:
    layer = store.get_layer(session, slug, who)
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(request)}/collections/{slug}/queryables",
        "type": "object",
        "title": layer.title,
        "properties": {
            k: v
            for k, v in _queryables(session, layer).items()
            if k not in mask_for(layer, who).hidden
        },
        "additionalProperties": False,
    }
    return JSONResponse(doc, media_type="application/schema+json")


# -- items --------------------------------------------------------------------------------------


def _items_links(
    request: Request, slug: str, page: select.Page, limit: int, offset: int, fmt: str
) -> list[dict[str, str]]:
    url = f"{base_url(request)}/collections/{slug}/items"
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "f")}
    media = {"json": GEOJSON, "html": "text/html", "csv": "text/csv"}

    def href(at: int, f: str) -> str:
        return f"{url}?{urlencode({**params, 'offset': at, 'f': f})}"

    links = [
        _link(href(offset, other), "self" if other == fmt else "alternate", media[other])
        for other in ("json", "html", "csv")
    ]
    if offset + page.returned < page.matched:
        links.append(_link(href(offset + limit, fmt), "next", media[fmt], "Next page"))
    if offset > 0:
        links.append(_link(href(max(0, offset - limit), fmt), "prev", media[fmt], "Previous page"))
    links.append(_link(f"{base_url(request)}/collections/{slug}", "collection", "application/json"))
    return links


def _sortby(value: str | None, names: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    """`sortby=a,-b,+c`: (name, descending) pairs of queryables that are not geometries."""
    if value is None:
        return ()
    keys: list[tuple[str, bool]] = []
    sortable = sorted(n for n in names if n not in cql2.GEOMETRY_NAMES)
    for part in value.split(","):
        part = part.strip()
        name = part.lstrip("+-").strip()
        if not name or name not in sortable:
            raise InvalidInput(
                msg("sortby.unknown", name=name[:100], known=joined(sortable[:40])),
                where={"sortby": value[:200]},
            )
        keys.append((name, part.startswith("-")))
    return tuple(keys)


def _picked(value: str | None, names: dict[str, Any]) -> list[str] | None:
    """`properties=a,b`: the properties to return (none with an empty list); None for all."""
    if value is None:
        return None
    picked = [p.strip() for p in value.split(",") if p.strip()]
    known = sorted(n for n in names if n not in cql2.GEOMETRY_NAMES and n != "id")
    for name in picked:
        if name not in known:
            raise InvalidInput(
                msg("properties.unknown", name=name[:100], known=joined(known[:40])),
                where={"properties": value[:200]},
            )
    return picked


def selection_for(
    request: Request,
    session: DbSession,
    layer: Layer,
    bbox: tuple[float, float, float, float] | None,
    in_crs: Crs,
    where: FilterParams,
    datetime: str | None = None,
    sortby: str | None = None,
    *,
    who: Principal,
) -> tuple[select.Selection, dict[str, Any]]:
    """The features of `layer` a request selects (bbox, filter, property=value, datetime,
    sortby), as items and exports read them, as `who` may see them, and the layer's
    queryables that `who` may see (store/sensitivity.py)."""
    mask = mask_for(layer, who)
    names = {k: v for k, v in _queryables(session, layer).items() if k not in mask.hidden}
    equal = {k: typed_value(v, names.get(k)) for k, v in check_properties(request, names).items()}
    selection = select.Selection(
        layer.id,
        bbox,
        cql2.both(cql2.equalities(equal), where.expr),
        select.interval(datetime) if datetime else None,
        sortby=_sortby(sortby, names),
        bbox_crs=in_crs,
        filter_crs=where.crs,
        queryables=names,
        mask=mask,
    )
    return selection, names


@router.get(
    "/collections/{slug}/items",
    summary="Features of a collection (GeoJSON, HTML or CSV), paged",
    response_class=GeoJSONResponse,
    description=(
        "Filters: `bbox` (in `bbox-crs`); `datetime` (RFC 3339 instant, date, or interval "
        "`start/end` with `..` for open ends) on the time each feature was last changed; "
        "`filter`, a CQL2 expression (text or JSON); and `property=value` for any queryable "
        "(see `queryables`; a list attribute such as minerals matches when it holds the "
        "value). `sortby` orders (`-` for descending), `properties` picks the properties "
        "returned, `crs` the CRS of the coordinates (any EPSG code)."
    ),
)
@filters_on_properties
def items(
    request: Request,
    slug: str,
    session: DbSession,
    who: Caller,
    bbox: BBox,
    in_crs: BBoxCrs,
    crs: OutputCrs,
    where: Filter,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Features per page.")] = 100,
    offset: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Features to skip (in the sortby order).")
    ] = 0,
    datetime: Annotated[
        str | None, Query(description="Last-changed time: instant, date or interval a/b.")
    ] = None,
    sortby: Annotated[
        str | None,
        Query(
            description="Properties to order by, comma-separated; `-name` for descending.",
            examples=["-granted,code"],
        ),
    ] = None,  # fmt: skip
    properties: Annotated[
        str | None,
        Query(
            description="The properties to return, comma-separated (empty: none).",
            examples=["code,holder"],
        ),
    ] = None,  # fmt: skip
    f: OutputFormat = None,
) -> Response:
    layer = store.get_layer(session, slug, who)
    selection, names = selection_for(
        request, session, layer, bbox, in_crs, where, datetime, sortby, who=who
    )
    picked = _picked(properties, names)
    fmt = wants(request, f)
    if fmt == "csv":
        rows = select.rows(session, selection, limit, offset)
        if picked is not None:
            rows = (_only(row, picked) for row in rows)
        return StreamingResponse(
            (line.encode() for line in csv_lines(rows)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="{slug}.csv"', **_cache(layer)},
        )
    page = select.page(session, selection, limit, offset, crs=crs, properties=picked)
    audit_read(session, who, layer, page.returned, "items")
    head = {
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": page.returned,
        "links": _items_links(request, slug, page, limit, offset, fmt),
    }
    if fmt == "html":
        doc = {**head, "features": orjson.loads(page.features)}
        return _html(request, "items.html", layer.title, doc, collection=slug, offset=offset)
    body = orjson.dumps(head)[:-1] + b',"features":' + page.features + b"}"
    return Response(
        body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs.uri}>", **_cache(layer)}
    )


def _only(row: select.Row, picked: list[str]) -> select.Row:
    properties = {k: v for k, v in row.properties.items() if k in picked}
    name = row.name if "name" in picked else None
    return select.Row(row.id, name, properties, row.wkb)


FeatureId = Annotated[
    int, PathParam(ge=1, le=MAX_ID, description="The feature's id (a positive 64-bit integer).")
]


@router.get("/collections/{slug}/items/{feature_id}", summary="One feature")
def item(
    request: Request,
    slug: str,
    feature_id: FeatureId,
    session: DbSession,
    who: Caller,
    crs: OutputCrs,
    f: OutputFormat = None,
) -> Response:
    layer = store.get_layer(session, slug, who)
    body, version = select.feature(session, layer.id, feature_id, slug, crs, mask_for(layer, who))
    audit_read(session, who, layer, 1, "item")
    url = f"{base_url(request)}/collections/{slug}/items/{feature_id}"
    if wants(request, f) == "html":
        doc = {**orjson.loads(body), "links": _alternates(url, "html")}
        return _html(request, "item.html", f"{layer.title}: {feature_id}", doc, collection=slug)
    return Response(
        body,
        media_type=GEOJSON,
        headers={"ETag": f'"{version}"', "Content-Crs": f"<{crs.uri}>", **_cache(layer)},
    )


def _cache(layer: Layer) -> dict[str, str]:
    """What a shared cache may keep: nothing of a layer that is not public."""
    return {} if layer.visibility == "public" else {"Cache-Control": "private, no-cache"}


@router.get(
    "/collections/{slug}/items/{feature_id}/history",
    summary="Every version of a feature: who made it, when, how and why",
)
def item_history(
    slug: str, feature_id: FeatureId, session: DbSession, who: Caller
) -> dict[str, Any]:
    layer = store.get_layer(session, slug, who)
    return {"versions": store.feature_history(session, layer, feature_id, mask_for(layer, who))}


# -- Part 4: create, replace, update, delete ----------------------------------------------------

FeatureBody = Annotated[
    dict[str, Any],
    Body(
        media_type=GEOJSON,
        description="A GeoJSON Feature in EPSG:4326 (PATCH: properties to merge, geometry "
        'replaced when given). A member "comment" beside "properties" says why: it is kept '
        "in the audit log, and a change of an ASM zone's status needs one. Moving a zone to "
        "gazetted screens it: while a rule fails the move is refused (409, the rules listed) "
        'unless an "override": {"reason": "..."} member says why (kept in its history).',
        examples=[{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-8.4, 12.1]},
                   "properties": {"name": "Kéniéba-Sud"}}],
    ),
]  # fmt: skip


# What a body's coordinates may be in: longitude, latitude on WGS84, as RFC 7946 says; the
# old GeoJSON `crs` member is understood when it names that, and refused otherwise.
LONLAT_CRS = {
    CRS84,
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "CRS84",
    "EPSG:4326",
    "urn:ogc:def:crs:EPSG::4326",
}


def content_crs(
    value: Annotated[
        str | None,
        Header(
            alias="Content-Crs",
            description=f"The CRS of the body's coordinates: only <{CRS84}> (the default).",
        ),
    ] = None,
) -> None:
    if value is not None and value.strip().strip("<>") not in LONLAT_CRS:
        raise InvalidCRS(
            msg("crs.content_crs", crs84=CRS84, value=value.strip()[:200]),
            where={"Content-Crs": value[:200]},
        )


BodyCrs = Annotated[None, Depends(content_crs)]


def _parts(body: dict[str, Any], need_geometry: bool) -> tuple[dict | None, dict[str, Any]]:
    """The geometry and properties of a GeoJSON Feature body."""
    if body.get("type") != "Feature":
        raise InvalidInput(msg("feature.not_feature"))
    crs = body.get("crs")
    if crs is not None:
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if name not in LONLAT_CRS:
            raise InvalidCRS(msg("crs.member", name=str(name)[:200]), where={"field": "crs"})
    geometry = body.get("geometry")
    if need_geometry and geometry is None:
        raise InvalidInput(msg("feature.no_geometry"), where={"field": "geometry"})
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidInput(msg("feature.properties"), where={"field": "properties"})
    return geometry, properties


def _comment(body: dict[str, Any]) -> str | None:
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput(msg("feature.comment"), where={"field": "comment"})
    return comment


MAX_REASON = 2000


def _override(body: dict[str, Any]) -> str | None:
    """The reason of an `"override": {"reason": "..."}` member: gazetting a zone that fails a
    screening rule all the same."""
    override = body.get("override")
    if override is None:
        return None
    reason = override.get("reason") if isinstance(override, dict) else None
    if (
        not isinstance(override, dict)
        or set(override) != {"reason"}
        or not isinstance(reason, str)
        or not reason.strip()
        or len(reason) > MAX_REASON
    ):
        raise InvalidInput(msg("zone.override", max=MAX_REASON), where={"field": "override"})
    return reason.strip()


def if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag of the version being changed: a stale one gets 412.",
        ),
    ] = None,
) -> int | None:
    if value is None or value.strip() == "*":
        return None
    try:
        version = int(value.strip().removeprefix("W/").strip('"'))
    except ValueError:
        version = -1
    if not 0 < version <= MAX_ID:
        raise InvalidInput(msg("feature.if_match"), where={"If-Match": value[:40]})
    return version


ExpectedVersion = Annotated[int | None, Depends(if_match)]


def _feature_response(
    request: Request,
    session: DbSession,
    layer: Layer,
    feature_id: int,
    who: Principal,
    status: int = 200,
) -> Response:
    """The feature as written, as `who` may read it (an editor below the layer's level sees
    what it sees on every other channel)."""
    body, version = select.feature(
        session, layer.id, feature_id, layer.slug, mask=mask_for(layer, who)
    )
    headers = {"ETag": f'"{version}"', **_cache(layer)}
    if status == 201:
        headers["Location"] = f"{base_url(request)}/collections/{layer.slug}/items/{feature_id}"
    return Response(body, status_code=status, media_type=GEOJSON, headers=headers)


@router.post("/collections/{slug}/items", status_code=201, summary="Add a feature (editor)")
def create_item(
    request: Request, slug: str, body: FeatureBody, session: DbSession, who: Editor, _: BodyCrs
) -> Response:
    layer = store.get_layer(session, slug, who)
    geometry, properties = _parts(body, need_geometry=True)
    created = store.create_feature(
        session, layer, geometry or {}, properties, who=who, comment=_comment(body),
        override=_override(body),
    )  # fmt: skip
    return _feature_response(request, session, layer, created.id, who, status=201)


@router.put("/collections/{slug}/items/{feature_id}", summary="Replace a feature (editor)")
def replace_item(
    request: Request,
    slug: str,
    feature_id: FeatureId,
    body: FeatureBody,
    session: DbSession,
    who: Editor,
    expected: ExpectedVersion,
    _: BodyCrs,
) -> Response:
    layer = store.get_layer(session, slug, who)
    geometry, properties = _parts(body, need_geometry=True)
    store.update_feature(
        session, layer, feature_id, geometry, properties, replace=True, who=who,
        expected_version=expected, comment=_comment(body), override=_override(body),
    )  # fmt: skip
    return _feature_response(request, session, layer, feature_id, who)


@router.patch("/collections/{slug}/items/{feature_id}", summary="Update part of a feature (editor)")
def update_item(
    request: Request,
    slug: str,
    feature_id: FeatureId,
    body: FeatureBody,
    session: DbSession,
    who: Editor,
    expected: ExpectedVersion,
    _: BodyCrs,
) -> Response:
    layer = store.get_layer(session, slug, who)
    geometry, properties = _parts({"type": "Feature", **body}, need_geometry=False)
    store.update_feature(
        session, layer, feature_id, geometry, properties, who=who, expected_version=expected,
        comment=_comment(body), override=_override(body),
    )  # fmt: skip
    return _feature_response(request, session, layer, feature_id, who)


@router.delete(
    "/collections/{slug}/items/{feature_id}",
    status_code=204,
    summary="Delete a feature (editor; it stays in history and can be restored)",
)
def delete_item(
    slug: str,
    feature_id: FeatureId,
    session: DbSession,
    who: Editor,
    expected: ExpectedVersion,
    comment: Annotated[
        str | None, Query(max_length=2000, description="Why (kept in the audit log).")
    ] = None,
) -> Response:
    layer = store.get_layer(session, slug, who)
    store.delete_feature(
        session, layer, feature_id, who=who, expected_version=expected, comment=comment
    )
    return Response(status_code=204)


class RestoreBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=2000, description="Why.")


@router.post(
    "/collections/{slug}/items/{feature_id}/history/{version}/restore",
    summary="Make an earlier version current again, as a new version (editor)",
)
def restore_item(
    request: Request,
    slug: str,
    feature_id: FeatureId,
    version: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    session: DbSession,
    who: Editor,
    expected: ExpectedVersion,
    body: RestoreBody | None = None,
) -> Response:
    layer = store.get_layer(session, slug, who)
    store.restore_feature(
        session, layer, feature_id, version, who=who, expected_version=expected,
        comment=body.comment if body else None,
    )  # fmt: skip
    return _feature_response(request, session, layer, feature_id, who)
