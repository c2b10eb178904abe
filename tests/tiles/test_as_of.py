"""Vector tiles of a past day (`as_of`), from the features' history: a title moved and renewed
since shows where and what it was then, a deleted one is back on the days it existed, one made
later is absent. The tiles are decoded with mapbox-vector-tile and placed with morecantile."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import mapbox_vector_tile
import morecantile
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store

TMS = morecantile.tms.get("WebMercatorQuad")
Z = 10
# Two places in different tiles at zoom 10 (south-west Mali), far from the demo's features.
BEFORE, AFTER, ELSEWHERE = (-11.80, 14.70), (-11.20, 14.70), (-11.50, 14.40)


def _tile(lon: float, lat: float) -> morecantile.Tile:
    return TMS.tile(lon, lat, Z)


@pytest.fixture(scope="module")
def history(engine: Engine) -> Iterator[dict[str, object]]:
    """A layer of titles written as the history trigger would have kept it:
    K-1 granted 10 Jan 2025 at BEFORE as an application, moved to AFTER and made active on
    1 Jun 2025; K-2 granted 1 Feb 2025 at ELSEWHERE, deleted 1 Sep 2025; K-3 granted 1 Aug 2025
    at AFTER."""
    slug = f"asof-titles-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        layer = store.create_layer(s, slug, OPERATOR, kind="concession", visibility="public")
        s.commit()
        layer_id = layer.id
    point = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    with engine.begin() as c:

        def current(code: str, at: tuple[float, float], status: str, since: str, v: int) -> int:
            return c.execute(
                text(
                    "INSERT INTO features (layer_id, name, properties, geom, version, created_at,"
                    f" updated_at) VALUES (:l, :code, CAST(:p AS jsonb), {point}, :v, :since,"
                    " :since) RETURNING id"
                ),
                {"l": layer_id, "code": code, "lon": at[0], "lat": at[1], "v": v, "since": since,
                 "p": json.dumps({"code": code, "status": status})},
            ).scalar_one()  # fmt: skip

        def earlier(fid: int, code: str, at: tuple[float, float], status: str, start: str,
                    end: str, operation: str) -> None:  # fmt: skip
            c.execute(
                text(
                    "INSERT INTO feature_history (feature_id, layer_id, version, operation, name,"
                    f" properties, geom, valid_from, valid_to) VALUES (:fid, :l, 1, :op, :code,"
                    f" CAST(:p AS jsonb), {point}, :start, :end)"
                ),
                {"fid": fid, "l": layer_id, "op": operation, "code": code, "lon": at[0],
                 "lat": at[1], "start": start, "end": end,
                 "p": json.dumps({"code": code, "status": status})},
            )  # fmt: skip

        k1 = current("K-1", AFTER, "active", "2025-06-01T00:00:00Z", 2)
        earlier(k1, "K-1", BEFORE, "application", "2025-01-10T00:00:00Z", "2025-06-01T00:00:00Z",
                "update")  # fmt: skip
        k2 = c.execute(text("SELECT max(id) + 1000 FROM features")).scalar_one()
        earlier(k2, "K-2", ELSEWHERE, "active", "2025-02-01T00:00:00Z", "2025-09-01T00:00:00Z",
                "delete")  # fmt: skip
        k3 = current("K-3", AFTER, "active", "2025-08-01T00:00:00Z", 1)
    yield {"slug": slug, "ids": {"K-1": k1, "K-2": k2, "K-3": k3}}
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _seen(client, slug: str, where: tuple[float, float], as_of: str | None) -> dict[str, dict]:
    """code -> properties of the features of the tile holding `where`."""
    tile = _tile(*where)
    params = {"properties": "*", **({"as_of": as_of} if as_of else {})}
    got = client.get(f"/tiles/{slug}/{tile.z}/{tile.x}/{tile.y}.mvt", params=params)
    assert got.status_code in (200, 204), got.text
    decoded = mapbox_vector_tile.decode(got.content) if got.content else {}
    return {f["properties"]["code"]: f["properties"]
            for f in decoded.get(slug, {}).get("features", [])}  # fmt: skip


@pytest.mark.parametrize(
    ("as_of", "before", "after", "elsewhere"),
    [
        ("2025-03-01", {"K-1": "application"}, {}, {"K-2": "active"}),
        ("2025-07-01", {}, {"K-1": "active"}, {"K-2": "active"}),
        ("2025-10-01T12:00:00Z", {}, {"K-1": "active", "K-3": "active"}, {}),
        (None, {}, {"K-1": "active", "K-3": "active"}, {}),
        ("2024-12-31", {}, {}, {}),
    ],
)
def test_a_tile_as_of_a_day_shows_the_layer_as_it_stood(
    anon, history, as_of, before, after, elsewhere
) -> None:
    slug = history["slug"]
    for where, expected in ((BEFORE, before), (AFTER, after), (ELSEWHERE, elsewhere)):
        seen = _seen(anon, slug, where, as_of)
        assert {code: p["status"] for code, p in seen.items()} == expected, (as_of, where)


def test_the_ogc_tile_takes_as_of_too(anon, history) -> None:
    tile = _tile(*BEFORE)
    url = f"/collections/{history['slug']}/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    then = anon.get(url, params={"f": "mvt", "as_of": "2025-03-01"})
    assert then.status_code == 200, then.text
    features = mapbox_vector_tile.decode(then.content)[history["slug"]]["features"]
    assert [f["properties"]["name"] for f in features] == ["K-1"]
    assert anon.get(url, params={"f": "mvt"}).status_code == 204  # K-1 has moved since


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01", "2999-01-01"])
def test_an_as_of_that_is_not_a_past_moment_is_refused(anon, history, bad) -> None:
    tile = _tile(*BEFORE)
    got = anon.get(f"/tiles/{history['slug']}/{tile.z}/{tile.x}/{tile.y}.mvt",
                   params={"as_of": bad})  # fmt: skip
    assert got.status_code == 400, got.text
    assert got.headers["content-type"].startswith("application/problem+json")
    assert "as_of" in got.json()["detail"]
