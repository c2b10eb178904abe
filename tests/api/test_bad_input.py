"""Bad input gets a clear 4xx problem that says what and where, and nothing is written."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.api.app import create_app
from geo_service.domain.access import OPERATOR
from geo_service.settings import Settings
from geo_service.store import layers as store
from tests.conftest import bearer

SITES = "bad-sites"
ZONES = "bad-zones"
ITEMS = f"/collections/{SITES}/items"
GEOJSON = {"Content-Type": "application/geo+json"}
POINT = {"type": "Point", "coordinates": [-5.0, 11.0]}


@pytest.fixture(scope="module")
def layers(engine: Engine) -> Iterator[int]:
    with Session(engine) as s:
        sites = store.create_layer(s, SITES, OPERATOR, kind="mine_site", visibility="public")
        store.create_layer(s, ZONES, OPERATOR, kind="asm_zone", visibility="public")
        fid = store.create_feature(s, sites, POINT, {"name": "Kéniéba"}, who=OPERATOR).id
        s.commit()
    yield fid
    with Session(engine) as s:
        for slug in (SITES, ZONES):
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("layers", "features", "feature_history", "audit_log", "api_keys", "jobs")
        }


def _raw(client: TestClient, method: str, url: str, body: bytes | str, **headers: str):
    data = body.encode() if isinstance(body, str) else body
    return client.request(method, url, content=data, headers={**GEOJSON, **headers})


def _feature(geometry, **properties) -> str:
    return json.dumps({"type": "Feature", "geometry": geometry, "properties": properties})


BODIES = {
    "malformed JSON": ('{"type": "Feature", "geometry": ', 400, "not valid JSON"),
    "NaN": ('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 1]}}', 400,
            "not valid JSON"),
    "Infinity": ('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, Infinity]}}',
                 400, "not valid JSON"),
    "beyond double range": ('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1e400, 1]}}',
                            400, "infinity"),
    "lone surrogate": ('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-5, 11]},'
                       ' "properties": {"name": "\\ud800"}}', 400, "surrogate"),
    "NUL in a value": ('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-5, 11]},'
                       ' "properties": {"name": "a\\u0000b"}}', 400, "NUL"),
    "deep nesting": ('{"type": "Feature", "geometry": ' + "[" * 500 + "]" * 500 + "}", 400,
                     "deeper than 64"),
    "not a Feature": (json.dumps({"type": "FeatureCollection", "features": []}), 400,
                      "GeoJSON Feature"),
    "malformed geometry": (_feature({"type": "Polygon", "coordinates": [[1, 2]]}), 422,
                           "Malformed GeoJSON geometry"),
    "ring of three positions": (
        _feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}), 422,
        "must be one of"),
    "out of range": (_feature({"type": "Point", "coordinates": [500000, 1300000]}), 422,
                     "out of longitude/latitude range"),
    "projected crs member": (json.dumps({"type": "Feature", "geometry": POINT, "properties": {},
                                         "crs": {"type": "name", "properties":
                                                 {"name": "urn:ogc:def:crs:EPSG::32629"}}}),
                             422, "32629"),
    "attributes of the wrong type": (_feature(POINT, workers="many"), 422, "workers"),
}  # fmt: skip


@pytest.mark.parametrize("name", BODIES)
def test_bad_feature_bodies_are_refused_and_nothing_is_written(
    name: str, client: TestClient, engine: Engine, layers: int
) -> None:
    body, status, fragment = BODIES[name]
    before = counts(engine)
    for method, url in (("POST", ITEMS), ("PUT", f"{ITEMS}/{layers}")):
        response = _raw(client, method, url, body)
        assert response.status_code == status, (name, method, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert fragment.lower() in response.json()["detail"].lower(), response.json()
    assert counts(engine) == before


def test_more_refusals_of_the_feature_endpoints(client, engine, layers) -> None:
    before = counts(engine)
    zone = _raw(client, "POST", f"/collections/{ZONES}/items", _feature(POINT))
    assert zone.status_code == 422 and "Point" in zone.json()["detail"]  # wrong type for the kind
    crs = _raw(client, "POST", ITEMS, _feature(POINT), **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/32629>"})  # fmt: skip
    assert crs.status_code == 422 and "32629" in crs.json()["detail"]
    for url in (f"{ITEMS}/29250142856007158595584", f"{ITEMS}/-1", f"{ITEMS}/0"):
        refused = client.get(url)
        assert refused.status_code in (404, 422) and refused.json()["status"] == refused.status_code
    for params in ({"limit": -1}, {"limit": 10**9}, {"offset": -5}, {"offset": 10**30}):
        refused = client.get(ITEMS, params=params)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == "application/problem+json"
    assert client.get(ITEMS, params={"datetime": "9999-12-31"}).status_code == 200
    assert client.get(ITEMS, params={"datetime": "0001-01-01/9999-12-31"}).status_code == 200
    assert client.get(ITEMS, params={"datetime": "yesterday"}).status_code == 400
    assert client.get(f"{ITEMS}?name=a%00b").status_code == 400
    assert counts(engine) == before


def test_sql_metacharacters_and_unicode_are_only_text(client, engine, layers) -> None:
    before = counts(engine)
    for text_ in ("' OR '1'='1", "%", "_", "\\", "Robert'); DROP TABLE features;--", "Ké"):
        search = client.get("/search", params={"q": text_})
        assert search.status_code == 200
        results = search.json()["results"]
        hits = [r["name"] for r in results if r["layer"] == SITES]
        assert hits == (["Kéniéba"] if text_ == "Ké" else []), (text_, hits)
        if text_ != "Ké":  # what a pattern would match everywhere, a text matches nowhere
            assert all(text_.lower() in (r["name"] or "").lower() for r in results), results
        filtered = client.get(ITEMS, params={"name": text_})
        assert filtered.status_code == 200 and filtered.json()["numberMatched"] == 0
    assert client.get(ITEMS, params={"name": "Kéniéba"}).json()["numberMatched"] == 1
    for slug in ("bad-sites'--", "ba%25d", "..", "x" * 300, "Ünïcode"):
        response = client.get(f"/collections/{slug}/items")
        assert response.status_code == 404, slug
        assert response.headers["content-type"] == "application/problem+json"
    for slug in ("bad'; DROP TABLE layers;--", "trailing\n", "Ünï"):
        created = client.post("/layers", json={"slug": slug})
        assert created.status_code == 400 and "slug" in created.json()["detail"].lower(), slug
    assert counts(engine) == before


def test_oversized_bodies_are_413_at_a_configurable_limit(database_url, keys, engine) -> None:
    settings = Settings()
    settings.api.max_json_mb = 0.01
    before = counts(engine)
    with TestClient(create_app(database_url, settings), headers=bearer(keys["admin"])) as small:
        big = _feature(mapping(box(-5, 11, -4.9, 11.1)), name="x" * 20_000)
        response = _raw(small, "POST", ITEMS, big)
        assert response.status_code == 413 and "0.01 MiB" in response.json()["detail"]
        fits = _raw(small, "POST", ITEMS, _feature(POINT, name="small"))
        assert fits.status_code == 201
        assert small.delete(f"{ITEMS}/{fits.json()['id']}").status_code == 204
    after = counts(engine)
    assert after["features"] == before["features"] and after["layers"] == before["layers"]


def test_bad_uploads_are_refused_and_write_nothing(client, engine, tmp_path: Path) -> None:
    before = counts(engine)
    escaping = tmp_path / "escape.zip"
    with zipfile.ZipFile(escaping, "w") as archive:
        archive.writestr("../../etc/sites.shp", b"x")
    latin1 = tmp_path / "latin1.geojson"
    latin1.write_bytes(
        json.dumps({"type": "FeatureCollection", "features": [json.loads(_feature(POINT))]})
        .replace("{}", '{"name": "Société Minière"}')
        .encode("latin-1")
    )  # é as one latin-1 byte: not UTF-8, as RFC 7946 wants
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    for path in (escaping, latin1, empty):
        response = client.post(
            "/layers/bad-upload/import", files={"file": (path.name, path.read_bytes())}
        )
        assert 400 <= response.status_code < 500, (path.name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "/tmp" not in response.json()["detail"]  # no server path in the message
    assert client.get("/layers/bad-upload").status_code == 404
    assert counts(engine) == before


def test_database_errors_are_not_passed_through(client, engine, layers) -> None:
    """A value the database refuses (an id beyond bigint in a filter) is a 4xx without the
    database's own words."""
    response = client.get(ITEMS, params={"id": "1" * 30})
    assert response.status_code < 500
    assert "psycopg" not in response.text and "SQL" not in response.text
