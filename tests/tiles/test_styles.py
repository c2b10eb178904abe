"""MapLibre styles (tiles/styles.py): valid Style Specification v8 documents over the sources the
TileJSON describes, drawing each feature in the colours of the kind registry (the map app's
legend) or of the layer's own saved style; the tiles they point at carry the attributes they
colour by and the key they were asked with."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from geo_service.reports import styles as registry
from geo_service.tiles.styles import style_layers

ROOT = Path(__file__).resolve().parents[2]
STYLE_SPEC = ROOT / "web/node_modules/@maplibre/maplibre-gl-style-spec/dist/index.cjs"
TMS = morecantile.tms.get("WebMercatorQuad")
DEMO = ["protected-areas", "rivers", "concessions", "asm-zones", "tailings", "abandoned-mines",
        "mine-sites", "places"]  # fmt: skip
# How each geometry type of a feature reads in MapLibre's ["geometry-type"].
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
# Style layer type -> the geometries it draws.
DRAWS = {"fill": "Polygon", "circle": "Point"}


def evaluate(expression: Any, geometry_type: str, properties: dict[str, Any]) -> Any:
    """A MapLibre expression of the operators our styles use, on one feature (written here,
    from the Style Specification, to read the styles independently of the code that writes
    them)."""
    if not isinstance(expression, list):
        return expression
    op, *args = expression
    if op == "get":
        return properties.get(args[0])
    if op == "geometry-type":
        return geometry_type
    if op == "to-string":
        value = evaluate(args[0], geometry_type, properties)
        return (
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
    if op == "match":
        value = evaluate(args[0], geometry_type, properties)
        branches = args[1:-1]
        for labels, out in zip(branches[::2], branches[1::2], strict=True):
            if value in (labels if isinstance(labels, list) else [labels]):
                return evaluate(out, geometry_type, properties)
        return evaluate(args[-1], geometry_type, properties)
    if op == "!":
        return not evaluate(args[0], geometry_type, properties)
    if op == "all":
        return all(evaluate(a, geometry_type, properties) for a in args)
    raise AssertionError(f"operator {op} is not one our styles should use")


def drawn_by(style: dict, slug: str, geometry_type: str, properties: dict) -> list[dict]:
    """The style layers that draw a feature of `slug`."""
    return [
        layer
        for layer in style["layers"]
        if layer.get("source-layer") == slug
        and evaluate(layer.get("filter", True), geometry_type, properties)
    ]


def check_structure(style: dict, tilejson: dict) -> None:
    """Version 8, unique layer ids, every layer's source among the sources and every vector
    layer's source-layer among the TileJSON's vector_layers, the vector source's tiles the
    TileJSON's; no labels (no glyphs served)."""
    assert style["version"] == 8
    ids = [layer["id"] for layer in style["layers"]]
    assert len(ids) == len(set(ids))
    vector_ids = {v["id"] for v in tilejson["vector_layers"]}
    for layer in style["layers"]:
        source = style["sources"][layer["source"]]
        assert source["type"] in ("vector", "raster")
        if source["type"] == "vector":
            assert layer["source-layer"] in vector_ids
            assert layer["type"] in ("fill", "line", "circle")
    (vector,) = [s for s in style["sources"].values() if s["type"] == "vector"]
    assert vector["tiles"] == tilejson["tiles"]
    assert (vector["minzoom"], vector["maxzoom"]) == (tilejson["minzoom"], tilejson["maxzoom"])
    assert "glyphs" not in style and all(layer["type"] != "symbol" for layer in style["layers"])


def spec_errors(style: dict) -> list[str]:
    """What MapLibre's own validator (npm @maplibre/maplibre-gl-style-spec) says of `style`."""
    script = (
        f"const spec = require({json.dumps(str(STYLE_SPEC))}); let s = '';"
        "process.stdin.on('data', d => s += d).on('end', () => console.log(JSON.stringify("
        "spec.validateStyleMin(JSON.parse(s)).map(e => e.message))));"
    )
    done = subprocess.run(
        ["node", "-e", script], input=json.dumps(style), capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def look_of(engine: Engine, client: TestClient, slug: str) -> registry.Look:
    layer = client.get(f"/layers/{slug}").json()
    with engine.connect() as conn:
        layer_id = conn.execute(text("SELECT id FROM layers WHERE slug = :s"), {"s": slug}).one()[0]
    return registry.Look(layer_id, layer["kind"], layer["theme"], layer["style"])


def test_the_style_of_every_demo_layer_is_valid_over_the_tilejson_sources(client, demo):
    layers = ",".join(DEMO)
    style = client.get(f"/tiles/style.json?layers={layers}").json()
    check_structure(style, client.get(f"/tiles/tilejson.json?layers={layers}").json())
    assert list(style["sources"]) == ["geo-service"]
    # Drawn in the order asked, the first at the bottom.
    order = list(dict.fromkeys(layer["source-layer"] for layer in style["layers"]))
    assert order == DEMO
    for slug in ("concessions", "mine-sites"):
        one = client.get(f"/tiles/{slug}/style.json").json()
        check_structure(one, client.get(f"/tiles/{slug}/tilejson.json").json())
        assert one["sources"]["geo-service"]["tiles"] == [
            f"http://testserver/tiles/{slug}/{{z}}/{{x}}/{{y}}.mvt"
        ]
    # The style opens on the layers: its centre is the middle of their extent.
    west, south, east, north = style["sources"]["geo-service"]["bounds"]
    assert style["center"] == pytest.approx([(west + east) / 2, (south + north) / 2])


@pytest.mark.skipif(
    shutil.which("node") is None or not STYLE_SPEC.exists(),
    reason="MapLibre's style validator comes with `npm install` in web/",
)
def test_maplibres_validator_finds_nothing_wrong(client, demo, own_style):
    for url in (f"/tiles/style.json?layers={','.join(DEMO)}", f"/tiles/{own_style}/style.json"):
        assert spec_errors(client.get(url).json()) == [], url


def test_each_demo_feature_is_drawn_in_the_colours_of_the_app(client, engine, demo):
    """Every feature of every demo layer is drawn by one fill and one outline (polygons), one
    line (lines) or one circle (points), in the colour, opacity, width and dashes the map app
    gives it (the kind registry of geo_service/reports/styles.py, checked against the app's
    styles.js by tests/analysis/test_report.py)."""
    style = client.get(f"/tiles/style.json?layers={','.join(DEMO)}").json()
    for slug in DEMO:
        look = look_of(engine, client, slug)
        items = client.get(f"/collections/{slug}/items", params={"limit": 300}).json()
        assert items["features"], slug
        for feature in items["features"]:
            geometry_type = feature["geometry"]["type"]
            properties = {"id": feature["id"], **feature["properties"]}
            expected = registry.feature_style(look, properties)
            colour = registry.colour_of(look, properties)
            layers = drawn_by(style, slug, geometry_type, properties)
            family = geometry_type.removeprefix("Multi")
            kinds = sorted(layer["type"] for layer in layers)
            assert kinds == {"Polygon": ["fill", "line"], "LineString": ["line"],
                             "Point": ["circle"]}[family], (slug, feature["id"])  # fmt: skip
            for layer in layers:
                # A dash array is a literal array, not an expression.
                paint = {k: v if k == "line-dasharray" else evaluate(v, geometry_type, properties)
                         for k, v in layer["paint"].items()}  # fmt: skip
                if layer["type"] == "fill":
                    assert paint == {"fill-color": colour, "fill-opacity": expected.fill_opacity}
                elif layer["type"] == "circle":
                    assert paint == {
                        "circle-color": colour,
                        "circle-radius": expected.radius,
                        "circle-opacity": expected.fill_opacity,
                        "circle-stroke-color": expected.halo or colour,
                        "circle-stroke-width": expected.width,
                        "circle-stroke-opacity": expected.opacity,
                    }
                else:
                    dash = paint.pop("line-dasharray", None)
                    if expected.dash is None:
                        assert dash is None, (slug, feature["id"])
                    else:  # Leaflet dashes in pixels, MapLibre in line widths
                        assert dash == pytest.approx([d / expected.width for d in expected.dash])
                    assert paint == {
                        "line-color": expected.halo or colour,
                        "line-width": expected.width,
                        "line-opacity": expected.opacity,
                    }


def test_the_kinds_colours_are_the_registrys_legend(client, demo):
    """The colours of a kind's attribute, every category of the app's legend, and grey for a
    value the legend does not know."""
    for slug, kind in (("concessions", "concession"), ("mine-sites", "mine_site"),
                       ("asm-zones", "asm_zone"), ("tailings", "tailings_facility"),
                       ("abandoned-mines", "abandoned_mine")):  # fmt: skip
        style = client.get(f"/tiles/{slug}/style.json").json()
        field, colours = registry.BY_KIND[kind]
        for layer in style["layers"]:
            paint = layer["paint"]
            drawn = paint.get("fill-color") or paint.get("circle-color")
            if drawn is None:
                continue
            for geometry_type in GEOMETRY_TYPES:
                for value, colour in colours.items():
                    assert evaluate(drawn, geometry_type, {field: value}) == colour
                assert evaluate(drawn, geometry_type, {field: "unheard_of"}) == registry.GREY
                assert evaluate(drawn, geometry_type, {}) == registry.GREY


@pytest.fixture
def own_style(client: TestClient) -> Iterator[str]:
    """A public concession layer with a style of its own: a colour, and colours by `usage`."""
    slug = f"styles-own-{uuid.uuid4().hex[:6]}"
    made = client.post("/layers", json={"slug": slug, "kind": "concession", "visibility": "public"})
    assert made.status_code == 201, made.text
    uses = ["agriculture", "agriculture", "forest", "village"]
    for i, use in enumerate(uses):
        lon, lat = -3.2 + 0.02 * i, 9.8  # where no other test puts anything
        ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01],
                [lon, lat]]  # fmt: skip
        feature = {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"code": f"U-{i}", "title_type": "exploration", "status": "active",
                           "usage": use},
        }  # fmt: skip
        assert client.post(f"/collections/{slug}/items", json=feature).status_code == 201
    styled = client.patch(f"/layers/{slug}", json={"style": {"colour": "#AA3377", "by": "usage"}})
    assert styled.status_code == 200, styled.text
    yield slug
    client.delete(f"/layers/{slug}")


def test_a_layers_own_style_wins_and_its_tiles_carry_what_it_colours_by(
    client, anon, keys, own_style
):
    saved = client.get(f"/layers/{own_style}").json()["style"]
    assert saved["colour"] == "#aa3377" and set(saved["categories"]) == {
        "agriculture", "forest", "village"
    }  # fmt: skip
    style = client.get(f"/tiles/{own_style}/style.json?key={keys['viewer']}").json()
    for layer in style["layers"]:
        paint = layer["paint"]
        drawn = paint.get("fill-color") or paint.get("line-color")
        for value, colour in saved["categories"].items():
            assert evaluate(drawn, "Polygon", {"usage": value, "title_type": "quarry"}) == colour
        # Other values take the layer's colour, not the kind's grey; the kind's colours go.
        assert evaluate(drawn, "Polygon", {"usage": "mine", "title_type": "quarry"}) == "#aa3377"

    # A title's tile carries its kind's fields only: the style asks for `usage` too, and keeps
    # the key it was asked with.
    (template,) = style["sources"]["geo-service"]["tiles"]
    assert f"key={keys['viewer']}" in template and "properties=usage" in template
    tile = TMS.tile(-3.195, 9.805, 14)
    url = template.replace("{z}", str(tile.z)).replace("{x}", str(tile.x))
    url = url.replace("{y}", str(tile.y)).removeprefix("http://testserver")
    decoded = mapbox_vector_tile.decode(anon.get(url).content)
    (feature,) = decoded[own_style]["features"]
    assert feature["properties"]["usage"] == "agriculture"
    assert feature["properties"]["code"] == "U-0"

    assert "key=" not in anon.get(f"/tiles/{own_style}/style.json").text


def test_a_styles_filters_go_to_its_tiles(client, demo):
    """As in the TileJSON, property filters reach the tile URLs, which check them."""
    style = client.get("/tiles/concessions/style.json?status=active&properties=holder").json()
    (template,) = style["sources"]["geo-service"]["tiles"]
    assert "status=active" in template and "properties=holder" in template
    tile = TMS.tile(-8.4, 12.2, 6)
    url = template.replace("{z}", str(tile.z)).replace("{x}", str(tile.x))
    url = url.replace("{y}", str(tile.y)).removeprefix("http://testserver")
    decoded = mapbox_vector_tile.decode(client.get(url).content)
    statuses = {f["properties"]["status"] for f in decoded["concessions"]["features"]}
    assert statuses == {"active"}
    assert client.get(url + "&colour=1").status_code == 400  # no such property


def test_a_style_names_only_layers_the_caller_may_read(client, anon):
    slug = f"styles-private-{uuid.uuid4().hex[:6]}"
    assert client.post("/layers", json={"slug": slug}).status_code == 201
    try:
        for path in (f"/tiles/{slug}/style.json", f"/tiles/style.json?layers=concessions,{slug}",
                     f"/tiles/preview?layers={slug}"):  # fmt: skip
            refused = anon.get(path)
            assert refused.status_code == 404, path
            assert refused.headers["content-type"] == "application/problem+json"
            assert slug in refused.json()["detail"]
        assert client.get(f"/tiles/{slug}/style.json").status_code == 200
        assert anon.get("/tiles/style.json?layers=,").status_code == 400
    finally:
        client.delete(f"/layers/{slug}")


def _described(kind: str, geometry_types: list[str], theme: str | None = None) -> dict:
    return {"slug": "x", "id": 3, "kind": kind, "theme": theme, "style": {},
            "storage": "vector", "geometry_types": geometry_types}  # fmt: skip


def test_style_layers_follow_the_geometries_a_layer_holds_or_its_kind_allows():
    def types(d: dict) -> list[str]:
        return [layer["type"] for layer in style_layers(d)]

    assert types(_described("mine_site", ["POINT"])) == ["circle"]
    assert types(_described("reference", ["LINESTRING", "MULTILINESTRING"], "river")) == ["line"]
    assert types(_described("reference", ["MULTIPOLYGON", "POINT"])) == ["fill", "line", "circle"]
    # An empty layer is drawn for what its kind may hold, anything for a reference layer.
    assert types(_described("asm_zone", [])) == ["fill", "line"]
    assert types(_described("tailings_facility", [])) == ["fill", "line", "circle"]
    assert types(_described("reference", [])) == ["fill", "line", "line", "circle"]
    # A reference layer without theme or style: the palette's colour of its id, 3.
    (circle,) = style_layers(_described("reference", ["POINT"]))
    assert circle["paint"]["circle-color"] == "#2ca02c"
