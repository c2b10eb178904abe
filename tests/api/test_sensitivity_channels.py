"""Sensitive layers on the remaining channels: zone screening, zonal statistics, tailings
exposure, abandoned-mine priority, permit flags, available land, the descriptions that name
attributes (collections, queryables, layers, TileJSON) and feature history. A caller below a
layer's level finds no hidden attribute and no location finer than the 10 km grid (checked in
EPSG:3857 with pyproj), and distances measured from the grid point (pyproj.Geod); an admin
sees the exact values."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import Point, Polygon, mapping, shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.analysis.conftest import geod_distance_m, geod_ha
from tests.api.test_sensitivity import CENTRE, CX, CY, GEOD, GRID, TO_DEG, TO_M

SECRET = "Secret Holder SA"
NE = (CX + 3000, CY + 2000)  # where the sensitive features are, EPSG:3857 metres
SW = (CX - 3000, CY - 1500)
SETTLEMENT = (CX + 6000, CY - 5000)
BELOW = ("anonymous", "viewer")


def _lonlat(x: float, y: float) -> tuple[float, float]:
    return TO_DEG.transform(x, y)


def _square(x: float, y: float, half: float) -> Polygon:
    """A square of side 2 * `half` metres (EPSG:3857) around (x, y), in lon/lat."""
    corners = [(x - half, y - half), (x + half, y - half), (x + half, y + half),
               (x - half, y + half)]  # fmt: skip
    return Polygon([_lonlat(*c) for c in corners])


def _on_grid(lon: float, lat: float) -> bool:
    """Whether a point lies on a node of the 10 km grid of EPSG:3857 (to 5 cm: GeoJSON gives 7
    decimals of a degree)."""
    x, y = TO_M.transform(lon, lat)
    return all(abs(v / GRID - round(v / GRID)) * GRID < 0.05 for v in (x, y))


def _geod_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def _insert(session: Session, layer_id: int, geom: Any, props: dict[str, Any]) -> int:
    return session.execute(
        text(
            "INSERT INTO features (layer_id, name, properties, geom) VALUES (:layer, :name,"
            " CAST(:props AS jsonb), ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)) RETURNING id"
        ),
        {"layer": layer_id, "name": props.get("name"), "props": json.dumps(props),
         "wkb": shapely.to_wkb(geom)},
    ).scalar_one()  # fmt: skip


CONCESSION = _square(*NE, 1000)
ZONE = _square(*NE, 1500)
SENSITIVE = {
    "conc": {"attribute_sensitivity": {"holder": "restricted", "name": "internal"}},
    "tail": {"attribute_sensitivity": {"consequence": "internal"}},
    "aband": {"attribute_sensitivity": {"hazards": "internal"}},
    "permits": {"attribute_sensitivity": {"holder": "restricted"}},
}


@pytest.fixture(scope="module")
def world(engine: Engine, client, tmp_path_factory) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {k: f"sch-{k}-{tag}" for k in
             ("conc", "tail", "aband", "settle", "permits", "zones", "dem")}  # fmt: skip
    ids: dict[str, int] = {}
    path = Path(tmp_path_factory.mktemp("sch")) / "dem.tif"
    west, north = _lonlat(CX - 20000, CY + 20000)
    transform = from_origin(west, north, 0.005, 0.005)
    data = np.arange(80 * 80, dtype="float32").reshape(80, 80)
    with rasterio.open(path, "w", driver="GTiff", width=80, height=80, count=1,
                       dtype="float32", crs="EPSG:4326", transform=transform) as dst:  # fmt: skip
        dst.write(data, 1)
    features = {
        "conc": ("concession", None, CONCESSION, {"name": "Conc NE", "code": "K-1",
                 "holder": SECRET, "title_type": "exploitation", "status": "active"}),
        "tail": ("tailings_facility", None, Point(_lonlat(*NE)),
                 {"name": "Dam NE", "consequence": "extreme"}),
        "aband": ("abandoned_mine", None, Point(_lonlat(*SW)),
                  {"name": "Pit SW", "hazards": ["mercury"]}),
        "settle": ("reference", "settlement", Point(_lonlat(*SETTLEMENT)),
                   {"name": "Village", "population": 1200}),
        "permits": ("asm_permit", None, Point(_lonlat(*NE)),
                    {"number": "P-1", "category": "mining", "holder": SECRET,
                     "status": "active", "expires": "2099-01-01"}),
        "zones": ("asm_zone", None, ZONE, {"name": "Zone NE", "code": "Z-1",
                                           "status": "gazetted"}),
    }  # fmt: skip
    with Session(engine) as s:
        for key, (kind, theme, geom, props) in features.items():
            layer = store.create_layer(s, slugs[key], OPERATOR, kind=kind, theme=theme,
                                       visibility="public")  # fmt: skip
            ids[key] = _insert(s, layer.id, geom, props)
        raster = store.create_layer(s, slugs["dem"], OPERATOR, storage="raster",
                                    visibility="public")  # fmt: skip
        raster.raster_path = str(path)
        s.commit()
    for key, extra in SENSITIVE.items():
        made = client.patch(
            f"/layers/{slugs[key]}",
            json={"sensitivity": "restricted", "generalise_m": GRID, **extra},
        )
        assert made.status_code == 200, made.text
    made = client.patch(f"/layers/{slugs['conc']}", json={"style": {"by": "holder"}})
    assert made.status_code == 200, made.text
    yield {"slugs": slugs, "ids": ids, "data": data, "transform": transform}
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


@pytest.fixture(scope="module")
def callers(anon, as_role):
    return {"anonymous": anon, "viewer": as_role("viewer"), "editor": as_role("editor"),
            "admin": as_role("admin")}  # fmt: skip


def _no_secret(answer) -> None:
    """No hidden attribute's name or value anywhere in the answer."""
    assert SECRET not in answer.text and "holder" not in answer.text


# -- zone screening -----------------------------------------------------------------------------


def _screen(c, zone: Polygon, **extra: Any):
    body = {"geometry": mapping(zone), "rules": {"hazard_distance_m": 20000}, **extra}
    return c.post("/analysis/screen", json=body)


def _mine(items: list[dict], world: dict, key: str) -> list[dict]:
    return [i for i in items if i["layer"] == world["slugs"][key]]


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_screening_measures_what_the_caller_sees(callers, world, role) -> None:
    c = callers[role]
    drawn = _square(*NE, 2500)  # holds the concession and the dam, not the grid point
    answer = _screen(c, drawn)
    assert answer.status_code == 200, answer.text
    conflicts = answer.json()["conflicts"]
    titles = _mine(conflicts["concessions"], world, "conc")
    (dam,) = _mine(conflicts["tailings"], world, "tail")
    if role == "admin":
        assert titles[0]["holder"] == SECRET and titles[0]["name"] == "Conc NE"
        assert titles[0]["overlap_ha"] == pytest.approx(geod_ha(CONCESSION), rel=1e-3)
        assert shape(titles[0]["geometry"]).area == pytest.approx(CONCESSION.area, rel=1e-4)
        assert dam["distance_m"] == 0 and dam["consequence"] == "extreme"
    else:
        _no_secret(answer)
        assert titles == []  # its grid point lies outside the zone
        assert "consequence" not in dam and "extreme" not in answer.text
        assert dam["distance_m"] == pytest.approx(geod_distance_m(drawn, Point(CENTRE)), abs=1)
    # A zone round the grid point: the caller below finds the dam there, the admin 3.6 km off.
    (dam,) = _mine(_screen(c, _square(CX, CY, 500)).json()["conflicts"]["tailings"], world, "tail")
    if role == "admin":
        truth = geod_distance_m(_square(CX, CY, 500), Point(_lonlat(*NE)))
        assert dam["distance_m"] == pytest.approx(truth, abs=1)
    else:
        assert dam["distance_m"] == 0


@pytest.mark.parametrize("role", [*BELOW, "editor", "admin"])
def test_a_saved_zone_seen_generalised_is_not_screened(callers, world, role) -> None:
    answer = callers[role].post("/analysis/screen", json={"zone_id": world["ids"]["conc"]})
    if role == "admin":
        assert answer.status_code == 200, answer.text
        assert answer.json()["area_ha"] == pytest.approx(geod_ha(CONCESSION), rel=1e-3)
    else:
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"] and "area_ha" not in answer.json()


# -- zonal statistics ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_zonal_statistics_are_of_the_generalised_zone(callers, world, role) -> None:
    c = callers[role]
    body = {"raster": world["slugs"]["dem"], "zones": world["slugs"]["conc"]}
    answer = c.post("/analysis/zonal", json=body)
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["rows"]
    shapes = c.post("/analysis/zonal", params={"format": "geojson"}, json=body).json()
    (feature,) = shapes["features"]
    if role == "admin":
        rows, cols = np.indices(world["data"].shape)
        xs, ys = rasterio.transform.xy(world["transform"], rows.ravel(), cols.ravel())
        inside = shapely.contains_xy(CONCESSION, np.asarray(xs), np.asarray(ys))
        assert row["count"] == int(inside.sum()) > 0
        assert row["sum"] == pytest.approx(float(world["data"].ravel()[inside].sum()))
        assert row["zone"]["name"] == "Conc NE"
        assert feature["geometry"]["type"] == "Polygon"
    else:
        assert row["count"] == 0 and row["mean"] is None
        assert row["zone"]["name"] is None and "Conc NE" not in answer.text
        assert feature["geometry"]["type"] == "Point"
        assert _on_grid(*feature["geometry"]["coordinates"])


# -- tailings exposure and abandoned-mine priority -----------------------------------------------


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_exposure_distances_start_from_the_grid_point(callers, world, role) -> None:
    answer = callers[role].get(
        "/analysis/tailings-exposure", params={"layer": world["slugs"]["tail"], "within_m": 30000}
    )
    assert answer.status_code == 200, answer.text
    (facility,) = answer.json()["facilities"]
    (village,) = [n for n in facility["exposed"] if n["layer"] == world["slugs"]["settle"]]
    settlement = _lonlat(*SETTLEMENT)
    if role == "admin":
        assert facility["consequence"] == "extreme"
        assert village["distance_m"] == pytest.approx(_geod_m(_lonlat(*NE), settlement), abs=0.1)
    else:
        assert "consequence" not in facility and "extreme" not in answer.text
        assert village["distance_m"] == pytest.approx(_geod_m(CENTRE, settlement), abs=0.1)


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_abandoned_priority_distances_start_from_the_grid_point(callers, world, role) -> None:
    answer = callers[role].get(
        "/analysis/abandoned-mine-priority",
        params={"layer": world["slugs"]["aband"], "within_m": 30000},
    )
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["rows"]
    (village,) = [p for p in row["terms"]["people"]["from"]
                  if p["layer"] == world["slugs"]["settle"]]  # fmt: skip
    settlement = _lonlat(*SETTLEMENT)
    if role == "admin":
        assert row["hazards"] == ["mercury"]
        assert village["distance_m"] == pytest.approx(_geod_m(_lonlat(*SW), settlement), abs=0.1)
    else:
        assert "hazards" not in row and row["terms"]["hazard"]["from"] == []
        assert village["distance_m"] == pytest.approx(_geod_m(CENTRE, settlement), abs=0.1)


# -- permit flags -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_permit_cover_is_decided_on_what_the_caller_sees(callers, world, role) -> None:
    answer = callers[role].get(
        "/analysis/permit-flags", params={"layer": world["slugs"]["permits"], "as_of": "2030-01-01"}
    )
    assert answer.status_code == 200, answer.text
    (permit,) = answer.json()["rows"]
    codes = [f["code"] for f in permit["flags"]]
    if role == "admin":
        assert permit["holder"] == SECRET
        assert permit["zone"]["id"] == world["ids"]["zones"] and codes == []
    else:
        _no_secret(answer)
        # Its grid point, 3.6 km from the site, lies outside the zone round the site.
        assert not ZONE.covers(Point(CENTRE))
        assert permit["zone"] is None and codes == ["outside_gazetted_zone"]


# -- available land -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_available_land_cuts_what_the_caller_sees(callers, world, role) -> None:
    c = callers[role]
    region = _square(CX, CY, 15000)
    body = {"region": mapping(region), "exclude": [{"layer": world["slugs"]["conc"]}]}
    answer = c.post("/analysis/available-land", json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    (listed,) = found["features"][0]["properties"]["excluded_nearby"][world["slugs"]["conc"]]
    if role == "admin":
        truth = geod_ha(region.difference(CONCESSION))
        assert found["available_area_ha"] == pytest.approx(truth, rel=1e-3)
        assert listed["name"] == "Conc NE"
    else:
        # A grid point takes no land: the whole region is left, its pieces draw no outline.
        assert found["available_area_ha"] == pytest.approx(geod_ha(region), rel=1e-3)
        assert listed["name"] != "Conc NE" and listed["distance_m"] == 0
        assert "Conc NE" not in answer.text and SECRET not in answer.text
        pieces = [shape(f["geometry"]) for f in found["features"]]
        assert sum(len(getattr(p, "interiors", [])) for p in pieces) == 0
    seen = c.post(
        "/analysis/available-land",
        json={"region": {"layer": world["slugs"]["conc"], "id": world["ids"]["conc"]}},
    )
    assert seen.status_code == (200 if role == "admin" else 400), seen.text


# -- descriptions -------------------------------------------------------------------------------


def _extent_on_grid(extent: list[float]) -> bool:
    return _on_grid(extent[0], extent[1]) and _on_grid(extent[2], extent[3])


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_descriptions_name_no_hidden_attribute(callers, world, role) -> None:
    c = callers[role]
    slug = world["slugs"]["conc"]
    exact = CONCESSION.bounds
    collection = c.get(f"/collections/{slug}")
    queryables = c.get(f"/collections/{slug}/queryables")
    layer = c.get(f"/layers/{slug}")
    tilejson = c.get(f"/tiles/{slug}/tilejson.json")
    asked = c.get(f"/tiles/{slug}/tilejson.json", params={"properties": "holder,code"})
    style = c.get(f"/tiles/{slug}/style.json")
    listed = [d for d in c.get("/collections").json()["collections"] if d["id"] == slug]
    layers = [d for d in c.get("/layers").json() if d["slug"] == slug]
    answers = (collection, queryables, layer, tilejson, asked, style)
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    extents = [collection.json()["extent"]["spatial"]["bbox"][0], layer.json()["extent"],
               tilejson.json()["bounds"], listed[0]["extent"]["spatial"]["bbox"][0],
               layers[0]["extent"]]  # fmt: skip
    fields = [tilejson.json()["vector_layers"][0]["fields"],
              asked.json()["vector_layers"][0]["fields"]]  # fmt: skip
    if role == "admin":
        assert "holder" in collection.json()["attributes"]
        assert "holder" in queryables.json()["properties"]
        assert "holder" in layer.json()["attributes"] and layer.json()["style"]["by"] == "holder"
        assert all("holder" in f and "name" in f for f in fields)
        for extent in extents:
            assert extent == pytest.approx(list(exact), abs=1e-7)
    else:
        for a in (collection, queryables, layer, tilejson, style):
            assert "holder" not in a.text, a.url
        assert "holder" not in json.dumps(listed) + json.dumps(layers)
        assert all("name" not in f and "code" in f for f in fields[1:])
        for extent in extents:
            assert _extent_on_grid(extent), extent
            west, south, east, north = extent
            assert west <= exact[0] and south <= exact[1] and east >= exact[2] and north >= exact[3]
            # No wider than the cells holding the exact extent.
            x0, y0 = TO_M.transform(west, south)
            x1, y1 = TO_M.transform(east, north)
            assert x1 - x0 <= 2 * GRID + 1 and y1 - y0 <= 2 * GRID + 1


# -- feature history and edits ------------------------------------------------------------------


def _history(c, world) -> list[dict]:
    url = f"/collections/{world['slugs']['conc']}/items/{world['ids']['conc']}/history"
    answer = c.get(url)
    assert answer.status_code == 200, answer.text
    return answer.json()["versions"]


def test_history_shows_no_hidden_value_nor_exact_shape(callers, world) -> None:
    slug, fid = world["slugs"]["conc"], world["ids"]["conc"]
    moved = _square(NE[0] + 200, NE[1], 1000)
    changed = callers["admin"].patch(
        f"/collections/{slug}/items/{fid}",
        json={"geometry": mapping(moved), "properties": {"holder": "Other Secret SARL"},
              "comment": "sold"},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    versions = _history(callers["admin"], world)
    assert [v["properties"]["holder"] for v in versions[-2:]] == [SECRET, "Other Secret SARL"]
    assert shape(versions[-1]["geometry"]).equals_exact(moved, 1e-7)
    assert versions[-2]["name"] == "Conc NE"
    for role in BELOW:
        c = callers[role]
        url = f"/collections/{slug}/items/{fid}/history"
        answer = c.get(url)
        assert answer.status_code == 200, answer.text
        _no_secret(answer)
        assert "Other Secret" not in answer.text and "Conc NE" not in answer.text
        for version in answer.json()["versions"]:
            assert version["geometry"]["type"] == "Point"
            assert _on_grid(*version["geometry"]["coordinates"])
            assert version["properties"]["code"] == "K-1" and version["name"] is None


def test_an_editor_below_the_level_gets_its_edit_back_generalised(callers, world) -> None:
    slug, fid = world["slugs"]["conc"], world["ids"]["conc"]
    answer = callers["editor"].patch(
        f"/collections/{slug}/items/{fid}", json={"properties": {"status": "active"}}
    )
    assert answer.status_code == 200, answer.text
    feature = answer.json()
    assert "holder" not in feature["properties"] and "Secret" not in answer.text
    assert feature["properties"]["name"] == "Conc NE"  # the editor is cleared for `name`
    assert feature["geometry"]["type"] == "Point" and _on_grid(*feature["geometry"]["coordinates"])
    assert "geodesic" not in feature
    versions = _history(callers["editor"], world)
    assert all(v["geometry"]["type"] == "Point" for v in versions)
    assert all("holder" not in v["properties"] for v in versions)


# -- the zone lifecycle's safeguards -----------------------------------------------------------


def test_gazetting_is_screened_on_exact_shapes_whatever_the_movers_clearance(
    callers, world
) -> None:
    """The editor (internal) sees the restricted title as its grid point, so its own screening
    finds no overlap; gazetting a zone inside that title is still refused, and the refusal
    names no hidden attribute."""
    editor = callers["editor"]
    inside = _square(*NE, 500)  # about 90 ha, well inside the 2 km title
    seen = _screen(editor, inside).json()
    assert _mine(seen["conflicts"].get("concessions", []), world, "conc") == []
    made = editor.post(
        f"/collections/{world['slugs']['zones']}/items",
        json={"type": "Feature", "geometry": mapping(inside), "properties": {"code": "Z-2"}},
    )
    assert made.status_code == 201, made.text
    url = f"/collections/{world['slugs']['zones']}/items/{made.json()['id']}"
    for status in ("proposed", "in_consultation"):
        moved = editor.patch(url, json={"properties": {"status": status}, "comment": "next"})
        assert moved.status_code == 200, moved.text
    refused = editor.patch(url, json={
        "properties": {"status": "gazetted", "decree_ref": "Arrêté 2026-032"},
        "comment": "Arrêté 2026-032"})  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert "active_exploitation_titles" in {rule["id"] for rule in refused.json()["rules"]}
    _no_secret(refused)
    assert editor.get(url).json()["properties"]["status"] == "in_consultation"


# -- selecting by place ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_a_box_or_a_spatial_filter_selects_where_the_caller_sees_the_site(
    callers, world, role
) -> None:
    """A box shrunk around a restricted site's true place finds it only for a caller who sees it
    there; below the level it is found in the box around its grid point, and a CQL2 spatial
    filter answers the same on items and on tiles."""
    c, slug = callers[role], world["slugs"]["tail"]
    true_lon, true_lat = _lonlat(*NE)
    centre_lon, centre_lat = CENTRE
    exact = role == "admin"

    def found(lon: float, lat: float) -> int:
        around = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
        got = c.get(f"/collections/{slug}/items", params={"bbox": around})
        assert got.status_code == 200, got.text
        where = f"S_INTERSECTS(geometry, BBOX({around}))"
        filtered = c.get(f"/collections/{slug}/items", params={"filter": where})
        assert filtered.status_code == 200, filtered.text
        assert filtered.json()["numberMatched"] == got.json()["numberMatched"]
        return got.json()["numberMatched"]

    assert found(true_lon, true_lat) == (1 if exact else 0)
    assert found(centre_lon, centre_lat) == (0 if exact else 1)


def test_in_admin_mode_a_site_is_shown_as_the_smallest_public_area_holding_it(
    callers, client, engine
) -> None:
    """`generalise: admin`: below the level a site is the smallest public admin area holding it
    (a district inside its region), checked with shapely; an admin sees the point."""
    tag = uuid.uuid4().hex[:6]
    areas, sites = f"sch-areas-{tag}", f"sch-admin-sites-{tag}"
    region = Polygon([(60.0, -40.0), (61.0, -40.0), (61.0, -39.0), (60.0, -39.0)])
    district = Polygon([(60.2, -39.8), (60.5, -39.8), (60.5, -39.5), (60.2, -39.5)])
    site = Point(60.3, -39.7)
    with Session(engine) as s:
        layer = store.create_layer(s, areas, OPERATOR, kind="reference", theme="admin_boundary",
                                   visibility="public")  # fmt: skip
        for name, shape_ in (("Region", region), ("District", district)):
            _insert(s, layer.id, shape_, {"name": name})
        layer = store.create_layer(s, sites, OPERATOR, kind="mine_site", visibility="public")
        _insert(s, layer.id, site, {"name": "Pit"})
        s.commit()
    try:
        made = client.patch(f"/layers/{sites}", json={
            "sensitivity": "restricted", "generalise": "admin", "generalise_m": GRID})  # fmt: skip
        assert made.status_code == 200, made.text
        seen = callers["viewer"].get(f"/collections/{sites}/items").json()["features"]
        shown = shape(seen[0]["geometry"])
        assert shown.geom_type == "Polygon" and shown.covers(site)
        assert shown.symmetric_difference(district).area < 1e-9
        exact = client.get(f"/collections/{sites}/items").json()["features"]
        assert shape(exact[0]["geometry"]).equals(site)
    finally:
        with Session(engine) as s:
            for slug in (areas, sites):
                store.delete_layer(s, slug, OPERATOR)
            s.commit()
