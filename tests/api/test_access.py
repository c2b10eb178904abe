"""Who may do what: every operation of the API against every role, every channel against each
visibility, partner keys' limits, CORS, and keys that are wrong or revoked."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.db.access import create_key, revoke_key
from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.conftest import bearer

TMS = morecantile.tms.get("WebMercatorQuad")
AREA = box(-3.02, 8.98, -2.98, 9.02)  # a square nothing else in the test data comes near
TILE = TMS.tile(-3.0, 9.0, 10)
ZXY = f"{TILE.z}/{TILE.x}/{TILE.y}"
# visibility, readers: the test keys (by role) that may read the layer besides admins
LAYERS = {
    "acc-public": ("public", {"anonymous", "viewer", "editor"}),
    "acc-internal": ("internal", {"viewer", "editor"}),
    "acc-shared": ("private", {"editor"}),  # shared with test-editor
    "acc-group": ("private", {"viewer"}),  # shared with the group "ministry"
    "acc-secret": ("private", set()),  # nobody but admins
}
ROLES = ("anonymous", "viewer", "editor", "admin")


def can_read(role: str, slug: str) -> bool:
    return role == "admin" or role in LAYERS[slug][1]


@pytest.fixture(scope="module")
def layers(engine: Engine, keys: dict[str, str]) -> Iterator[dict[str, int]]:
    """One concession over AREA in each layer, named after it; feature ids by slug."""
    ids: dict[str, int] = {}
    with Session(engine) as s:
        s.execute(text("UPDATE api_keys SET groups = '{ministry}' WHERE name = 'test-viewer'"))
        for slug, (visibility, _) in LAYERS.items():
            layer = store.create_layer(
                s, slug, OPERATOR, kind="concession", visibility=visibility,
                shared_with=["test-editor"] if slug == "acc-shared" else None,
                shared_groups=["ministry"] if slug == "acc-group" else None,
            )  # fmt: skip
            feature = store.create_feature(
                s, layer, mapping(AREA),
                {"code": f"CODE-{slug}", "holder": f"Holder of {slug}", "title_type": "exploitation",
                 "status": "active"},
                who=OPERATOR,
            )  # fmt: skip
            ids[slug] = feature.id
        s.commit()
    yield ids
    with Session(engine) as s:
        for slug in LAYERS:
            store.delete_layer(s, slug, OPERATOR)
        s.execute(text("UPDATE api_keys SET groups = '{}' WHERE name = 'test-viewer'"))
        s.commit()


@pytest.fixture(scope="module")
def clients(anon: TestClient, as_role) -> dict[str, TestClient]:
    return {"anonymous": anon, **{role: as_role(role) for role in ("viewer", "editor", "admin")}}


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in TABLES
        }


# Every table a write may touch: a refused one touches none.
TABLES = (
    "layers", "features", "feature_history", "audit_log", "api_keys", "zone_transitions",
    "zone_consents", "permit_events", "inspections", "inspection_findings", "inspection_samples",
    "sanctions", "closure_steps", "closure_censuses", "country_risk", "monitoring_visits",
    "monitoring_photos", "site_statuses", "incidents", "risks", "corrective_actions", "action_progress",
)  # fmt: skip


# -- every operation against every role --------------------------------------------------------

# The role each operation of the API needs; anything not listed here is a read that anyone may
# make (of what they may see). The test below fails when an operation is in neither.
NEEDS = {
    ("POST", "/collections/{slug}/items"): "editor",
    ("PUT", "/collections/{slug}/items/{feature_id}"): "editor",
    ("PATCH", "/collections/{slug}/items/{feature_id}"): "editor",
    ("DELETE", "/collections/{slug}/items/{feature_id}"): "editor",
    ("POST", "/collections/{slug}/items/{feature_id}/history/{version}/restore"): "editor",
    ("POST", "/layers/{slug}/import"): "editor",
    ("POST", "/layers/{slug}/import/preview"): "editor",
    ("POST", "/layers"): "admin",
    ("PATCH", "/layers/{slug}"): "admin",
    ("DELETE", "/layers/{slug}"): "admin",
    ("GET", "/keys"): "admin",
    ("POST", "/keys"): "admin",
    ("DELETE", "/keys/{name}"): "admin",
    ("GET", "/audit"): "admin",
}
# The planning workflows' writes: their requests need records made before them (a zone, a
# permit, an inspection's finding, a closure), so they go through in a test of their own.
PLANNING = {
    ("POST", "/analysis/available-land/zone"): "editor",
    ("POST", "/layers/{slug}/features/{feature_id}/consents"): "editor",
    ("POST", "/layers/{slug}/features/{feature_id}/transitions"): "editor",
    ("POST", "/layers/{slug}/features/{feature_id}/permit-events"): "editor",
    ("POST", "/layers/{slug}/features/{feature_id}/inspections"): "editor",
    ("POST", "/layers/{slug}/features/{feature_id}/sanctions"): "editor",
    (
        "POST",
        "/layers/{slug}/features/{feature_id}/sanctions/{sanction_id}/closure-steps",
    ): "editor",
    ("POST", "/layers/{slug}/features/{feature_id}/sanctions/{sanction_id}/censuses"): "editor",
    ("POST", "/country-risk/import"): "editor",
    ("POST", "/monitoring/visits"): "editor",
    ("POST", "/monitoring/visits/{visit_id}/photos"): "editor",
    ("POST", "/monitoring/sites/{layer}/{feature_id}/status"): "editor",
    ("POST", "/monitoring/incidents"): "editor",
    ("POST", "/monitoring/incidents/{incident_id}/verification"): "admin",  # or a reviewer
    ("PUT", "/monitoring/incidents/{incident_id}/risk"): "editor",
    ("POST", "/monitoring/actions"): "editor",
    ("POST", "/monitoring/actions/{action_id}/progress"): "editor",
}
READS_FOR_ANYONE = {
    ("POST", "/analysis/available-land"),
    ("POST", "/analysis/overlap"),
    ("POST", "/analysis/proximity"),
    ("POST", "/analysis/screen"),
    ("POST", "/analysis/zonal"),
}
RANK = {"anonymous": 0, "viewer": 1, "editor": 2, "admin": 3}


def test_every_operation_is_classified(client: TestClient) -> None:
    """A new endpoint must be put in NEEDS (a write) or be a GET / a listed read."""
    unclassified = [
        (method.upper(), path)
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        for method in operations
        if (method.upper(), path) not in NEEDS | PLANNING
        and method.upper() not in ("GET", "HEAD")
        and (method.upper(), path) not in READS_FOR_ANYONE
    ]
    assert unclassified == []


def _request(slug: str, fid: int) -> dict[tuple[str, str], dict[str, Any]]:
    """A valid request for each protected operation, on the public test layer."""
    point = {"type": "Feature", "geometry": mapping(AREA), "properties": {"code": "NEW-1"}}
    item = f"/collections/{slug}/items/{fid}"
    return {
        ("POST", "/collections/{slug}/items"): {"url": f"/collections/{slug}/items", "json": point},
        ("PUT", "/collections/{slug}/items/{feature_id}"): {"url": item, "json": point},
        ("PATCH", "/collections/{slug}/items/{feature_id}"): {
            "url": item, "json": {"properties": {"holder": "Changed"}}},
        ("DELETE", "/collections/{slug}/items/{feature_id}"): {"url": item},
        ("POST", "/collections/{slug}/items/{feature_id}/history/{version}/restore"): {
            "url": f"{item}/history/1/restore"},
        ("POST", "/layers/{slug}/import"): {
            "url": "/layers/acc-imported/import",
            "files": {"file": ("a.geojson", json.dumps({"type": "FeatureCollection",
                                                          "features": [point]}))}},
        ("POST", "/layers/{slug}/import/preview"): {
            "url": "/layers/acc-previewed/import/preview",
            "files": {"file": ("a.geojson", json.dumps({"type": "FeatureCollection",
                                                          "features": [point]}))}},
        ("POST", "/layers"): {"url": "/layers", "json": {"slug": "acc-created"}},
        ("PATCH", "/layers/{slug}"): {"url": f"/layers/{slug}", "json": {"title": "Renamed"}},
        ("DELETE", "/layers/{slug}"): {"url": "/layers/acc-created"},
        ("GET", "/keys"): {"url": "/keys"},
        ("POST", "/keys"): {"url": "/keys", "json": {"name": "acc-made", "role": "viewer"}},
        ("DELETE", "/keys/{name}"): {"url": "/keys/acc-made"},
        ("GET", "/audit"): {"url": "/audit"},
        **_planning_request(slug, fid, PLANNING_BODIES),
    }  # fmt: skip


# A valid body for each planning write (the ids are those of `_planning_request`'s caller).
PLANNING_BODIES: dict[str, Any] = {
    "zone": {"geometry": mapping(AREA), "name": "Zone from available land"},
    "consents": {"holder": "Holder", "date": "2026-11-30", "document_ref": "Letter 12"},
    "transitions": {"to": "proposed", "comment": "ready for review"},
    "permit-events": {"event": "renewal", "date": "2026-12-01", "new_expires": "2031-12-01"},
    "inspections": {"date": "2026-12-01", "team": ["Inspector A"],
                    "findings": [{"text": "Open pit unfenced", "severity": "critical"}]},
    "sanctions": {"kind": "closure", "date": "2026-12-02"},
    "closure-steps": {"step": "notice_served", "date": "2026-12-03"},
    "censuses": {"date": "2026-12-04", "workers": 40, "residents": 120},
}  # fmt: skip
RISK_CSV = "iso3,category,level\nATA,environmental,moderate\n"  # a country no other test rates


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


PHOTO = _png()


MONITORING_IDS = {"/monitoring/visits": "visit", "/monitoring/incidents": "incident",
                  "/monitoring/actions": "action"}  # fmt: skip


def _planning_request(
    slug: str, fid: int, bodies: dict[str, Any], ids: dict[str, int] | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    """The planning writes on feature `fid` of `slug` (zone, permit and title ids from `ids`
    where they differ; a refused request never reaches them, so any do then)."""
    ids = ids or {}
    zone = f"/layers/{ids.get('zone_layer', slug)}/features/{ids.get('zone', fid)}"
    permit = f"/layers/{ids.get('permit_layer', slug)}/features/{ids.get('permit', fid)}"
    sanction = f"{permit}/sanctions/{ids.get('sanction', 1)}"
    feature = "/layers/{slug}/features/{feature_id}"
    return {
        ("POST", "/analysis/available-land/zone"): {
            "url": "/analysis/available-land/zone",
            "json": {"layer": ids.get("zone_layer", slug), **bodies["zone"]}},
        ("POST", f"{feature}/consents"): {
            "url": f"{zone}/consents", "json": {"title_id": ids.get("title", fid),
                                                **bodies["consents"]}},
        ("POST", f"{feature}/transitions"): {
            "url": f"{zone}/transitions", "json": bodies["transitions"]},
        ("POST", f"{feature}/permit-events"): {
            "url": f"{permit}/permit-events", "json": bodies["permit-events"]},
        ("POST", f"{feature}/inspections"): {
            "url": f"{permit}/inspections", "json": bodies["inspections"]},
        ("POST", f"{feature}/sanctions"): {
            "url": f"{permit}/sanctions", "json": {"finding_id": ids.get("finding", 1),
                                                   **bodies["sanctions"]}},
        ("POST", f"{feature}/sanctions/{{sanction_id}}/closure-steps"): {
            "url": f"{sanction}/closure-steps", "json": bodies["closure-steps"]},
        ("POST", f"{feature}/sanctions/{{sanction_id}}/censuses"): {
            "url": f"{sanction}/censuses", "json": bodies["censuses"]},
        ("POST", "/country-risk/import"): {
            "url": "/country-risk/import",
            "files": {"file": ("risk.csv", RISK_CSV.encode(), "text/csv")}},
        **_monitoring_request(ids.get("permit_layer", slug), ids.get("permit", fid), ids),
    }  # fmt: skip


def _monitoring_request(
    slug: str, fid: int, ids: dict[str, int]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The monitoring writes at site `fid` of `slug`, on the visit, incident and action ids
    of `ids` (made by the writes before them)."""
    site = {"layer": slug, "feature_id": fid}
    incident = f"/monitoring/incidents/{ids.get('incident', 1)}"
    return {
        ("POST", "/monitoring/visits"): {
            "url": "/monitoring/visits", "json": {**site, "visited_on": "2026-11-30"}},
        ("POST", "/monitoring/visits/{visit_id}/photos"): {
            "url": f"/monitoring/visits/{ids.get('visit', 1)}/photos",
            "files": {"photo": ("pit.png", PHOTO, "image/png")}},
        ("POST", "/monitoring/sites/{layer}/{feature_id}/status"): {
            "url": f"/monitoring/sites/{slug}/{fid}/status",
            "json": {"effective_on": "2026-11-30", "qualification": "yellow"}},
        ("POST", "/monitoring/incidents"): {
            "url": "/monitoring/incidents",
            "json": {**site, "occurred_on": "2026-11-29", "category": "water", "severity": "low"}},
        ("POST", "/monitoring/incidents/{incident_id}/verification"): {
            "url": f"{incident}/verification", "json": {"verdict": "verified"}},
        ("PUT", "/monitoring/incidents/{incident_id}/risk"): {
            "url": f"{incident}/risk", "json": {"severity": 2, "likelihood": 3}},
        ("POST", "/monitoring/actions"): {
            "url": "/monitoring/actions",
            "json": {**site, "stakeholder": "government", "description": "Fence the pit",
                     "recommended_on": "2026-11-30"}},
        ("POST", "/monitoring/actions/{action_id}/progress"): {
            "url": f"/monitoring/actions/{ids.get('action', 1)}/progress",
            "json": {"status": "in_progress", "effective_on": "2026-12-01"}},
    }  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_what_it_may_not_do(role, clients, layers, engine) -> None:
    """Below the role an operation needs: 401 without a key (with WWW-Authenticate), 403 with
    one, and the database unchanged."""
    before = counts(engine)
    for (method, path), request in _request("acc-public", layers["acc-public"]).items():
        needed = (NEEDS | PLANNING)[(method, path)]
        if RANK[role] >= RANK[needed]:
            continue
        url = request.pop("url")
        response = clients[role].request(method, url, **request)
        expected = 401 if role == "anonymous" else 403
        assert response.status_code == expected, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
        else:
            assert needed in response.json()["detail"]
    assert counts(engine) == before


def test_each_role_may_do_what_it_is_given(clients, layers, engine) -> None:
    """At the role an operation needs, it goes through (in an order where each step makes
    sense: create, change, restore, delete; a key made and revoked; a layer made and deleted)."""
    order = [
        ("POST", "/collections/{slug}/items", "editor", 201),
        ("PATCH", "/collections/{slug}/items/{feature_id}", "editor", 200),
        ("PUT", "/collections/{slug}/items/{feature_id}", "editor", 200),
        ("POST", "/collections/{slug}/items/{feature_id}/history/{version}/restore", "editor", 200),
        ("DELETE", "/collections/{slug}/items/{feature_id}", "editor", 204),
        ("POST", "/layers/{slug}/import", "editor", 200),
        ("POST", "/layers/{slug}/import/preview", "editor", 200),
        ("POST", "/layers", "admin", 201),
        ("PATCH", "/layers/{slug}", "admin", 200),
        ("DELETE", "/layers/{slug}", "admin", 204),
        ("GET", "/keys", "admin", 200),
        ("POST", "/keys", "admin", 201),
        ("DELETE", "/keys/{name}", "admin", 204),
        ("GET", "/audit", "admin", 200),
    ]
    assert {(m, p) for m, p, _, _ in order} == set(NEEDS)
    with Session(engine) as s:
        layer = store.create_layer(s, "acc-work", OPERATOR, kind="concession")
        scratch = store.create_feature(
            s, layer, mapping(AREA), {"code": "SCRATCH"}, who=OPERATOR
        ).id
        s.commit()
    requests = _request("acc-work", scratch)
    for method, path, role, status in order:
        request = dict(requests[(method, path)])
        response = clients[role].request(method, request.pop("url"), **request)
        assert response.status_code == status, (method, path, response.text)
    editor = clients["editor"]
    assert "acc-imported" in [x["slug"] for x in editor.get("/layers").json()]  # the owner's
    for slug in ("acc-imported", "acc-work"):
        assert clients["admin"].delete(f"/layers/{slug}").status_code == 204


def test_each_planning_write_goes_through_at_its_role(clients, engine) -> None:
    """The planning writes at the role they need, each on the records the ones before made: a
    draft zone from available land, a title holder's consent to it, its move to proposed; a
    permit renewed, inspected, the finding sanctioned by a closure, its first step, a census;
    country risk ratings imported."""
    with Session(engine) as s:
        titles = store.create_layer(s, "acc-plan-titles", OPERATOR, kind="concession")
        title = store.create_feature(
            s, titles, mapping(AREA), {"code": "T-1", "holder": "Holder"}, who=OPERATOR
        ).id
        store.create_layer(s, "acc-plan-zones", OPERATOR, kind="asm_zone")
        permits = store.create_layer(s, "acc-plan-permits", OPERATOR, kind="asm_permit")
        permit = store.create_feature(
            s, permits, mapping(AREA.centroid),
            {"category": "mining", "holder": "Coop", "issued": "2021-12-01",
             "expires": "2026-12-31"},
            who=OPERATOR,
        ).id  # fmt: skip
        s.commit()
    ids = {"zone_layer": "acc-plan-zones", "permit_layer": "acc-plan-permits", "title": title,
           "permit": permit}  # fmt: skip
    try:
        for op, role in PLANNING.items():
            request = dict(_planning_request("acc-plan-zones", 0, PLANNING_BODIES, ids)[op])
            response = clients[role].request(op[0], request.pop("url"), **request)
            assert response.status_code in (200, 201), (op, response.text)
            made = response.json()
            if op[1] == "/analysis/available-land/zone":
                ids["zone"] = made["id"]
            elif op[1].endswith("/inspections"):
                ids["finding"] = made["findings"][0]["id"]
            elif op[1].endswith("/sanctions"):
                ids["sanction"] = made["id"]
            elif op[1] in MONITORING_IDS:
                ids[MONITORING_IDS[op[1]]] = made["id"]
    finally:
        for slug in ("acc-plan-titles", "acc-plan-zones", "acc-plan-permits"):
            assert clients["admin"].delete(f"/layers/{slug}").status_code == 204
        with engine.begin() as conn:  # ratings have no DELETE of their own
            conn.execute(text("DELETE FROM country_risk WHERE iso3 = 'ATA'"))


# -- every channel against each visibility -----------------------------------------------------


def _visible_slugs(response) -> set[str]:
    return {slug for slug in LAYERS if slug in response.text}


@pytest.mark.parametrize("role", ROLES)
def test_every_channel_shows_each_role_only_what_it_may_read(role, clients, layers) -> None:
    c = clients[role]
    readable = {slug for slug in LAYERS if can_read(role, slug)}
    # Listings: collections, layers, search, TileJSON of several.
    assert {x["id"] for x in c.get("/collections").json()["collections"]} & set(LAYERS) == readable
    assert {x["slug"] for x in c.get("/layers").json()} & set(LAYERS) == readable
    found = {r["layer"] for r in c.get("/search", params={"q": "CODE-acc"}).json()["results"]}
    assert found == readable
    for slug, fid in layers.items():
        ok = slug in readable
        item = f"/collections/{slug}/items"
        channels = {
            "collection": c.get(f"/collections/{slug}"),
            "queryables": c.get(f"/collections/{slug}/queryables"),
            "items": c.get(item),
            "items-csv": c.get(f"{item}?f=csv"),
            "item": c.get(f"{item}/{fid}"),
            "history": c.get(f"{item}/{fid}/history"),
            "layer": c.get(f"/layers/{slug}"),
            "export": c.get(f"/layers/{slug}/export", params={"format": "geojson"}),
            "tile": c.get(f"/tiles/{slug}/{ZXY}.mvt"),
            "tilejson": c.get(f"/tiles/{slug}/tilejson.json"),
            "tilesets": c.get(f"/collections/{slug}/tiles"),
            "ogc-tile": c.get(
                f"/collections/{slug}/tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"
            ),
            "embed": c.get(f"/embed?layers={slug}"),
            "overlap": c.post("/analysis/overlap", json={"source": slug, "target": slug}),
            "proximity": c.post("/analysis/proximity", json={"source": slug, "target": slug}),
        }
        for channel, response in channels.items():
            if ok:
                assert response.status_code == 200, (role, slug, channel, response.text)
            else:
                assert response.status_code == 404, (role, slug, channel, response.text)
                assert (
                    f"CODE-{slug}" not in response.text and f"Holder of {slug}" not in response.text
                )
        if ok:
            tile = mapbox_vector_tile.decode(channels["tile"].content)
            assert [f["properties"]["code"] for f in tile[slug]["features"]] == [f"CODE-{slug}"]
            public = LAYERS[slug][0] == "public"
            for name in ("tile", "item", "items"):
                cache = channels[name].headers.get("cache-control", "")
                assert ("private" in cache) == (not public), (slug, name, cache)
        combined = c.get(f"/tiles/tilejson.json?layers=acc-public,{slug}")
        assert combined.status_code == (200 if ok else 404)
    # Screening a zone drawn over all five titles names the readable ones only.
    screened = c.post("/analysis/screen", json={"geometry": mapping(AREA.buffer(0.001))}).json()
    titles = {t["layer"] for t in screened["conflicts"]["concessions"]}
    assert titles & set(LAYERS) == readable
    assert all(f"Holder of {s}" not in json.dumps(screened) for s in set(LAYERS) - readable)
    # A saved zone of a layer one may not read cannot be screened by its id.
    secret_id = layers["acc-secret"]
    screened_by_id = c.post("/analysis/screen", json={"zone_id": secret_id})
    assert screened_by_id.status_code == (200 if role == "admin" else 404)


def test_jobs_belong_to_whoever_started_them(clients, layers) -> None:
    started = clients["editor"].post(
        "/analysis/overlap?async=true", json={"source": "acc-shared", "target": "acc-public"}
    )
    assert started.status_code == 202
    href = started.json()["href"]
    assert clients["editor"].get(href).status_code == 200
    assert clients["admin"].get(href).status_code == 200
    assert clients["viewer"].get(href).status_code == 404
    assert clients["anonymous"].get(href).status_code == 404


def test_pmtiles_archives_publish_public_layers_only(session, tmp_path) -> None:
    from geo_service.errors import Forbidden
    from geo_service.tiles.pmtiles import export

    layer = store.create_layer(
        session, "acc-pm", OPERATOR, kind="concession", visibility="internal"
    )
    store.create_feature(session, layer, mapping(AREA), {"code": "PM"}, who=OPERATOR)
    with pytest.raises(Forbidden, match="internal"):
        export(session.connection(), "acc-pm", tmp_path / "a.pmtiles", maxzoom=2)
    summary = export(
        session.connection(), "acc-pm", tmp_path / "a.pmtiles", maxzoom=2, allow_private=True
    )
    assert summary["tiles"] > 0


# -- partner keys, CORS, wrong and revoked keys ------------------------------------------------


@pytest.fixture(scope="module")
def partner(engine: Engine, layers) -> str:
    with Session(engine) as s:
        secret, _ = create_key(
            s, "acc-partner", "viewer", layers=["acc-public", "acc-internal"],
            origins=["https://partner.example"], tiles_only=True,
        )  # fmt: skip
        s.commit()
    return secret


def test_a_partner_key_serves_its_layers_tiles_from_its_origins(anon, partner, layers) -> None:
    good = {"Origin": "https://partner.example"}
    tile = f"/tiles/acc-internal/{ZXY}.mvt"
    assert anon.get(tile, headers={**good, **bearer(partner)}).status_code == 200
    assert anon.get(f"{tile}?key={partner}", headers=good).status_code == 200  # as a URL
    referred = {"Referer": "https://partner.example/maps/mines.html"}
    assert anon.get(tile, headers={**referred, "X-API-Key": partner}).status_code == 200
    elsewhere = anon.get(tile, headers={"Origin": "https://other.example", **bearer(partner)})
    assert elsewhere.status_code == 403 and "https://partner.example" in elsewhere.json()["detail"]
    assert anon.get(tile, headers=bearer(partner)).status_code == 403  # no origin at all
    # Its layers only, whatever else it could read as a viewer; tiles only.
    other = anon.get(f"/tiles/acc-group/{ZXY}.mvt", headers={**good, **bearer(partner)})
    assert other.status_code == 404
    items = anon.get("/collections/acc-internal/items", headers={**good, **bearer(partner)})
    assert items.status_code == 403 and "tiles only" in items.json()["detail"]
    page = anon.get(f"/embed?layers=acc-internal&key={partner}", headers=referred)
    assert page.status_code == 200 and f"key={partner}" in page.text  # passed on to its tiles
    tilejson = anon.get(f"/tiles/acc-internal/tilejson.json?key={partner}", headers=good)
    assert tilejson.json()["tiles"][0].endswith(f"?key={partner}")


def test_cors_answers_web_origins_but_not_null(anon, layers) -> None:
    tile = f"/tiles/acc-public/{ZXY}.mvt"
    origin = anon.get(tile, headers={"Origin": "https://newsroom.example"})
    assert origin.headers["access-control-allow-origin"] == "https://newsroom.example"
    assert "access-control-allow-origin" not in anon.get(tile, headers={"Origin": "null"}).headers
    preflight = anon.options(
        "/collections/acc-public/items",
        headers={"Origin": "https://newsroom.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )  # fmt: skip
    assert preflight.status_code == 200
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


def test_wrong_and_revoked_keys_are_refused(anon, engine, layers) -> None:
    wrong = anon.get("/layers", headers=bearer("gs_not-a-key"))
    assert wrong.status_code == 401 and wrong.json()["title"] == "Access key needed"
    with Session(engine) as s:
        secret, _ = create_key(s, "acc-leaving", "editor")
        s.commit()
    assert anon.get("/auth/me", headers=bearer(secret)).json()["name"] == "acc-leaving"
    with Session(engine) as s:
        revoke_key(s, "acc-leaving")
        s.commit()
    assert anon.get("/auth/me", headers=bearer(secret)).status_code == 401
    assert anon.get("/auth/me").json() == {
        "authenticated": False, "name": None, "role": None, "groups": [], "layers": None,
        "tiles_only": False, "can": {"read": True, "edit": False, "manage": False},
    }  # fmt: skip


def test_keys_are_stored_hashed_and_listed_without_secrets(client, engine) -> None:
    made = client.post("/keys", json={"name": "acc-listed", "role": "editor", "groups": ["a"]})
    secret = made.json()["key"]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys WHERE name = 'acc-listed'"))
        assert secret not in stored.scalar_one() and len(secret) > 40
    listed = client.get("/keys").json()
    assert secret not in json.dumps(listed)
    (row,) = [k for k in listed if k["name"] == "acc-listed"]
    assert row["role"] == "editor" and row["prefix"] == secret[:10] and row["groups"] == ["a"]
    assert client.post("/keys", json={"name": "acc-listed", "role": "viewer"}).status_code == 409
    assert client.delete("/keys/acc-listed").status_code == 204
