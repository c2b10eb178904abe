"""The monitoring register through the API: visits and site statuses over time (as of a past
day gives the older state), idempotent sends (sequential and concurrent), incident verification
by a reviewer only, risk rating, action progress forward only with overdue derived, photos
checked by content and size, and the sites' colours as of a day."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.db.access import create_key
from geo_service.domain.access import OPERATOR, Role
from geo_service.store import layers as store

LON, LAT = 17.3, 18.4
TODAY = date.today()


def _day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


@pytest.fixture(scope="module")
def sites(engine: Engine, client) -> Iterator[tuple[str, list[int]]]:
    slug = f"mon-sites-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        store.create_layer(s, slug, OPERATOR, kind="mine_site", visibility="public")
        s.commit()
    ids = []
    for i in range(2):
        made = client.post(
            f"/collections/{slug}/items",
            json={"type": "Feature", "properties": {},
                  "geometry": {"type": "Point", "coordinates": [LON + i / 10, LAT]}},
        )  # fmt: skip
        if made.status_code != 201:
            made = client.post(
                f"/collections/{slug}/items",
                json={"type": "Feature", "properties": {"name": f"Site {i}"},
                      "geometry": {"type": "Point", "coordinates": [LON + i / 10, LAT]}},
            )  # fmt: skip
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    yield slug, ids
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return answer.json()


def test_visits_and_statuses_over_time(as_role, sites, anon) -> None:
    slug, (site, _) = sites
    editor = as_role("editor")
    for ago, workers in ((30, 40), (5, 55)):
        made = editor.post("/monitoring/visits", json={
            "layer": slug, "feature_id": site, "visited_on": _day(ago), "workers": workers,
            "women": 10, "children": 2, "methods": ["mercury"],
            "position": {"lon": LON, "lat": LAT}})  # fmt: skip
        assert made.status_code == 201, made.text
    assert made.json()["position"]["coordinates"] == [LON, LAT]
    listed = editor.get(
        "/monitoring/visits", params={"layer": slug, "feature_id": site, "from": _day(10)}
    ).json()["visits"]
    assert [v["workers"] for v in listed] == [55]
    bad = _problem(
        editor.post(
            "/monitoring/visits",
            json={
                "layer": slug,
                "feature_id": site,
                "visited_on": _day(1),
                "workers": 3,
                "women": 4,
            },
        ),
        400,
    )
    assert "women" in bad["detail"]
    _problem(
        editor.post(
            "/monitoring/visits", json={"layer": slug, "feature_id": site, "visited_on": _day(-3)}
        ),
        400,
    )
    _problem(
        editor.post(
            "/monitoring/visits", json={"layer": slug, "feature_id": 2**40, "visited_on": _day(1)}
        ),
        404,
    )
    _problem(
        editor.post(
            "/monitoring/visits",
            json={
                "layer": slug,
                "feature_id": site,
                "visited_on": _day(1),
                "methods": ["dynamite"],
            },
        ),
        422,
    )
    _problem(
        as_role("viewer").post(
            "/monitoring/visits", json={"layer": slug, "feature_id": site, "visited_on": _day(1)}
        ),
        403,
    )
    assert anon.get("/monitoring/visits", params={"layer": slug}).status_code in (401, 403)

    url = f"/monitoring/sites/{slug}/{site}/status"
    for body in ({"effective_on": _day(60), "qualification": "green", "operating": "active"},
                 {"effective_on": _day(20), "qualification": "red"},
                 {"effective_on": _day(10), "operating": "suspended"}):  # fmt: skip
        assert editor.post(url, json=body).status_code == 201
    _problem(editor.post(url, json={"effective_on": _day(1), "qualification": "blue"}), 422)
    old = editor.get(url, params={"as_of": _day(40)}).json()
    assert (old["qualification"], old["operating"]) == ("green", "active")
    mid = editor.get(url, params={"as_of": _day(15)}).json()
    assert (mid["qualification"], mid["operating"]) == ("red", "active")
    now = editor.get(url).json()
    assert (now["qualification"], now["operating"]) == ("red", "suspended")
    assert len(now["history"]) == 3 and len(old["history"]) == 1

    colours = editor.get("/monitoring/sites", params={"layer": slug, "as_of": _day(40)}).json()
    by_id = {f["id"]: f["properties"] for f in colours["features"]}
    # A site never assessed (no status, no qualification of its own) is "not assessed".
    assert by_id[site]["qualification"] == "green"
    assert by_id[sites[1][1]]["qualification"] == "not_assessed"
    today = editor.get("/monitoring/sites", params={"layer": slug}).json()
    assert {f["id"]: f["properties"]["qualification"] for f in today["features"]}[site] == "red"


def test_same_entry_key_makes_one_row(as_role, sites, engine) -> None:
    slug, (site, _) = sites
    editor = as_role("editor")
    key = f"form-{uuid.uuid4()}"
    body = {"layer": slug, "feature_id": site, "visited_on": _day(2), "entry_key": key}
    first = editor.post("/monitoring/visits", json=body)
    again = editor.post("/monitoring/visits", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    header_key = f"hdr-{uuid.uuid4()}"
    body2 = {"layer": slug, "feature_id": site, "occurred_on": _day(2), "category": "water",
             "severity": "low"}  # fmt: skip
    codes = []

    def send() -> None:
        codes.append(
            editor.post(
                "/monitoring/incidents", json=body2, headers={"Idempotency-Key": header_key}
            ).status_code
        )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 201]
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM monitoring_visits WHERE entry_key = :k"),
                           {"k": key}) == 1  # fmt: skip
        assert conn.scalar(text("SELECT count(*) FROM incidents WHERE entry_key = :k"),
                           {"k": header_key}) == 1  # fmt: skip


def test_incident_verification_and_risk(as_role, client, sites, engine, app) -> None:
    slug, (_, site) = sites
    editor = as_role("editor")
    made = editor.post("/monitoring/incidents", json={
        "layer": slug, "feature_id": site, "occurred_on": _day(3),
        "category": "worst_forms_child_labour", "severity": "high"})  # fmt: skip
    assert made.status_code == 201, made.text
    incident = made.json()
    assert incident["verification"] == "unverified" and incident["annex_ii"] == "serious_abuses"
    _problem(editor.post("/monitoring/incidents", json={
        "layer": slug, "feature_id": site, "occurred_on": _day(3), "category": "theft",
        "severity": "high"}), 422)  # fmt: skip
    url = f"/monitoring/incidents/{incident['id']}/verification"
    _problem(editor.post(url, json={"verdict": "verified"}), 403)
    with Session(engine) as s:
        secret, _ = create_key(s, f"rev-{uuid.uuid4().hex[:6]}", Role.viewer, groups=["reviewer"])
        s.commit()
    from fastapi.testclient import TestClient

    reviewer = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    done = reviewer.post(url, json={"verdict": "verified", "comment": "seen"})
    assert done.status_code == 200, done.text
    assert done.json()["verification"] == "verified" and done.json()["verified_by"]
    _problem(client.post(url, json={"verdict": "rejected"}), 409)
    listed = editor.get(
        "/monitoring/incidents", params={"layer": slug, "annex_ii": "serious_abuses"}
    )
    assert [i["id"] for i in listed.json()["incidents"]] == [incident["id"]]
    geo = editor.get("/monitoring/incidents", params={"layer": slug, "f": "geojson"}).json()
    assert geo["features"][0]["geometry"]["coordinates"] == pytest.approx([LON + 0.1, LAT])
    sites_now = editor.get("/monitoring/sites", params={"layer": slug}).json()
    props = {f["id"]: f["properties"] for f in sites_now["features"]}[site]
    assert props["incidents_verified"] == 1
    # As of yesterday the incident had occurred but was not verified yet (the verdict is today's).
    yesterday = {"layer": slug, "feature_id": site, "as_of": _day(1)}
    then = editor.get("/monitoring/incidents", params=yesterday).json()["incidents"]
    assert [(i["id"], i["verification"]) for i in then] == [(incident["id"], "unverified")]
    before = editor.get("/monitoring/incidents", params={**yesterday, "as_of": _day(4)}).json()
    assert before["incidents"] == []
    then_sites = editor.get("/monitoring/sites", params={"layer": slug, "as_of": _day(1)}).json()
    counts = {f["id"]: f["properties"] for f in then_sites["features"]}[site]
    assert (counts["incidents_verified"], counts["incidents_unverified"]) == (0, 1)
    rated = editor.put(f"/monitoring/incidents/{incident['id']}/risk",
                       json={"severity": 4, "likelihood": 3})  # fmt: skip
    assert rated.status_code == 200 and rated.json()["rating"] == 12
    _problem(editor.put(f"/monitoring/incidents/{incident['id']}/risk",
                        json={"severity": 6, "likelihood": 3}), 422)  # fmt: skip


def test_action_progress_as_of_and_overdue(as_role, sites) -> None:
    slug, (site, _) = sites
    editor = as_role("editor")
    made = editor.post(
        "/monitoring/actions",
        json={
            "layer": slug,
            "feature_id": site,
            "stakeholder": "mining_cooperatives",
            "description": "Fence the pit",
            "recommended_on": _day(30),
            "due_on": _day(10),
        },
    )
    assert made.status_code == 201, made.text
    action = made.json()
    assert action["status_as_of"] == "recommended" and action["overdue"] is True
    _problem(editor.post("/monitoring/actions", json={
        "layer": slug, "feature_id": site, "stakeholder": "aliens", "description": "x",
        "recommended_on": _day(3)}), 422)  # fmt: skip
    url = f"/monitoring/actions/{action['id']}/progress"
    assert (
        editor.post(url, json={"status": "in_progress", "effective_on": _day(20)}).status_code
        == 201
    )
    _problem(editor.post(url, json={"status": "in_progress", "effective_on": _day(5)}), 409)
    done = editor.post(url, json={"status": "done", "effective_on": _day(5)})
    assert done.status_code == 201 and done.json()["status"] == "done"
    assert done.json()["overdue"] is False
    _problem(editor.post(url, json={"status": "in_progress", "effective_on": _day(1)}), 409)

    def as_of(ago: int) -> dict:
        found = editor.get("/monitoring/actions", params={"layer": slug, "as_of": _day(ago)})
        return {a["id"]: a for a in found.json()["actions"]}

    assert action["id"] not in as_of(40)
    assert as_of(25)[action["id"]]["status_as_of"] == "recommended"
    assert as_of(8)[action["id"]]["status_as_of"] == "in_progress"
    assert as_of(8)[action["id"]]["overdue"] is True
    assert as_of(15)[action["id"]]["overdue"] is False


def _image(fmt: str, size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 30)).save(out, fmt)
    return out.getvalue()


def test_photos_checked_by_content_and_size(as_role, sites, app) -> None:
    slug, (site, _) = sites
    editor = as_role("editor")
    visit = editor.post("/monitoring/visits", json={
        "layer": slug, "feature_id": site, "visited_on": _day(1)}).json()  # fmt: skip
    url = f"/monitoring/visits/{visit['id']}/photos"
    png = _image("PNG")
    made = editor.post(url, files={"photo": ("pit.jpg", png, "image/jpeg")})
    assert made.status_code == 201, made.text
    assert made.json()["content_type"] == "image/png"
    full = editor.get(made.json()["url"])
    assert full.content == png and full.headers["content-type"] == "image/png"
    thumb = Image.open(io.BytesIO(editor.get(made.json()["thumbnail_url"]).content))
    limit = app.state.settings.monitoring.thumbnail_px
    assert thumb.format == "JPEG" and max(thumb.size) == limit
    assert thumb.size == (limit, limit * 600 // 800)
    listed = editor.get("/monitoring/visits", params={"layer": slug, "feature_id": site}).json()
    photos = {v["id"]: v["photos"] for v in listed["visits"]}[visit["id"]]
    assert [p["thumbnail_url"] for p in photos] == [made.json()["thumbnail_url"]]
    _problem(editor.post(url, files={"photo": ("x.jpg", b"GIF89a not really", "image/jpeg")}),
             415)  # fmt: skip
    old = app.state.settings.monitoring.photo_max_bytes
    app.state.settings.monitoring.photo_max_bytes = len(png) - 1
    try:
        _problem(editor.post(url, files={"photo": ("pit.png", png, "image/png")}), 413)
    finally:
        app.state.settings.monitoring.photo_max_bytes = old


def test_vocabulary_in_french(as_role) -> None:
    found = as_role("viewer").get("/monitoring/vocabulary", headers={"Accept-Language": "fr"})
    assert found.status_code == 200
    labels = {c["code"]: c["label"] for c in found.json()["categories"]}
    assert labels["water"] == "Eau" and len(labels) == 26


GRID = 10_000


def test_a_sensitive_layers_sites_visits_and_incidents_are_generalised(
    as_role, anon, client, engine
) -> None:
    """A restricted site layer: below its level every position (site, visit, incident) is the
    centre of its grid cell of EPSG:3857 and the informant is gone; an admin sees them exact."""
    from pyproj import Transformer

    to_m = Transformer.from_crs(4326, 3857, always_xy=True)
    to_deg = Transformer.from_crs(3857, 4326, always_xy=True)
    slug = f"mon-secret-{uuid.uuid4().hex[:6]}"
    true_site, true_visit = (12.345, 13.456), (12.351, 13.449)
    with Session(engine) as s:
        layer = store.create_layer(s, slug, OPERATOR, kind="mine_site", visibility="public")
        fid = store.create_feature(s, layer, {"type": "Point", "coordinates": list(true_site)},
                                   {"name": "Secret pit"}, who=OPERATOR).id  # fmt: skip
        s.commit()
    try:
        made = client.patch(f"/layers/{slug}", json={"sensitivity": "restricted",
                                                    "generalise_m": GRID})  # fmt: skip
        assert made.status_code == 200, made.text
        editor = as_role("editor")
        position = {"lon": true_visit[0], "lat": true_visit[1]}
        assert editor.post("/monitoring/visits", json={
            "layer": slug, "feature_id": fid, "visited_on": _day(2), "position": position,
        }).status_code == 201  # fmt: skip
        assert editor.post("/monitoring/incidents", json={
            "layer": slug, "feature_id": fid, "occurred_on": _day(2), "severity": "high",
            "category": "worst_forms_child_labour", "reported_by": "Informant A",
            "position": position,
        }).status_code == 201  # fmt: skip

        def cell(lon: float, lat: float) -> tuple[float, float]:
            x, y = to_m.transform(lon, lat)
            return to_deg.transform(round(x / GRID) * GRID, round(y / GRID) * GRID)

        def seen(who) -> dict[str, object]:
            site = who.get("/monitoring/sites", params={"layer": slug}).json()["features"][0]
            visit = who.get("/monitoring/visits", params={"layer": slug}).json()["visits"][0]
            geo = who.get("/monitoring/incidents", params={"layer": slug, "f": "geojson"}).json()
            one = who.get(f"/monitoring/incidents/{geo['features'][0]['id']}").json()
            return {"site": site["geometry"]["coordinates"],
                    "visit": visit["position"]["coordinates"],
                    "incident": geo["features"][0]["geometry"]["coordinates"],
                    "incident_position": one["position"]["coordinates"],
                    "one_point": one["point"]["coordinates"],
                    "reported_by": one.get("reported_by", "absent"),
                    "name": site["properties"]["name"]}  # fmt: skip

        admin = seen(client)
        assert admin["site"] == pytest.approx(true_site) and admin["name"] == "Secret pit"
        assert admin["visit"] == pytest.approx(true_visit)
        assert admin["incident"] == pytest.approx(true_visit)
        assert admin["reported_by"] == "Informant A"
        for who in (as_role("viewer"), editor):
            got = seen(who)
            assert got["site"] == pytest.approx(cell(*true_site), abs=1e-6)
            for key in ("visit", "incident", "incident_position", "one_point"):
                assert got[key] == pytest.approx(cell(*true_visit), abs=1e-6), key
        assert seen(as_role("viewer"))["reported_by"] == "absent"
        assert seen(editor)["reported_by"] == "Informant A"  # internal: cleared for informants
        assert anon.get("/monitoring/sites", params={"layer": slug}).status_code in (401, 403)
    finally:
        with Session(engine) as s:
            store.delete_layer(s, slug, OPERATOR)
            s.commit()


def test_the_demo_comes_with_a_monitoring_programme(client, demo, engine) -> None:
    """The demo's sites carry two programme years of monitoring (geo_service/demo_monitoring.py):
    each site assessed by June 2025 as its own attribute says, and the figures of its verified
    incidents as SQL counts them."""
    with engine.connect() as c:
        verified = c.scalar(text(
            "SELECT count(*) FROM incidents i JOIN layers l ON l.id = i.layer_id WHERE"
            " l.slug = 'mine-sites' AND i.verification = 'verified'"
            " AND i.occurred_on BETWEEN '2025-04-01' AND '2026-03-31'"))  # fmt: skip
        visits = c.scalar(text(
            "SELECT count(*) FROM monitoring_visits v JOIN layers l ON l.id = v.layer_id"
            " WHERE l.slug = 'mine-sites'"))  # fmt: skip
    assert verified > 0 and visits >= 48
    figures = client.get("/monitoring/figures", params={
        "subject": "incidents", "layer": "mine-sites", "year": 2025}).json()  # fmt: skip
    assert figures["total"] == verified
    early = client.get("/monitoring/sites", params={"layer": "mine-sites", "as_of": "2025-06-01"})
    items = client.get("/collections/mine-sites/items", params={"limit": 100}).json()
    own = {f["id"]: f["properties"]["qualification"] for f in items["features"]}
    assert {f["id"]: f["properties"]["qualification"] for f in early.json()["features"]} == own
