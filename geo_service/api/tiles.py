"""Tiles over HTTP: XYZ vector and raster tiles, TileJSON, MapLibre styles and their preview page,
OGC API Tiles, the embed page and the offline basemap. Thin: parse, call geo_service.tiles, send
the bytes as they are."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import morecantile
import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.responses import Response

from geo_service.analysis.messages import Lang
from geo_service.api.deps import QUERY_KEYS, Caller, DbEngine
from geo_service.api.errors import status_for
from geo_service.api.params import filters_on_properties
from geo_service.api.web import (
    AssetVersion,
    asset_urls,
    asset_version,
    cache_control,
    messages,
)
from geo_service.api.web import templates as page_templates
from geo_service.domain.access import Principal
from geo_service.domain.styles import palette_colour
from geo_service.errors import GeoServiceError, InvalidInput, NotFound
from geo_service.problems import in_language, msg, pick_language
from geo_service.settings import Settings
from geo_service.store import catalog
from geo_service.store import layers as store
from geo_service.tiles import mvt, raster, serve, styles, tilejson

EMBED = Path(__file__).resolve().parents[2] / "web" / "embed"
EMBED_ASSETS = {"embed.js": "text/javascript", "embed.css": "text/css"}
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"

router = APIRouter(tags=["tiles"])
templates = Jinja2Templates(directory=EMBED)

# `v`: what a map adds to a tile URL when a layer changes (the app adds its version), so that
# a browser asks again; the server's own cache keys carry the version already.
CacheBuster = Annotated[
    str | None,
    Query(alias="v", max_length=64, description="A cache-buster; it changes nothing drawn."),
]
Z = Annotated[int, PathParam(ge=0, description="Zoom level (TileMatrix), 0 = the whole world.")]
X = Annotated[int, PathParam(ge=0, description="Column (TileCol), from the west.")]
Y = Annotated[int, PathParam(ge=0, description="Row (TileRow), from the north (XYZ, not TMS).")]
Slug = Annotated[str, PathParam(description="Layer slug.")]
Slugs = Annotated[str, PathParam(description="One layer slug, or several separated by commas.")]
IfNoneMatch = Annotated[str | None, Header(description="ETag of a tile held by the client.")]
AcceptEncoding = Annotated[str | None, Header(include_in_schema=False)]
Colormap = Annotated[
    str, Query(description="Colormap of a single-band raster (rio-tiler names: viridis, magma...).")
]
Properties = Annotated[
    str | None,
    Query(
        description=(
            "Extra feature properties to include, comma-separated, or `*` for all. id, name and "
            "the kind's styling fields are always included. Any other query parameter "
            "`property=value` keeps only features whose property equals the value."
        )
    ),
]

# The layers as they stood on a past day (its end, UTC) or at an instant, from their history.
AsOf = Annotated[
    str | None,
    Query(
        alias="as_of",
        max_length=40,
        description="Draw the layers as they stood on this past day (its end, UTC) or at this"
        " instant (RFC 3339), from their history: features since changed show their version of"
        " then, deleted ones are back, later ones are left out.",
    ),
]


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _send(answer: serve.TileAnswer) -> Response:
    return Response(answer.body, answer.status, answer.headers, answer.media_type)


def _base_url(request: Request) -> str:
    return _settings(request).api.public_url or str(request.base_url)


def _vector(
    request: Request, engine: Any, who: Principal, slugs: str, z: int, x: int, y: int,
    if_none_match: str | None, accept_encoding: str | None,
) -> Response:  # fmt: skip
    answer = serve.vector_tile(
        engine,
        _settings(request),
        catalog.parse_slugs(slugs),
        z,
        x,
        y,
        request.query_params,
        who,
        if_none_match=if_none_match,
        accept_gzip="gzip" in (accept_encoding or ""),
    )
    return _send(answer)


def _raster(
    request: Request, engine: Any, who: Principal, slug: str, z: int, x: int, y: int,
    colormap: str, fmt: str, if_none_match: str | None,
) -> Response:  # fmt: skip
    answer = serve.raster_tile(
        engine, _settings(request), slug, z, x, y, colormap, fmt, if_none_match, who=who
    )
    return _send(answer)


_TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {serve.MVT_TYPE: {}}, "description": "The tile."},
    204: {"description": "Empty tile: no feature (or no raster data) in it."},
    304: {"description": "The tile has not changed since the ETag sent in If-None-Match."},
}


@router.get("/tiles/tilejson.json", summary="TileJSON 3.0 of several layers in one tile source")
@filters_on_properties
def combined_tilejson(
    request: Request,
    engine: DbEngine,
    who: Caller,
    layers: Annotated[str, Query(description="Layer slugs, comma-separated.")],
    properties: Properties = None,
) -> dict[str, Any]:
    return _tilejson(request, engine, who, layers)


@router.get("/tiles/{slug}/tilejson.json", summary="TileJSON 3.0 of a layer")
@filters_on_properties
def layer_tilejson(
    request: Request, engine: DbEngine, who: Caller, slug: Slug, properties: Properties = None
) -> dict[str, Any]:
    return _tilejson(request, engine, who, slug)


def _tilejson(request: Request, engine: Any, who: Principal, slugs: str) -> dict[str, Any]:
    # The key of a request that carried it in the URL goes into the tile URLs, so that a map
    # reading this TileJSON can fetch the tiles it lists.
    params = {k: v for k, v in request.query_params.items() if k != "layers"}
    with engine.connect() as conn:
        return tilejson.build(
            conn,
            catalog.parse_slugs(slugs),
            _base_url(request),
            mvt.tile_query(params),
            urlencode(params),
            _settings(request).tiles,
            who,
        )


@router.get(
    "/tiles/style.json",
    summary="MapLibre style (Style Specification v8) of several layers, the first at the bottom",
)
@filters_on_properties
def combined_style(
    request: Request,
    engine: DbEngine,
    who: Caller,
    layers: Annotated[str, Query(description="Layer slugs, comma-separated.")],
    properties: Properties = None,
) -> dict[str, Any]:
    return _style(request, engine, who, layers)


@router.get(
    "/tiles/{slug}/style.json", summary="MapLibre style (Style Specification v8) of a layer"
)
@filters_on_properties
def layer_style(
    request: Request, engine: DbEngine, who: Caller, slug: Slug, properties: Properties = None
) -> dict[str, Any]:
    return _style(request, engine, who, slug)


def _style(request: Request, engine: Any, who: Principal, slugs: str) -> dict[str, Any]:
    # As in the TileJSON, a key sent in the URL reaches the tile URLs of the style.
    settings = _settings(request).tiles
    params = {k: v for k, v in request.query_params.items() if k != "layers"}
    with engine.connect() as conn:
        described = tilejson.describe(conn, catalog.parse_slugs(slugs), who, settings)
    return styles.build(described, _base_url(request), params, settings)


@router.get(
    "/tiles/preview",
    response_class=HTMLResponse,
    summary="A MapLibre map of the style of one or more layers, as a partner's map would load it",
)
@filters_on_properties
def style_preview(
    request: Request,
    engine: DbEngine,
    who: Caller,
    layers: Annotated[str, Query(description="Layer slugs, comma-separated.")],
    lang: Annotated[
        Literal["fr", "en"] | None, Query(description="Language of the page and the basemap.")
    ] = None,
    properties: Properties = None,
) -> Response:
    """The page loads /tiles/style.json with the same query (`layers`, a key, filters)."""
    chosen = lang or pick_language(None, request.headers.get("accept-language"))
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    with engine.connect() as conn:
        described = tilejson.describe(
            conn, catalog.parse_slugs(layers), who, _settings(request).tiles
        )
    said = messages(chosen)
    config = {
        "style": f"{_base_url(request).rstrip('/')}/tiles/style.json?{urlencode(query, safe=',')}",
        "lang": chosen,
        "basemap": _settings(request).api.basemap_url,
        "basemap_attribution": said["basemap.offline_attribution"],
        "zoom_in": said["map.zoom_in"],
        "zoom_out": said["map.zoom_out"],
    }
    title = ", ".join(d[f"title_{chosen}"] or d["title"] for d in described)
    return page_templates.TemplateResponse(
        request,
        "maplibre-preview.html",
        {"lang": chosen, "title": title, "config": config, "map_label": said["embed.iframe_title"]},
        headers={"Cache-Control": "private, no-cache"},
    )


@router.get(
    "/tiles/{slugs}/{z}/{x}/{y}.mvt",
    summary="Vector tile (MVT) of one or more layers",
    response_class=Response,
    responses=_TILE_RESPONSES,
)
@filters_on_properties
def vector_tile(
    request: Request,
    engine: DbEngine,
    who: Caller,
    slugs: Slugs,
    z: Z,
    x: X,
    y: Y,
    properties: Properties = None,
    as_of: AsOf = None,
    if_none_match: IfNoneMatch = None,
    accept_encoding: AcceptEncoding = None,
) -> Response:
    return _vector(request, engine, who, slugs, z, x, y, if_none_match, accept_encoding)


@router.get(
    "/tiles/{slug}/{z}/{x}/{y}.png",
    summary="Raster tile (PNG) of a raster layer",
    response_class=Response,
    responses={**_TILE_RESPONSES, 200: {"content": {"image/png": {}}}},
)
def png_tile(
    request: Request,
    engine: DbEngine,
    who: Caller,
    slug: Slug,
    z: Z,
    x: X,
    y: Y,
    colormap: Colormap = raster.DEFAULT_COLORMAP,
    v: CacheBuster = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return _raster(request, engine, who, slug, z, x, y, colormap, "png", if_none_match)


@router.get(
    "/tiles/{slug}/{z}/{x}/{y}.webp",
    summary="Raster tile (WebP) of a raster layer",
    response_class=Response,
    responses={**_TILE_RESPONSES, 200: {"content": {"image/webp": {}}}},
)
def webp_tile(
    request: Request,
    engine: DbEngine,
    who: Caller,
    slug: Slug,
    z: Z,
    x: X,
    y: Y,
    colormap: Colormap = raster.DEFAULT_COLORMAP,
    v: CacheBuster = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return _raster(request, engine, who, slug, z, x, y, colormap, "webp", if_none_match)


# -- OGC API Tiles ------------------------------------------------------------------------------


def _tileset(request: Request, slug: str, storage: str) -> dict[str, Any]:
    """A tileset as a tilesets list gives it (OGC API Tiles, tileSet-item)."""
    base = _base_url(request).rstrip("/")
    media = serve.MVT_TYPE if storage == "vector" else serve.PNG_TYPE
    return {
        "title": f"{slug} ({TMS_ID})",
        "dataType": "vector" if storage == "vector" else "map",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": TMS_URI,
        "links": [
            {"rel": "self", "type": "application/json",
             "href": f"{base}/collections/{slug}/tiles/{TMS_ID}"},
            {"rel": f"{OGC_REL}/tiling-scheme",
             "type": "application/json", "href": f"{base}/tileMatrixSets/{TMS_ID}"},
            {"rel": "item", "type": media, "templated": True,
             "href": f"{base}/collections/{slug}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"},
            {"rel": "describedby", "type": "application/json",
             "href": f"{base}/tiles/{slug}/tilejson.json"},
            {"rel": f"{OGC_REL}/geodata", "type": "application/json",
             "href": f"{base}/collections/{slug}"},
            {"rel": "stylesheet", "type": "application/json", "title": "MapLibre style",
             "href": f"{base}/tiles/{slug}/style.json"},
        ],
    }  # fmt: skip


def _tilesets(request: Request, path: str, tilesets: list[dict[str, Any]]) -> dict[str, Any]:
    href = f"{_base_url(request).rstrip('/')}{path}"
    return {"links": [{"rel": "self", "type": "application/json", "href": href}],
            "tilesets": tilesets}  # fmt: skip


@router.get(
    "/tiles", summary="OGC API Tiles: the tilesets of every vector layer the caller may read"
)
def dataset_tilesets(request: Request, engine: DbEngine, who: Caller) -> dict[str, Any]:
    public = _settings(request).tiles.public_layers
    with Session(engine) as session:
        readable = store.list_layers(session, who)
    # Anonymous callers are held to the public_layers setting, as for the tiles themselves.
    shown = [
        layer
        for layer in readable
        if layer.storage == "vector"
        and (who.authenticated or public is None or layer.slug in public)
    ]
    return _tilesets(
        request, "/tiles", [_tileset(request, layer.slug, "vector") for layer in shown]
    )


def _layer_storage(engine: Any, request: Request, who: Principal, slug: str) -> str:
    with engine.connect() as conn:
        (layer,) = catalog.lookup(conn, [slug], who, _settings(request).tiles)
    return layer.storage


@router.get("/collections/{slug}/tiles", summary="OGC API Tiles: the tilesets of a collection")
def collection_tilesets(
    request: Request, engine: DbEngine, who: Caller, slug: Slug
) -> dict[str, Any]:
    tileset = _tileset(request, slug, _layer_storage(engine, request, who, slug))
    return _tilesets(request, f"/collections/{slug}/tiles", [tileset])


@router.get(
    "/collections/{slug}/tiles/{tms}",
    summary="OGC API Tiles: a collection's tileset in WebMercatorQuad, with its extent",
)
def collection_tileset(
    request: Request, engine: DbEngine, who: Caller, slug: Slug, tms: Literal["WebMercatorQuad"]
) -> dict[str, Any]:
    """The tileset with its bounding box (CRS84), centre point and the tiles that hold the
    layer at each zoom (tileMatrixSetLimits); an empty layer has none of these."""
    settings = _settings(request).tiles
    with engine.connect() as conn:
        (described,) = tilejson.describe(conn, [slug], who, settings)
    tileset = _tileset(request, slug, described["storage"])
    bounds = tilejson.extent([described])
    if bounds:
        tileset |= tilejson.tileset_extent(bounds, settings.tile_maxzoom)
    if described["storage"] == "vector":
        tileset["layers"] = [{"id": slug, "dataType": "vector"}]
    return tileset


@router.get(
    "/collections/{slug}/tiles/{tms}/{z}/{y}/{x}",
    summary="OGC API Tiles: one tile (MVT for vector layers, PNG for raster layers)",
    response_class=Response,
    responses=_TILE_RESPONSES,
)
@filters_on_properties
def collection_tile(
    request: Request,
    engine: DbEngine,
    who: Caller,
    slug: Slug,
    tms: Literal["WebMercatorQuad"],
    z: Z,
    y: Y,
    x: X,
    f: Annotated[
        Literal["mvt", "png", "webp"] | None,
        Query(description="Tile format; by default MVT for vector and PNG for raster layers."),
    ] = None,
    properties: Properties = None,
    colormap: Colormap = raster.DEFAULT_COLORMAP,
    as_of: AsOf = None,
    if_none_match: IfNoneMatch = None,
    accept_encoding: AcceptEncoding = None,
) -> Response:
    if f in ("png", "webp") or (
        f is None and _layer_storage(engine, request, who, slug) == "raster"
    ):
        return _raster(request, engine, who, slug, z, x, y, colormap, f or "png", if_none_match)
    return _vector(request, engine, who, slug, z, x, y, if_none_match, accept_encoding)


@router.get("/tileMatrixSets", summary="OGC API Tiles: the tile matrix sets served")
def tile_matrix_sets(request: Request) -> dict[str, Any]:
    base = _base_url(request).rstrip("/")
    return {
        "tileMatrixSets": [
            {"id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
             "links": [{"rel": "self", "type": "application/json",
                        "href": f"{base}/tileMatrixSets/{TMS_ID}"}]}
        ]
    }  # fmt: skip


@router.get("/tileMatrixSets/{tms}", summary="OGC API Tiles: a tile matrix set definition")
def tile_matrix_set(tms: str) -> Response:
    if tms != TMS_ID:
        raise NotFound(msg("tiles.no_tms", tms=tms, id=TMS_ID))
    body = morecantile.tms.get(TMS_ID).model_dump_json(exclude_none=True, by_alias=True)
    return Response(body, media_type="application/json")


# -- basemap and embed page ---------------------------------------------------------------------


@router.get(
    "/basemap/{z}/{x}/{y}.png",
    summary="Offline basemap tile (Natural Earth, drawn by this service)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def basemap_tile(
    request: Request,
    z: Z,
    x: X,
    y: Y,
    if_none_match: IfNoneMatch = None,
    lang: Annotated[
        Literal["en", "fr"], Query(description="Language of country names and graticule figures.")
    ] = "en",
    v: CacheBuster = None,
) -> Response:
    return _send(serve.basemap_tile(_settings(request), z, x, y, if_none_match, lang))


@router.get(
    "/embed",
    response_class=HTMLResponse,
    summary="A full-page map for an iframe (without `layers`: how to embed one)",
)
def embed(
    request: Request,
    engine: DbEngine,
    who: Caller,
    layers: Annotated[
        str | None,
        Query(description="Layer slugs, comma-separated; without it, a page on how to embed."),
    ] = None,
    bbox: Annotated[
        str | None, Query(description="minLon,minLat,maxLon,maxLat to show (EPSG:4326).")
    ] = None,
    lang: Annotated[
        Literal["fr", "en"] | None, Query(description="Language of labels (default fr).")
    ] = None,
) -> Response:
    """The map; a person who reaches it without layers, or with a mistake in them, gets a page
    in their language saying how to embed (an iframe shows it, where a JSON error would be
    gibberish). Programs that do not accept HTML get the problem as JSON."""
    if layers is None:
        return _embed_help(request, engine, who, lang, 200)
    try:
        return _embed_map(request, engine, who, layers, bbox, lang or "fr")
    except GeoServiceError as exc:
        if "text/html" not in request.headers.get("accept", "") or status_for(exc) >= 500:
            raise
        return _embed_help(request, engine, who, lang, status_for(exc), exc.detail)


def _embed_map(
    request: Request, engine: Engine, who: Principal, layers: str, bbox: str | None, lang: str
) -> Response:
    slugs = catalog.parse_slugs(layers)
    # A key given in the page's URL is passed on to its tile URLs (an iframe sends no header).
    passed = {k: request.query_params[k] for k in QUERY_KEYS if request.query_params.get(k)}
    with engine.connect() as conn:
        sources = [
            tilejson.build(
                conn, [s], "", mvt.TileQuery(), urlencode(passed), _settings(request).tiles, who
            )
            for s in slugs
        ]
        info = catalog.details(conn, slugs)
        public = all(layer.visibility == "public" for layer in catalog.lookup(conn, slugs, who))
    config = {
        "lang": lang,
        "messages": messages(lang),
        # A tiles-only key may not read features: popups then show the tile's own attributes.
        "features": not who.tiles_only,
        "bbox": _parse_bbox(bbox),
        "basemap": _settings(request).api.basemap_url,
        "layers": [
            {
                "slug": s,
                "title": info[s]["title"],
                "title_fr": info[s]["title_fr"],
                "title_en": info[s]["title_en"],
                "kind": info[s]["kind"],
                "theme": info[s]["theme"],
                "storage": info[s]["storage"],
                "style": info[s]["style"],
                "colour": info[s]["style"].get("colour") or palette_colour(info[s]["id"]),
                "geometry_types": info[s]["geometry_types"],
                "tiles": src["tiles"][0],
                "bounds": src["bounds"],
                "attribution": src.get("attribution", ""),
            }
            for s, src in zip(slugs, sources, strict=True)
        ],
    }
    return templates.TemplateResponse(
        request,
        "embed.html",
        # "</" is escaped so that no title can close the script element holding the config.
        {
            "lang": lang,
            "config": orjson.dumps(config).decode().replace("</", "<\\/"),
            **asset_urls(asset_version()),
        },
        headers={"Cache-Control": f"{'public' if public else 'private'}, max-age=60"},
    )


def _embed_help(
    request: Request,
    engine: Engine,
    who: Principal,
    lang: Lang | None,
    status: int,
    problem: str | None = None,
) -> Response:
    """How to embed a map, with an example on layers the caller may embed, and what was wrong
    (`problem`, said in the page's language) when the page was asked for with a mistake."""
    chosen = lang or pick_language(None, request.headers.get("accept-language"))
    with Session(engine) as session:
        vector = [layer for layer in store.list_layers(session, who) if layer.storage == "vector"]
    # Planning zones and titles first: what partners embed most.
    vector.sort(key=lambda layer: (layer.kind not in ("asm_zone", "concession"), layer.kind))
    base = _base_url(request).rstrip("/")
    sample = ",".join(layer.slug for layer in vector[:2]) or "asm-zones"
    example = f"{base}/embed?{urlencode({'layers': sample, 'lang': chosen}, safe=',')}"
    return templates.TemplateResponse(
        request,
        "embed-help.html",
        {
            "lang": chosen,
            "m": messages(chosen),
            "problem": in_language(problem, chosen),
            "example": example,
            "layers": [
                (
                    layer.slug,
                    getattr(layer, f"title_{chosen}", None) or layer.title,
                    f"{base}/embed?{urlencode({'layers': layer.slug, 'lang': chosen})}",
                )
                for layer in vector[:50]
            ],
        },
        status_code=status,
        headers={"Cache-Control": "private, no-cache"},
    )


def _parse_bbox(bbox: str | None) -> list[float] | None:
    if not bbox:
        return None
    try:
        values = [float(v) for v in bbox.split(",")]
    except ValueError:
        values = []
    if (
        len(values) != 4
        or not (-180 <= values[0] < values[2] <= 180)
        or not (-90 <= values[1] < values[3] <= 90)
    ):
        raise InvalidInput(msg("bbox.degrees"), where={"bbox": bbox})
    return values


@router.get("/embed/assets/{name}", include_in_schema=False)
def embed_asset(name: str, request: Request, v: AssetVersion = None) -> Response:
    if name not in EMBED_ASSETS:
        raise NotFound(msg("embed.no_asset", name=name))
    return FileResponse(
        EMBED / name,
        media_type=EMBED_ASSETS[name],
        headers={"Cache-Control": cache_control(request)},
    )
