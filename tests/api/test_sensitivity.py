"""Sensitive layers on every channel: a caller cleared below a layer's sensitivity sees its sites
on a 10 km grid (items, one item, exports, tiles, search), below an attribute's level not the
attribute (nor may it filter or sort on it); a cleared caller sees everything, and its reads of
restricted records are audited."""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import pyogrio
import pytest
from pyproj import Geod, Transformer
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store

GRID = 10_000
TO_M = Transformer.from_crs(4326, 3857, always_xy=True)
TO_DEG = Transformer.from_crs(3857, 4326, always_xy=True)
GEOD = Geod(ellps="WGS84")
# A 10 km cell of EPSG:3857 in Niger, far from the demo data, and two sites in it 3 km from its
# centre (so each lies in another zoom-14 tile than the centre).
CX, CY = (round(v / GRID) * GRID for v in TO_M.transform(15.3, 16.4))
SITES = {"north-east": (CX + 3000, CY + 2000), "south-west": (CX - 3000, CY - 1500)}
CENTRE = TO_DEG.transform(CX, CY)
ROLES = ("anonymous", "viewer", "editor", "admin")


def _lonlat(x: float, y: float) -> tuple[float, float]:
    return TO_DEG.transform(x, y)


@pytest.fixture(scope="module")
def layers(engine: Engine, client) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {"sites": f"sens-sites-{tag}", "holders": f"sens-holders-{tag}"}
    with Session(engine) as s:
        for key, slug in slugs.items():
            layer = store.create_layer(s, slug, OPERATOR, visibility="public")
            for n, (label, (x, y)) in enumerate(SITES.items()):
                lon, lat = _lonlat(x, y)
                store.create_feature(
                    s, layer, {"type": "Point", "coordinates": [lon, lat]},
                    {"name": f"{key}-{label}", "holder": f"Holder {n}", "code": f"C{n}"},
                    who=OPERATOR,
                )  # fmt: skip
        s.commit()
    made = client.patch(f"/layers/{slugs['sites']}",
                        json={"sensitivity": "restricted", "generalise_m": GRID})  # fmt: skip
    assert made.status_code == 200, made.text
    made = client.patch(
        f"/layers/{slugs['holders']}",
        json={"attribute_sensitivity": {"holder": "restricted", "name": "internal"}},
    )
    assert made.status_code == 200, made.text
    yield slugs
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


@pytest.fixture(scope="module")
def callers(anon, as_role):
    return {"anonymous": anon, "viewer": as_role("viewer"), "editor": as_role("editor"),
            "admin": as_role("admin")}  # fmt: skip


def _true(name: str) -> tuple[float, float]:
    return _lonlat(*SITES[name.split("-", 1)[1]])


def _check_point(lon: float, lat: float, truth: tuple[float, float], exact: bool) -> None:
    """Exact: the true point; generalised: the cell's centre, within a cell's diagonal."""
    _, _, distance = GEOD.inv(truth[0], truth[1], lon, lat)
    if exact:
        assert distance < 0.05
    else:
        assert distance <= GRID * math.sqrt(2)
        assert (lon, lat) == pytest.approx(CENTRE, abs=1e-6)


def _points(features: list[dict]) -> dict[str, tuple[float, float]]:
    return {f["properties"]["name"]: tuple(f["geometry"]["coordinates"]) for f in features}


@pytest.mark.parametrize("role", ROLES)
def test_items_and_one_item_are_generalised_below_clearance(callers, layers, role) -> None:
    c = callers[role]
    answer = c.get(f"/collections/{layers['sites']}/items")
    assert answer.status_code == 200, answer.text
    features = answer.json()["features"]
    assert len(features) == 2
    exact = role == "admin"
    for name, (lon, lat) in _points(features).items():
        _check_point(lon, lat, _true(name), exact)
    one = c.get(f"/collections/{layers['sites']}/items/{features[0]['id']}").json()
    _check_point(*one["geometry"]["coordinates"], _true(one["properties"]["name"]), exact)
    assert ("geodesic" in one) == exact or one["geometry"]["type"] == "Point"


@pytest.mark.parametrize("role", ROLES)
def test_attributes_above_clearance_are_removed(callers, layers, role) -> None:
    c = callers[role]
    features = c.get(f"/collections/{layers['holders']}/items").json()["features"]
    for feature in features:
        props = feature["properties"]
        assert ("holder" in props) == (role == "admin")
        assert ("name" in props) == (role in ("editor", "admin"))
        assert props["code"].startswith("C")
        _check_point(*feature["geometry"]["coordinates"],
                     _lonlat(*list(SITES.values())[int(props["code"][1])]), True)  # fmt: skip
    csv_rows = list(csv.DictReader(io.StringIO(
        c.get(f"/collections/{layers['holders']}/items?f=csv").text)))  # fmt: skip
    assert len(csv_rows) == 2
    assert all(bool(row.get("holder")) == (role == "admin") for row in csv_rows)


@pytest.mark.parametrize("role", ["anonymous", "viewer", "editor"])
def test_filter_and_sort_on_a_hidden_attribute_are_refused(callers, layers, role) -> None:
    c = callers[role]
    url = f"/collections/{layers['holders']}/items"
    assert c.get(url, params={"filter": "holder = 'Holder 0'"}).status_code == 400
    assert c.get(url, params={"sortby": "holder"}).status_code == 400
    assert c.get(url, params={"holder": "Holder 0"}).status_code == 400
    tile = c.get(f"/tiles/{layers['holders']}/0/0/0.mvt", params={"filter": "holder = 'x'"})
    assert tile.status_code == 400
    assert (
        "holder" not in c.get(f"/collections/{layers['holders']}/queryables").json()["properties"]
    )


def test_a_cleared_caller_filters_on_it(callers, layers) -> None:
    answer = callers["admin"].get(
        f"/collections/{layers['holders']}/items", params={"filter": "holder = 'Holder 0'"}
    )
    assert [f["properties"]["holder"] for f in answer.json()["features"]] == ["Holder 0"]


@pytest.mark.parametrize("role", ROLES)
def test_exports_are_generalised_in_every_format(callers, layers, role, tmp_path: Path) -> None:
    c = callers[role]
    exact = role == "admin"
    for fmt in ("geojson", "csv", "gpkg"):
        answer = c.get(f"/layers/{layers['sites']}/export", params={"format": fmt})
        assert answer.status_code == 200, answer.text
        path = tmp_path / f"out.{fmt}"
        path.write_bytes(answer.content)
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(answer.text)))
            wkt = {row["name"]: row[next(k for k in row if k.lower() in ("wkt", "geometry"))]
                   for row in rows}  # fmt: skip
            points = {
                n: tuple(float(v) for v in w.split("(")[1].rstrip(")").split())
                for n, w in wkt.items()
            }
        else:
            frame = pyogrio.read_dataframe(path)
            points = {n: (g.x, g.y) for n, g in zip(frame["name"], frame.geometry, strict=True)}
        assert len(points) == 2
        for name, (lon, lat) in points.items():
            _check_point(lon, lat, _true(name), exact)
    holders = json.loads(c.get(f"/layers/{layers['holders']}/export").content)
    for feature in holders["features"]:
        assert ("holder" in feature["properties"]) == exact


def _tile_features(c, slug: str, lon: float, lat: float, z: int = 14) -> list[dict]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    answer = c.get(f"/tiles/{slug}/{z}/{x}/{y}.mvt", params={"properties": "*"})
    assert answer.status_code in (200, 204), answer.text
    if not answer.content:
        return []
    return mapbox_vector_tile.decode(answer.content).get(slug, {}).get("features", [])


@pytest.mark.parametrize("role", ROLES)
def test_tiles_place_sites_no_better_than_the_grid(callers, layers, role) -> None:
    c = callers[role]
    exact = role == "admin"
    slug = layers["sites"]
    for x, y in SITES.values():
        assert bool(_tile_features(c, slug, *_lonlat(x, y))) == exact
    at_centre = _tile_features(c, slug, *CENTRE)
    assert len(at_centre) == (0 if exact else 2)
    holders = _tile_features(c, layers["holders"], *_lonlat(*SITES["north-east"]))
    assert len(holders) == 1
    assert ("holder" in holders[0]["properties"]) == exact
    assert ("name" in holders[0]["properties"]) == (role in ("editor", "admin"))


def test_a_cached_exact_tile_is_not_served_to_a_lower_caller(callers, layers) -> None:
    slug = layers["sites"]
    lon, lat = _lonlat(*SITES["north-east"])
    assert _tile_features(callers["admin"], slug, lon, lat)
    assert not _tile_features(callers["viewer"], slug, lon, lat)
    assert not _tile_features(callers["anonymous"], slug, lon, lat)


@pytest.mark.parametrize("role", ROLES)
def test_search_shows_the_generalised_place_and_no_hidden_name(callers, layers, role) -> None:
    c = callers[role]
    exact = role == "admin"
    found = c.get("/search", params={"q": "sites-north-east"}).json()["results"]
    found = [r for r in found if r["layer"] == layers["sites"]]
    assert len(found) == 1
    _check_point(*found[0]["center"], _true("x-north-east"), exact)
    hidden = c.get("/search", params={"q": "holders-north-east"}).json()["results"]
    hidden = [r for r in hidden if r["layer"] == layers["holders"]]
    assert len(hidden) == (1 if role in ("editor", "admin") else 0)


def test_reads_of_restricted_records_are_audited(callers, layers, engine: Engine) -> None:
    slug = layers["sites"]

    def count() -> int:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'read_restricted'"
                     " AND layer_slug = :slug"), {"slug": slug},
            ).scalar_one()  # fmt: skip

    before = count()
    callers["viewer"].get(f"/collections/{slug}/items")
    assert count() == before
    callers["admin"].get(f"/collections/{slug}/items")
    callers["admin"].get(f"/layers/{slug}/export")
    assert count() == before + 2
    with engine.connect() as conn:
        details = conn.execute(
            text("SELECT actor, details FROM audit_log WHERE action = 'read_restricted'"
                 " AND layer_slug = :slug ORDER BY id DESC LIMIT 1"), {"slug": slug},
        ).one()  # fmt: skip
    assert details[0] == "test-admin"
    assert details[1]["count"] == 2 and details[1]["channel"] == "export"


def test_only_an_admin_sets_sensitivity_and_sees_it(callers, layers) -> None:
    slug = layers["sites"]
    described = callers["admin"].get(f"/layers/{slug}").json()
    assert described["sensitivity"] == "restricted" and described["generalise_m"] == GRID
    assert "sensitivity" not in callers["viewer"].get(f"/layers/{slug}").json()
    assert callers["admin"].patch(f"/layers/{slug}", json={"sensitivity": "x"}).status_code == 422


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_analysis_rows_mask_attributes_and_geometries(callers, layers, role) -> None:
    c = callers[role]
    exact = role == "admin"
    body = {"source": layers["holders"], "target": layers["sites"], "source_fields": "*",
            "target_fields": "*"}  # fmt: skip
    answer = c.post("/analysis/proximity", json=body)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert len(rows) == 2
    for row in rows:
        assert ("holder" in row["source"]["properties"]) == exact
    shapes = c.post("/analysis/proximity", params={"format": "geojson"}, json=body).json()
    assert all((f["geometry"] is not None) == exact for f in shapes["features"])
    refused = c.post("/analysis/proximity", json={**body, "source_label": "holder"})
    assert refused.status_code == (200 if exact else 400)
    filtered = c.post("/analysis/proximity", json={**body, "source_filter": "holder = 'x'"})
    assert filtered.status_code == (200 if exact else 400)
