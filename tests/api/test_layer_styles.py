"""Layer titles in French and English, styles, order and who may change them (PATCH and DELETE
/layers/{slug}: an admin, or the editor who owns the layer); the palette colour of every layer;
the geodesic measures of a feature's answer, checked against pyproj."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.db.access import create_key
from geo_service.domain.access import Role
from tests.conftest import bearer

GEOD = Geod(ellps="WGS84")
# The palette of geo_service.domain.styles, written out: a change of it is a change of the maps.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#393b79", "#843c39", "#637939"]  # fmt: skip
USES = ["agriculture"] * 3 + ["forest"] * 2 + ["village"]


def _square(lon: float, lat: float, size: float = 0.01) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _collection() -> dict:
    """Six parcels near (-3.5, 9.5), where no other test puts anything, with a `usage` each."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": _square(-3.5 + 0.02 * i, 9.5),
                "properties": {"nom": f"Parcelle {i}", "usage": use, "surface": i},
            }
            for i, use in enumerate(USES)
        ],
    }


@pytest.fixture(scope="module")
def other_editor(app, engine: Engine) -> Iterator[TestClient]:
    """An editor who owns none of the layers below."""
    name = f"test-other-editor-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        secret, _ = create_key(s, name, Role.editor)
        s.commit()
    yield TestClient(app, headers=bearer(secret))


@pytest.fixture
def upload(as_role: Callable[[str], TestClient], client: TestClient) -> Iterator[str]:
    """A layer imported by test-editor (who owns it); deleted after the test if still there."""
    slug = f"styled-{uuid.uuid4().hex[:8]}"
    body = json.dumps(_collection()).encode()
    answer = as_role("editor").post(
        f"/layers/{slug}/import", files={"file": ("parcelles.geojson", body)}
    )
    assert answer.status_code == 200, answer.text
    yield slug
    client.delete(f"/layers/{slug}")


def _layer(client: TestClient, slug: str) -> dict:
    return next(layer for layer in client.get("/layers").json() if layer["slug"] == slug)


def _row(engine: Engine, slug: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT title, title_fr, title_en, style, sort_order, visibility, version "
                "FROM layers WHERE slug = :s"
            ),
            {"s": slug},
        ).one()
    return dict(row._mapping)


def test_a_new_layer_has_no_style_its_own_palette_colour_and_no_translated_title(
    client: TestClient, engine: Engine
) -> None:
    slugs = [f"palette-{uuid.uuid4().hex[:6]}-{n}" for n in range(2)]
    for slug in slugs:
        assert client.post("/layers", json={"slug": slug, "title": "Palette"}).status_code == 201
    try:
        with engine.connect() as conn:
            ids = dict(
                conn.execute(
                    text("SELECT slug, id FROM layers WHERE slug = ANY(:s)"), {"s": slugs}
                ).all()
            )
        listed = [_layer(client, slug) for slug in slugs]
        for layer in listed:
            assert layer["style"] == {}
            assert layer["title_fr"] is None and layer["title_en"] is None
            assert layer["colour"] == PALETTE[(ids[layer["slug"]] - 1) % len(PALETTE)]
            assert layer["can_manage"] is True  # the admin's client
        assert listed[0]["colour"] != listed[1]["colour"]  # consecutive layers never alike
        # A new layer comes first among those of its kind, 1000 before the one that was.
        assert listed[1]["sort_order"] == listed[0]["sort_order"] - 1000
        order = [layer["slug"] for layer in client.get("/layers").json()]
        assert order.index(slugs[1]) < order.index(slugs[0])
    finally:
        for slug in slugs:
            client.delete(f"/layers/{slug}")


def test_the_owner_retitles_restyles_reorders_and_shares_its_layer(
    upload: str, as_role, engine: Engine, client: TestClient
) -> None:
    editor = as_role("editor")
    assert _layer(editor, upload)["can_manage"] is True
    before = _row(engine, upload)
    answer = editor.patch(
        f"/layers/{upload}",
        json={
            "title_fr": "Parcelles agricoles",
            "title_en": "Farm parcels",
            "style": {"colour": "#AA3377", "by": "usage"},
            "sort_order": 5,
            "visibility": "internal",
        },
    )
    assert answer.status_code == 200, answer.text
    layer = answer.json()
    assert (layer["title_fr"], layer["title_en"]) == ("Parcelles agricoles", "Farm parcels")
    assert layer["title"] == upload  # the original title stays
    # One category per value of the attribute, coloured in the palette's order from the most
    # frequent value on; the colour given is kept, in lower case.
    frequent = [value for value, _ in Counter(USES).most_common()]
    assert layer["style"] == {
        "colour": "#aa3377",
        "by": "usage",
        "categories": dict(zip(frequent, PALETTE, strict=False)),
    }
    assert layer["colour"] == "#aa3377"
    assert layer["sort_order"] == 5 and layer["visibility"] == "internal"
    assert _row(engine, upload)["version"] == before["version"] + 1  # tiles and ETags move on
    assert _layer(as_role("viewer"), upload)["title_en"] == "Farm parcels"  # internal now

    # Categories given are kept as given; a cleared title falls back to `title`.
    again = editor.patch(
        f"/layers/{upload}",
        json={
            "title_fr": "",
            "style": {"by": "usage", "categories": {"forest": "#00aa00"}},
        },
    )
    assert again.status_code == 200, again.text
    assert again.json()["title_fr"] is None and again.json()["title_en"] == "Farm parcels"
    assert again.json()["style"] == {"by": "usage", "categories": {"forest": "#00aa00"}}
    assert again.json()["colour"] == before_colour(engine, upload)
    # A style of {} is the defaults again.
    assert editor.patch(f"/layers/{upload}", json={"style": {}}).json()["style"] == {}

    audit = client.get("/audit", params={"layer": upload, "action": "layer-update"}).json()
    first = audit["entries"][-1]
    assert first["actor"] == "test-editor"
    assert first["before"]["style"] == {} and first["after"]["style"]["by"] == "usage"
    assert first["after"]["title_en"] == "Farm parcels"


def before_colour(engine: Engine, slug: str) -> str:
    """The palette colour of the layer's id, computed here."""
    with engine.connect() as conn:
        layer_id = conn.execute(text("SELECT id FROM layers WHERE slug = :s"), {"s": slug}).one()[0]
    return PALETTE[(layer_id - 1) % len(PALETTE)]


def test_within_a_kind_layers_are_listed_in_their_order(client: TestClient) -> None:
    slugs = [f"order-{uuid.uuid4().hex[:6]}-{n}" for n in "abc"]
    for slug in slugs:
        assert client.post("/layers", json={"slug": slug}).status_code == 201
    try:
        for slug, order in zip(slugs, (30, 10, 20), strict=True):
            assert client.patch(f"/layers/{slug}", json={"sort_order": order}).status_code == 200
        listed = [layer["slug"] for layer in client.get("/layers").json()]
        assert [s for s in listed if s in slugs] == [slugs[1], slugs[2], slugs[0]]
    finally:
        for slug in slugs:
            client.delete(f"/layers/{slug}")


def test_only_an_admin_or_the_owner_may_change_or_delete_a_layer(
    upload: str, as_role, anon: TestClient, other_editor: TestClient, client: TestClient,
    engine: Engine, demo,
) -> None:  # fmt: skip
    before = _row(engine, upload)
    change = {"title_en": "Not yours", "style": {"colour": "#000000"}}
    # Another editor, a viewer, nobody: refused, and nothing written.
    refused = other_editor.patch(f"/layers/{upload}", json=change)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "admin" in refused.json()["detail"] and "owns" in refused.json()["detail"]
    assert upload not in [layer["slug"] for layer in other_editor.get("/layers").json()]
    viewer = as_role("viewer").patch(f"/layers/{upload}", json=change)
    assert viewer.status_code == 403 and "admin" in viewer.json()["detail"]
    nobody = anon.patch(f"/layers/{upload}", json=change)
    assert nobody.status_code == 401 and nobody.headers["www-authenticate"].startswith("Bearer")
    assert other_editor.delete(f"/layers/{upload}").status_code == 403
    assert as_role("viewer").delete(f"/layers/{upload}").status_code == 403
    assert anon.delete(f"/layers/{upload}").status_code == 401
    assert _row(engine, upload) == before

    # An editor may not manage layers it does not own, nor learn which exist: the demo's, one
    # that does not exist, all refused alike.
    editor = as_role("editor")
    demo_title = client.get("/layers/concessions").json()["title_en"]
    for slug in ("concessions", f"nothing-{uuid.uuid4().hex[:6]}"):
        answer = editor.patch(f"/layers/{slug}", json={"title_en": "Mine now"})
        assert answer.status_code == 403, (slug, answer.text)
        assert editor.delete(f"/layers/{slug}").status_code == 403
    assert client.get("/layers/concessions").json()["title_en"] == demo_title != "Mine now"

    # The admin may change anyone's layer; the owner deletes its own.
    assert client.patch(f"/layers/{upload}", json={"title_en": "By the admin"}).status_code == 200
    assert editor.delete(f"/layers/{upload}").status_code == 204
    assert client.get(f"/layers/{upload}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"style": {"colour": "red"}},
        {"style": {"colour": "#12345"}},
        {"style": {"categories": {"forest": "#00aa00"}}},  # categories of no attribute
        {"style": {"by": "usage", "categories": {"forest": "green"}}},
        {"style": {"by": "no_such_attribute"}},  # no feature has a value for it
        {"style": {"by": "usage", "size": 3}},
        {"style": "blue"},
        {"sort_order": 2**31},
        {"sort_order": "first"},
        {"title": ""},
        {"title_fr": "x" * 501},
        {"colour": "#00aa00"},  # a member of style, not of the layer
    ],
)
def test_bad_changes_are_problems_and_write_nothing(
    upload: str, body: dict, as_role, engine: Engine
) -> None:
    before = _row(engine, upload)
    answer = as_role("editor").patch(f"/layers/{upload}", json=body)
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"]
    assert _row(engine, upload) == before


def test_a_features_answer_measures_it_on_the_spheroid(client: TestClient, demo) -> None:
    """Area and perimeter of a title, length of a river, nothing for a site: as pyproj's Geod
    measures the geometry of the same answer."""
    title = client.get("/collections/concessions/items", params={"limit": 1}).json()["features"][0]
    polygon = client.get(f"/collections/concessions/items/{title['id']}").json()
    area, perimeter = GEOD.geometry_area_perimeter(shape(polygon["geometry"]))
    assert polygon["geodesic"]["area_ha"] == pytest.approx(abs(area) / 10_000, rel=1e-7)
    assert polygon["geodesic"]["perimeter_m"] == pytest.approx(perimeter, rel=1e-7)
    assert set(polygon["geodesic"]) == {"area_ha", "perimeter_m"}

    rivers = client.get("/collections/rivers/items", params={"limit": 5}).json()["features"]
    river = client.get(f"/collections/rivers/items/{rivers[0]['id']}").json()
    length = GEOD.geometry_length(shape(river["geometry"]))
    assert river["geodesic"] == {"length_m": pytest.approx(length, rel=1e-7)}

    site = client.get("/collections/mine-sites/items", params={"limit": 1}).json()["features"][0]
    assert client.get(f"/collections/mine-sites/items/{site['id']}").json()["geodesic"] is None
    # Pages of items are not measured: a page of a thousand parks would cost a thousand areas.
    assert "geodesic" not in title
