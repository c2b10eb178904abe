"""Safeguards of the ASM zone lifecycle: gazetting is screened and a failing rule needs an
override with a reason (kept in history and the audit log); a zone in force is retired, not
deleted, except by an admin. Areas are checked with pyproj.Geod, overlaps with shapely."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from pyproj import Geod
from shapely.geometry import box, mapping, shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.demo import DEMO
from geo_service.domain.access import OPERATOR
from geo_service.settings import get_settings
from geo_service.store import layers as store

GEOD = Geod(ellps="WGS84")
# The Ténéré, far from every demo and Natural Earth feature: only the zone's own size counts.
LON, LAT = 12.0, 20.0
SMALL = box(LON, LAT, LON + 0.003, LAT + 0.003)  # about 10 ha
LARGE = box(LON + 0.1, LAT, LON + 0.13, LAT + 0.03)  # about 1,000 ha


def _hectares(geometry) -> float:
    area, _ = GEOD.geometry_area_perimeter(geometry)
    return abs(area) / 10_000


@pytest.fixture(scope="module")
def zones(engine: Engine, demo) -> Iterator[str]:
    slug = f"safeguard-zones-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        store.create_layer(s, slug, OPERATOR, kind="asm_zone", visibility="public")
        s.commit()
    yield slug
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _in_consultation(client, zones: str, geometry) -> str:
    """A new zone brought to the last step before gazetting; its URL."""
    made = client.post(
        f"/collections/{zones}/items",
        json={"type": "Feature", "geometry": mapping(geometry), "properties": {"code": "Z-1"}},
    )
    assert made.status_code == 201, made.text
    url = f"/collections/{zones}/items/{made.json()['id']}"
    for status in ("proposed", "in_consultation"):
        moved = client.patch(url, json={"properties": {"status": status}, "comment": "next"})
        assert moved.status_code == 200, moved.text
    return url


def _gazette(client, url: str, **extra):
    body = {
        "properties": {"status": "gazetted", "decree_ref": "Arrêté 2026-031"},
        "comment": "Arrêté 2026-031",
        **extra,
    }
    return client.patch(url, json=body)


def test_the_test_zones_are_the_size_they_claim() -> None:
    limit = get_settings().screening.max_area_ha
    assert _hectares(SMALL) < limit / 10
    assert _hectares(LARGE) > 1.5 * limit


def test_gazetting_a_zone_that_fails_a_rule_is_refused_with_the_rules(as_role, zones) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, LARGE)
    before = editor.get(url)
    refused = _gazette(editor, url)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert [rule["id"] for rule in problem["rules"]] == ["max_area"]
    rule = problem["rules"][0]
    assert rule["code"] == "area_over_max"
    assert rule["params"]["area_ha"] == pytest.approx(_hectares(LARGE), rel=1e-6)
    assert rule["reason"] in problem["detail"] and "override" in problem["detail"]
    assert problem["where"]["field"] == "override"
    # Nothing written: same status, same version.
    after = editor.get(url)
    assert after.json()["properties"]["status"] == "in_consultation"
    assert after.headers["etag"] == before.headers["etag"]


def test_the_refusal_speaks_the_requests_language(as_role, zones) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, LARGE)
    french = editor.patch(
        url,
        json={
            "properties": {"status": "gazetted", "decree_ref": "Arrêté 2026-031"},
            "comment": "Arrêté",
        },
        headers={"Accept-Language": "fr-FR,fr;q=0.9"},
    )
    assert french.status_code == 409
    assert french.json()["rules"][0]["reason"].startswith("Superficie de la zone")
    english = _gazette(editor, url)
    assert english.json()["rules"][0]["reason"].startswith("Zone is ")


def test_an_override_with_a_reason_gazettes_and_is_kept_in_history_and_audit(
    as_role, zones, engine
) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, LARGE)
    reason = "Décret présidentiel: zone historique d'orpaillage, limite levée"
    done = _gazette(editor, url, override={"reason": f"  {reason} "})
    assert done.status_code == 200, done.text
    assert done.json()["properties"]["status"] == "gazetted"
    history = editor.get(f"{url}/history").json()["versions"]
    last = history[-1]
    assert (last["change"], last["comment"]) == ("status", "Arrêté 2026-031")
    assert last["override"]["reason"] == reason
    assert [rule["code"] for rule in last["override"]["rules"]] == ["area_over_max"]
    assert all(v["override"] is None for v in history[:-1])
    feature_id = int(url.rsplit("/", 1)[1])
    entries = as_role("admin").get("/audit", params={"feature": feature_id}).json()["entries"]
    assert entries[0]["action"] == "status"
    assert entries[0]["details"]["override"]["reason"] == reason
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT details -> 'override' ->> 'reason' FROM audit_log"
                " WHERE feature_id = :id AND action = 'status' ORDER BY id DESC LIMIT 1"
            ),
            {"id": feature_id},
        ).scalar_one()
    assert stored == reason


def test_the_override_reason_stands_in_for_a_missing_comment(as_role, zones) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, LARGE)
    done = editor.patch(
        url,
        json={
            "properties": {"status": "gazetted", "decree_ref": "Arrêté 2026-031"},
            "override": {"reason": "Décret 12"},
        },
    )
    assert done.status_code == 200, done.text
    last = editor.get(f"{url}/history").json()["versions"][-1]
    assert last["comment"] == "Décret 12" and last["override"]["reason"] == "Décret 12"


def test_a_zone_that_overlaps_an_active_exploitation_title_is_refused(as_role, demo) -> None:
    titles = json.loads((DEMO / "concessions.geojson").read_text(encoding="utf-8"))["features"]
    title = next(
        t
        for t in titles
        if t["properties"]["title_type"] == "exploitation" and t["properties"]["status"] == "active"
    )
    inside = shape(title["geometry"]).representative_point().buffer(0.004, cap_style="square")
    assert shape(title["geometry"]).contains(inside)
    editor = as_role("editor")
    url = _in_consultation(editor, "asm-zones", inside)
    try:
        refused = _gazette(editor, url)
        assert refused.status_code == 409
        failing = {rule["id"]: rule for rule in refused.json()["rules"]}
        assert "active_exploitation_titles" in failing
        assert title["properties"]["code"] in failing["active_exploitation_titles"]["reason"]
    finally:
        assert as_role("admin").delete(url).status_code == 204


def test_a_passing_zone_gazettes_without_override(as_role, zones) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, SMALL)
    done = _gazette(editor, url)
    assert done.status_code == 200, done.text
    assert done.json()["properties"]["status"] == "gazetted"
    assert editor.get(f"{url}/history").json()["versions"][-1]["override"] is None


def test_a_zone_created_gazetted_is_screened_too(as_role, zones) -> None:
    """No way round the rule: a zone posted straight as gazetted is screened as a move is."""
    editor = as_role("editor")
    body = {
        "type": "Feature",
        "geometry": mapping(LARGE),
        "properties": {"status": "gazetted", "decree_ref": "Arrêté 2026-031"},
    }
    refused = editor.post(f"/collections/{zones}/items", json=body)
    assert refused.status_code == 409
    assert [rule["id"] for rule in refused.json()["rules"]] == ["max_area"]
    made = editor.post(
        f"/collections/{zones}/items", json={**body, "override": {"reason": "Décret de 1998"}}
    )
    assert made.status_code == 201, made.text
    history = editor.get(f"{made.headers['location']}/history").json()["versions"]
    assert [(v["change"], v["comment"]) for v in history] == [("create", "Décret de 1998")]
    assert history[0]["override"]["reason"] == "Décret de 1998"
    draft = {**body, "properties": {"status": "draft"}, "override": {"reason": "why not"}}
    assert editor.post(f"/collections/{zones}/items", json=draft).status_code == 400


def test_the_demo_gazetted_zone_carries_its_reason(client, demo) -> None:
    zones = client.get("/collections/asm-zones/items", params={"code": "ZOP-KGB-01"}).json()
    (zone,) = zones["features"]
    assert _hectares(shape(zone["geometry"])) > get_settings().screening.max_area_ha
    history = client.get(f"/collections/asm-zones/items/{zone['id']}/history").json()
    first = history["versions"][0]
    assert first["override"]["reason"].startswith("Gazetted by its decree")


def test_a_gazetting_is_screened_in_the_shape_it_is_given(as_role, zones) -> None:
    """A move that also redraws the zone is screened with the new outline, not the old one."""
    editor = as_role("editor")
    url = _in_consultation(editor, zones, SMALL)
    grown = editor.patch(
        url,
        json={
            "geometry": mapping(box(LON, LAT, LON + 0.03, LAT + 0.03)),
            "properties": {"status": "gazetted", "decree_ref": "Arrêté 2026-031"},
            "comment": "enlarged and gazetted",
        },
    )
    assert grown.status_code == 409
    assert [rule["id"] for rule in grown.json()["rules"]] == ["max_area"]


@pytest.mark.parametrize(
    "override",
    [
        "just because",
        {},
        {"reason": ""},
        {"reason": "   "},
        {"reason": 12},
        {"reason": "ok", "by": "me"},
        {"reason": "x" * 2001},
        [],
    ],
)
def test_a_malformed_override_is_refused_and_nothing_written(as_role, zones, override) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, LARGE)
    version = editor.get(url).headers["etag"]
    refused = _gazette(editor, url, override=override)
    assert refused.status_code == 400
    assert refused.json()["where"] == {"field": "override"}
    assert editor.get(url).headers["etag"] == version


def test_an_override_of_another_move_is_refused(as_role, zones) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, LARGE)
    refused = editor.patch(
        url,
        json={
            "properties": {"status": "retired"},
            "comment": "abandoned",
            "override": {"reason": "no need"},
        },
    )
    assert refused.status_code == 400 and "only to a move to 'gazetted'" in refused.json()["detail"]
    assert editor.get(url).json()["properties"]["status"] == "in_consultation"


def test_the_override_is_refused_to_a_viewer_like_any_change(as_role, zones) -> None:
    url = _in_consultation(as_role("editor"), zones, LARGE)
    refused = _gazette(as_role("viewer"), url, override={"reason": "I say so"})
    assert refused.status_code == 403


def test_an_editor_cannot_delete_a_gazetted_zone_but_retires_it(as_role, zones) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, SMALL)
    assert _gazette(editor, url).status_code == 200
    refused = editor.delete(url)
    assert refused.status_code == 403
    assert "retire it instead" in refused.json()["detail"]
    assert editor.get(url).json()["properties"]["status"] == "gazetted"
    retired = editor.patch(
        url, json={"properties": {"status": "retired"}, "comment": "Arrêté d'abrogation 2027-4"}
    )
    assert retired.status_code == 200
    assert editor.get(url).status_code == 200  # still there, as retired
    history = editor.get(f"{url}/history").json()["versions"]
    assert [v["properties"]["status"] for v in history][-2:] == ["gazetted", "retired"]
    assert history[-1]["comment"] == "Arrêté d'abrogation 2027-4"


def test_an_admin_may_delete_a_gazetted_zone_and_history_keeps_it(as_role, zones) -> None:
    editor = as_role("editor")
    url = _in_consultation(editor, zones, SMALL)
    assert _gazette(editor, url).status_code == 200
    assert as_role("admin").delete(url, params={"comment": "entered twice"}).status_code == 204
    assert editor.get(url).status_code == 404
    history = editor.get(f"{url}/history").json()["versions"]
    assert history[-1]["properties"]["status"] == "gazetted"
