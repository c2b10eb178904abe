"""Tiles over HTTP: MVT, ETag/304, cache invalidation by edits, empty tiles, TileJSON, OGC API
Tiles, raster and basemap PNGs, access, the embed page in Chromium, and a tile read by GDAL."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import mapbox_vector_tile
import morecantile
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from pyproj import Transformer
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

from geo_service.api.app import create_app
from geo_service.domain.access import OPERATOR
from geo_service.settings import Settings
from geo_service.store import layers as store

TMS = morecantile.tms.get("WebMercatorQuad")
TILE = TMS.tile(-8.3, 12.3, 10)  # a tile in the middle of the test layer
MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture(scope="module")
def titles(engine) -> Iterator[dict]:
    """A committed concession layer: a 6 x 6 grid of titles around TILE, and a private layer;
    both removed afterwards so that other tests (the web map) do not meet them."""
    with Session(engine) as s:
        layer = store.create_layer(
            s, "api-tiles-titles", kind="concession", attribution="Cadastre", who=OPERATOR
        )
        west, south, east, north = TMS.bounds(TILE)
        ids = {}
        for i in range(6):
            for j in range(6):
                lon = west - 0.2 + i * 0.12
                lat = south - 0.2 + j * 0.12
                f = store.create_feature(
                    s, layer, mapping(box(lon, lat, lon + 0.05, lat + 0.05)),
                    {"code": f"T-{i}{j}", "holder": "Kangaba SA", "status": "application",
                     "title_type": "exploration"}, who=OPERATOR,
                )  # fmt: skip
                ids[f.id] = box(lon, lat, lon + 0.05, lat + 0.05)
        store.create_layer(
            s, "api-tiles-private", kind="asm_zone", visibility="private", who=OPERATOR
        )
        s.commit()
    yield ids
    drop_layers(engine, "api-tiles-titles", "api-tiles-private")


def drop_layers(engine, *slugs: str) -> None:
    with Session(engine) as s:
        for slug in slugs:
            store.delete_layer(s, slug, who=OPERATOR)
        s.commit()


def url(slug: str, tile: morecantile.Tile = TILE, suffix: str = "mvt") -> str:
    return f"/tiles/{slug}/{tile.z}/{tile.x}/{tile.y}.{suffix}"


def features(response) -> dict[int, dict]:
    decoded = mapbox_vector_tile.decode(response.content)
    return {f["id"]: f["properties"] for f in decoded["api-tiles-titles"]["features"]}


def test_vector_tile_holds_the_features_of_the_tile(client, titles):
    response = client.get(url("api-tiles-titles"))
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT
    tile_box = box(*TMS.bounds(TILE))
    expected = {fid for fid, geom in titles.items() if geom.intersects(tile_box)}
    got = features(response)
    assert set(got) == expected and 0 < len(expected) < len(titles)
    assert all(p["status"] == "application" and p["holder"] == "Kangaba SA" for p in got.values())


def test_etag_and_if_none_match(client, titles):
    first = client.get(url("api-tiles-titles"))
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = client.get(url("api-tiles-titles"), headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    plain = client.get(url("api-tiles-titles"), headers={"Accept-Encoding": "identity"})
    assert plain.headers["etag"] != tag  # another representation, another strong ETag
    assert "content-encoding" not in plain.headers
    assert plain.content == first.content
    other_query = client.get(url("api-tiles-titles") + "?properties=granted")
    assert other_query.headers["etag"] != tag


def test_an_edit_makes_the_cached_tile_unreachable(client, engine, titles):
    tile_box = box(*TMS.bounds(TILE))
    fid = next(fid for fid, geom in titles.items() if geom.intersects(tile_box))
    before = client.get(url("api-tiles-titles"))
    assert features(before)[fid]["status"] == "application"
    with Session(engine) as s:
        layer = store.get_layer(s, "api-tiles-titles", OPERATOR)
        store.update_feature(s, layer, fid, properties={"status": "active"}, who=OPERATOR)
        s.commit()
    after = client.get(url("api-tiles-titles"), headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert features(after)[fid]["status"] == "active"
    with Session(engine) as s:
        layer = store.get_layer(s, "api-tiles-titles", OPERATOR)
        store.delete_feature(s, layer, fid, who=OPERATOR)
        s.commit()
    assert fid not in features(client.get(url("api-tiles-titles")))
    titles.pop(fid)


def test_empty_tiles_are_204_everywhere(client, titles):
    far = TMS.tile(100.0, 60.0, 10)
    for path in (
        url("api-tiles-titles", far),
        f"/collections/api-tiles-titles/tiles/WebMercatorQuad/{far.z}/{far.y}/{far.x}",
    ):
        response = client.get(path)
        assert response.status_code == 204, path
        assert response.content == b""
        assert response.headers["etag"]
        assert (
            client.get(path, headers={"If-None-Match": response.headers["etag"]}).status_code == 304
        )
    filtered = client.get(url("api-tiles-titles") + "?status=revoked")
    assert filtered.status_code == 204


def test_bad_tile_requests_are_problems(client, anon, titles):
    unknown = client.get("/tiles/api-tiles-nope/1/0/0.mvt")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    outside = client.get("/tiles/api-tiles-titles/2/4/0.mvt")
    assert outside.status_code == 404 and "outside" in outside.json()["detail"]
    assert client.get("/tiles/api-tiles-titles/1/0/0.png").status_code == 400
    # Without a key a private layer is not there at all (its name is not confirmed either).
    private = anon.get("/tiles/api-tiles-private/1/0/0.mvt")
    assert private.status_code == 404
    assert private.json()["detail"] == "No layer named api-tiles-private"
    assert client.get("/tiles/api-tiles-private/1/0/0.mvt").status_code == 204  # admin: empty
    huge = anon.get("/tiles/api-tiles-titles/2/29250142856007158595584/1.mvt")
    assert huge.status_code == 404 and huge.headers["content-type"] == "application/problem+json"
    assert anon.get("/basemap/29250142856007158595584/1937967/249.png").status_code == 404
    assert anon.get("/tiles/api-tiles-titles/1/-1/0.mvt").status_code in (404, 422)


def test_public_layers_setting_limits_anonymous_access(database_url, titles):
    settings = Settings()
    settings.tiles.public_layers = ["api-tiles-other"]
    with TestClient(create_app(database_url, settings)) as limited:
        assert limited.get(url("api-tiles-titles")).status_code == 404
        assert limited.get("/tiles/api-tiles-titles/tilejson.json").status_code == 404


def test_tilejson_of_a_layer_and_of_several(client, titles, demo):
    doc = client.get("/tiles/api-tiles-titles/tilejson.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/api-tiles-titles/{z}/{x}/{y}.mvt"]
    assert doc["attribution"] == "Cadastre"
    assert (doc["minzoom"], doc["maxzoom"]) == (0, 22)
    west, south, east, north = TMS.bounds(TILE)
    assert doc["bounds"] == pytest.approx(
        [west - 0.2, south - 0.2, west + 0.45, south + 0.45], abs=1e-6
    )
    (layer,) = doc["vector_layers"]
    assert layer["id"] == "api-tiles-titles"
    assert layer["fields"] == {
        "id": "Number", "name": "String", "title_type": "String", "status": "String",
        "code": "String", "holder": "String",
    }  # fmt: skip
    both = client.get("/tiles/tilejson.json?layers=api-tiles-titles,places&properties=*").json()
    assert both["tiles"] == [
        "http://testserver/tiles/api-tiles-titles,places/{z}/{x}/{y}.mvt?properties=%2A"
    ]
    assert [v["id"] for v in both["vector_layers"]] == ["api-tiles-titles", "places"]


def test_combined_tile_holds_one_mvt_layer_per_slug(client, titles, demo):
    tile = TMS.tile(-8.0, 12.65, 6)  # Bamako and the titles
    response = client.get(f"/tiles/api-tiles-titles,places/{tile.z}/{tile.x}/{tile.y}.mvt")
    decoded = mapbox_vector_tile.decode(response.content)
    assert list(decoded) == ["api-tiles-titles", "places"]
    assert "Bamako" in {f["properties"]["name"] for f in decoded["places"]["features"]}


def test_ogc_api_tiles(client, titles):
    conformance = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance
    tilesets = client.get("/collections/api-tiles-titles/tiles").json()
    (tileset,) = tilesets["tilesets"]
    assert tileset["dataType"] == "vector"
    assert tileset["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    item = next(link for link in tileset["links"] if link["rel"] == "item")
    assert item["href"].endswith(
        "/collections/api-tiles-titles/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
    )
    assert (
        client.get("/collections/api-tiles-titles/tiles/WebMercatorQuad").json()["layers"][0]["id"]
        == "api-tiles-titles"
    )
    ogc = client.get(
        f"/collections/api-tiles-titles/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"
    )
    assert ogc.status_code == 200
    assert ogc.content == client.get(url("api-tiles-titles")).content
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) == 25
    assert client.get("/tileMatrixSets").json()["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    assert client.get("/tileMatrixSets/NZTM2000").status_code == 404


@pytest.fixture(scope="module")
def raster_layer(engine, tmp_path_factory) -> Iterator[str]:
    """A committed raster layer: a UTM (EPSG:32629) gradient near Bamako."""
    path = tmp_path_factory.mktemp("raster") / "gradient.tif"
    data = np.tile(np.linspace(0, 100, 200, dtype="float32"), (200, 1))
    with rasterio.open(
        path, "w", driver="GTiff", width=200, height=200, count=1, dtype="float32",
        crs="EPSG:32629", transform=from_origin(600000, 1360000, 100, 100), nodata=-9999,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    with Session(engine) as s:
        layer = store.create_layer(
            s, "api-tiles-raster", storage="raster", attribution="Test", who=OPERATOR
        )
        layer.raster_path = str(path)
        s.commit()
    yield "api-tiles-raster"
    drop_layers(engine, "api-tiles-raster")


def test_raster_tiles(client, raster_layer):
    tile = morecantile.Tile(1957, 1908, 12)
    response = client.get(url(raster_layer, tile, "png") + "?colormap=magma")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    with MemoryFile(response.content) as memory, memory.open() as png:
        assert (png.width, png.height, png.count) == (256, 256, 4)
        assert (png.read(4) == 255).mean() > 0.9
    assert client.get(url(raster_layer, tile, "png") + "?colormap=nope").status_code == 400
    # The map adds the layer's version to its tile URLs as `v`; anything unknown is a 400.
    versioned = client.get(url(raster_layer, tile, "png") + "?colormap=magma&v=7")
    assert versioned.status_code == 200 and versioned.content == response.content
    assert client.get(url(raster_layer, tile, "webp") + "?v=7").status_code == 200
    unknown = client.get(url(raster_layer, tile, "png") + "?colourmap=magma")
    assert unknown.status_code == 400 and "colourmap" in unknown.json()["detail"]
    assert client.get(url(raster_layer, tile, "webp")).headers["content-type"] == "image/webp"
    assert client.get(url(raster_layer, morecantile.Tile(0, 0, 12), "png")).status_code == 204
    tag = response.headers["etag"]
    again = client.get(
        url(raster_layer, tile, "png") + "?colormap=magma", headers={"If-None-Match": tag}
    )
    assert again.status_code == 304
    ogc = client.get(
        f"/collections/{raster_layer}/tiles/WebMercatorQuad/12/1908/1957?colormap=magma"
    )
    assert ogc.content == response.content
    doc = client.get(f"/tiles/{raster_layer}/tilejson.json").json()
    assert doc["tiles"][0].endswith(f"/tiles/{raster_layer}/{{z}}/{{x}}/{{y}}.png")
    assert "vector_layers" not in doc
    assert doc["bounds"][0] == pytest.approx(-8.08, abs=0.01)
    assert client.get(url(raster_layer, tile, "mvt")).status_code == 400


def test_basemap_tile(client):
    response = client.get("/basemap/3/3/3.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    with MemoryFile(response.content) as memory, memory.open() as png:
        assert (png.width, png.height) == (256, 256)
    assert (
        client.get(
            "/basemap/3/3/3.png", headers={"If-None-Match": response.headers["etag"]}
        ).status_code
        == 304
    )
    assert client.get("/basemap/3/9/3.png").status_code == 404


def test_embed_page(client, anon, titles):
    page = client.get("/embed?layers=api-tiles-titles&lang=fr&bbox=-9,11,-7,13")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="fr">' in html
    assert '"tiles":"/tiles/api-tiles-titles/{z}/{x}/{y}.mvt"' in html
    assert '"bbox":[-9.0,11.0,-7.0,13.0]' in html
    assert '"legend.title":"Légende"' in html  # the map app's messages, inlined
    assert re.search(r'<script type="module" src="/embed/assets/embed\.js\?v=[0-9a-f]{12}">', html)
    assert "/static/vendor/leaflet/leaflet.js" in html
    # Nothing is loaded from elsewhere (attribution links to the sources are only links).
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)
    assert client.get("/embed/assets/embed.js").status_code == 200
    assert client.get("/embed/assets/../tiles.py").status_code == 404
    assert client.get("/embed?layers=api-tiles-titles&bbox=1,2,3").status_code == 400
    assert anon.get("/embed?layers=api-tiles-private").status_code == 404


def test_cors_headers_on_tiles(client, titles):
    response = client.get(url("api-tiles-titles"), headers={"Origin": "https://partner.example"})
    assert response.headers["access-control-allow-origin"] in ("*", "https://partner.example")
    assert "etag" in response.headers["access-control-expose-headers"].lower()


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL command line tools missing")
def test_gdal_reads_a_tile_url(live_server, titles):
    """GDAL's MVT driver (as used by QGIS and ogr2ogr) georeferences a tile from its z/x/y URL."""
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", f"/vsicurl/{live_server}{url('api-tiles-titles')}"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    tile_box = box(*TMS.bounds(TILE))
    expected = sum(1 for geom in titles.values() if geom.intersects(tile_box))
    assert "Layer name: api-tiles-titles" in result.stdout
    assert f"Feature Count: {expected}" in result.stdout


def test_embed_page_draws_the_layer_in_chromium(browser, live_server, titles, demo):
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 800, "height": 600})
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(f"{live_server}/embed?layers=api-tiles-titles,places&lang=en")
        page.wait_for_function(
            "document.querySelectorAll('.leaflet-tile-container path').length >= 5", timeout=20000
        )
        assert page.locator(".embed-legend").inner_text().startswith("api-tiles-titles")
        # A click on a title opens its popup with its holder and code.
        target = next(iter(titles.values())).centroid
        page.evaluate("([lat, lon]) => embedMap.setView([lat, lon], 12)", [target.y, target.x])
        # Click once every vector grid of the new view has its tiles.
        page.wait_for_function(
            """() => { const grids = [];
                embedMap.eachLayer(l => { if (l._vectorTiles) grids.push(l); });
                return grids.length > 0 && grids.every(g => !g.isLoading()
                    && Object.keys(g._vectorTiles).length > 0); }"""
        )
        page.mouse.click(400, 300)
        page.locator(".embed-popup").wait_for()
        popup = page.locator(".embed-popup").inner_text()
        assert "Kangaba SA" in popup and "T-" in popup
    finally:
        context.close()
    assert errors == []


# -- OGC API Tiles metadata ----------------------------------------------------------------------

TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _follow(client: TestClient, doc: dict, rel: str) -> dict:
    (link,) = [link for link in doc["links"] if link["rel"] == rel]
    assert link["type"] == "application/json"
    response = client.get(link["href"].removeprefix("http://testserver"))
    assert response.status_code == 200, link["href"]
    return response.json()


def test_the_landing_page_and_a_collection_link_their_tilesets(client, anon, titles, demo):
    every = _follow(client, client.get("/").json(), TILESETS_VECTOR)
    listed = {ts["links"][0]["href"].split("/")[-3] for ts in every["tilesets"]}
    assert {"api-tiles-titles", "api-tiles-private", "concessions"} <= listed
    assert all(ts["dataType"] == "vector" for ts in every["tilesets"])
    # Nobody sees the private layer's tileset; every tileset listed can be read.
    public = _follow(anon, anon.get("/").json(), TILESETS_VECTOR)
    shown = [ts["links"][0]["href"].split("/")[-3] for ts in public["tilesets"]]
    assert "api-tiles-titles" in shown and "api-tiles-private" not in shown
    for tileset in public["tilesets"][:3]:
        assert _follow(anon, tileset, "self")["dataType"] == "vector"

    collection = client.get("/collections/api-tiles-titles").json()
    tilesets = _follow(client, collection, TILESETS_VECTOR)
    assert tilesets["links"][0]["href"] == "http://testserver/collections/api-tiles-titles/tiles"
    (item,) = tilesets["tilesets"]
    tileset = _follow(client, item, "self")
    assert tileset["tileMatrixSetURI"] == item["tileMatrixSetURI"]
    assert _follow(client, tileset, "http://www.opengis.net/def/rel/ogc/1.0/geodata")["id"] == (
        "api-tiles-titles"
    )


def _mercator_tiles(bounds: tuple[float, ...], z: int) -> dict[str, int]:
    """The XYZ columns and rows (rows from the north) that `bounds` touches at zoom z, by the
    spherical Mercator formulas."""
    west, south, east, north = bounds
    n = 2**z

    def col(lon: float) -> int:
        return int((lon + 180.0) / 360.0 * n)

    def row(lat: float) -> int:
        return int((1.0 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2.0 * n)

    return {"minTileRow": row(north), "maxTileRow": row(south),
            "minTileCol": col(west), "maxTileCol": col(east)}  # fmt: skip


def test_a_tileset_gives_the_layers_extent_and_exactly_its_tiles(client, titles):
    tileset = client.get("/collections/api-tiles-titles/tiles/WebMercatorQuad").json()
    shapes = list(titles.values())
    bounds = (
        min(g.bounds[0] for g in shapes), min(g.bounds[1] for g in shapes),
        max(g.bounds[2] for g in shapes), max(g.bounds[3] for g in shapes),
    )  # fmt: skip
    box_ = tileset["boundingBox"]
    assert box_["crs"] == CRS84
    assert box_["lowerLeft"] + box_["upperRight"] == pytest.approx(list(bounds), abs=1e-5)

    limits = tileset["tileMatrixSetLimits"]
    assert [limit["tileMatrix"] for limit in limits] == [str(z) for z in range(23)]
    for limit in limits:
        z = int(limit["tileMatrix"])
        assert {k: v for k, v in limit.items() if k != "tileMatrix"} == _mercator_tiles(bounds, z)
    # The tile of the middle of the layer (TILE, at zoom 10) is in; the titles span 2 x 2 tiles
    # of zoom 10 from it (0.65 degrees, a tile being 0.35).
    ten = limits[10]
    assert ten["minTileCol"] <= TILE.x <= ten["maxTileCol"]
    assert ten["minTileRow"] <= TILE.y <= ten["maxTileRow"]
    # The north-west tile holds the north-west title; the tile east of the north-east one, none.
    twelve = limits[12]
    north_west = f"/tiles/api-tiles-titles/12/{twelve['minTileCol']}/{twelve['minTileRow']}.mvt"
    beyond = f"/tiles/api-tiles-titles/12/{twelve['maxTileCol'] + 1}/{twelve['minTileRow']}.mvt"
    assert client.get(north_west).status_code == 200
    assert client.get(beyond).status_code == 204

    centre = tileset["centerPoint"]
    assert centre["crs"] == CRS84
    assert centre["coordinates"] == pytest.approx(
        [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2], abs=1e-5
    )
    zoom = int(centre["tileMatrix"])
    assert zoom == client.get("/tiles/api-tiles-titles/tilejson.json").json()["center"][2]
    # WebMercatorQuad's scale at zoom 0 is 559082264.0287178 (OGC 17-083r4, annex D.1).
    assert centre["scaleDenominator"] == pytest.approx(559082264.0287178 / 2**zoom)
    assert 256 * 2**zoom * (bounds[2] - bounds[0]) / 360 <= 512  # the extent fits on screen


def test_a_raster_layer_has_map_tilesets_over_its_extent(client, raster_layer):
    collection = client.get(f"/collections/{raster_layer}").json()
    tilesets = _follow(client, collection, "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map")
    assert tilesets["tilesets"][0]["dataType"] == "map"
    tileset = client.get(f"/collections/{raster_layer}/tiles/WebMercatorQuad").json()
    # The GeoTIFF's UTM 29N square, 20 km a side, in degrees.
    west, south, east, north = Transformer.from_crs(
        "EPSG:32629", "EPSG:4326", always_xy=True
    ).transform_bounds(600000, 1340000, 620000, 1360000, densify_pts=21)
    found = tileset["boundingBox"]["lowerLeft"] + tileset["boundingBox"]["upperRight"]
    assert found == pytest.approx([west, south, east, north], abs=1e-7)
    twelve = tileset["tileMatrixSetLimits"][12]
    assert twelve == {"tileMatrix": "12", **_mercator_tiles((west, south, east, north), 12)}
    # The tile test_raster_tiles draws is one of them.
    assert twelve["minTileCol"] <= 1957 <= twelve["maxTileCol"]
    assert twelve["minTileRow"] <= 1908 <= twelve["maxTileRow"]
    style = client.get(f"/tiles/{raster_layer}/style.json").json()
    (source,) = style["sources"].values()
    assert source["type"] == "raster" and source["tileSize"] == 256
    assert source["tiles"] == [f"http://testserver/tiles/{raster_layer}/{{z}}/{{x}}/{{y}}.png"]
    assert [layer["type"] for layer in style["layers"]] == ["raster"]
