"""The monitoring register through the API: visits and site statuses over time (an as-of read
gives the older state), field entries sent twice (also at once) stored once, incidents verified
by a reviewer only, risks, corrective actions moving forward with an older status readable, and
photos checked by their bytes. Figures are checked against counts made by hand in the test."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.db.access import create_key
from geo_service.domain.access import OPERATOR, Role
from geo_service.domain.monitoring import CATEGORIES
from geo_service.store import layers as store
from tests.conftest import bearer

SITES = [(29.10, -1.60), (29.14, -1.62), (29.20, -1.70)]


@pytest.fixture(scope="module")
def sites(engine: Engine, client: TestClient) -> Iterator[tuple[str, list[int]]]:
    slug = f"mon-sites-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        store.create_layer(s, slug, OPERATOR, kind="mine_site", visibility="public")
        s.commit()
    ids = []
    for n, (lon, lat) in enumerate(SITES):
        made = client.post(
            f"/collections/{slug}/items",
            json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                  "properties": {"name": f"Site {n}", "minerals": ["tin"]}},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        ids.append(int(made.json()["id"]))
    yield slug, ids
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


@pytest.fixture(scope="module")
def reviewer(app, engine: Engine) -> TestClient:
    """An editor key in group `reviewer`: may verify incidents."""
    with Session(engine) as s:
        secret, _ = create_key(s, f"rev-{uuid.uuid4().hex[:6]}", Role.editor, groups=["reviewer"])
        s.commit()
    return TestClient(app, headers=bearer(secret))


def _count(engine: Engine, table: str, layer: str) -> int:
    with engine.connect() as c:
        return c.execute(
            text(f"SELECT count(*) FROM {table} t JOIN layers l ON l.id = t.layer_id "
                 "WHERE l.slug = :s"), {"s": layer},
        ).scalar_one()  # fmt: skip


def _incident(client: TestClient, slug: str, site: int, **fields) -> dict:
    body = {"layer": slug, "feature_id": site, "occurred_on": "2025-06-01",
            "category": "child_labour", "severity": "high", **fields}  # fmt: skip
    made = client.post("/monitoring/incidents", json=body)
    assert made.status_code in (200, 201), made.text
    return made.json()


def test_the_vocabulary_has_the_26_categories_in_french_and_english(client: TestClient) -> None:
    fr = client.get("/monitoring/vocabulary", headers={"Accept-Language": "fr"}).json()
    en = client.get("/monitoring/vocabulary", headers={"Accept-Language": "en"}).json()
    assert len(fr["categories"]) == len(en["categories"]) == 26
    assert len(fr["domains"]) == 7
    labels = {c["code"]: c["label"] for c in fr["categories"]}
    assert labels["worst_forms_child_labour"] == "Pires formes de travail des enfants (PFTE)"
    assert {c["code"]: c["label"] for c in en["categories"]}["water"] == "Water"
    assert len(en["stakeholders"]) == 8


def test_a_visit_and_site_statuses_over_time_read_back_as_of_an_older_day(
    client: TestClient, as_role, sites
) -> None:
    slug, (site, *_) = sites
    editor = as_role("editor")
    visit = editor.post("/monitoring/visits", json={
        "layer": slug, "feature_id": site, "visited_on": "2025-05-10", "team": "Team A",
        "workers": 40, "women": 12, "children": 3, "methods": ["mercury"],
        "armed_actors": False, "state_actors": True, "position": {"lon": 29.1001, "lat": -1.6001},
    })  # fmt: skip
    assert visit.status_code == 201, visit.text
    assert visit.json()["women"] == 12 and visit.json()["methods"] == ["mercury"]
    assert visit.json()["lon"] == pytest.approx(29.1001)
    steps = [("2025-04-01", {"qualification": "yellow", "operating": "active"}),
             ("2025-09-01", {"qualification": "red"}),
             ("2026-01-15", {"operating": "suspended", "scheme": "ITSCI"})]  # fmt: skip
    for day, fields in steps:
        made = editor.post(f"/monitoring/sites/{slug}/{site}/status",
                           json={"effective_on": day, **fields})  # fmt: skip
        assert made.status_code == 201, made.text
    then = client.get(f"/monitoring/sites/{slug}/{site}/status", params={"as_of": "2025-06-30"})
    assert (then.json()["qualification"], then.json()["operating"]) == ("yellow", "active")
    later = client.get(f"/monitoring/sites/{slug}/{site}/status", params={"as_of": "2026-02-01"})
    body = later.json()
    # Each field keeps its latest value: red from September, suspended from January.
    assert (body["qualification"], body["operating"], body["scheme"]) == (
        "red",
        "suspended",
        "ITSCI",
    )
    assert len(body["history"]) == 3
    before = client.get(f"/monitoring/sites/{slug}/{site}/status", params={"as_of": "2025-01-01"})
    assert before.json()["qualification"] == "not_assessed"
    colours = client.get("/monitoring/sites", params={"layer": slug, "as_of": "2025-06-30"}).json()
    by_id = {f["id"]: f["properties"]["qualification"] for f in colours["features"]}
    assert by_id[site] == "yellow" and set(by_id.values()) <= {"yellow", "not_assessed"}
    now = client.get("/monitoring/sites", params={"layer": slug}).json()
    assert {f["id"]: f["properties"]["qualification"] for f in now["features"]}[site] == "red"
    listed = client.get("/monitoring/visits", params={"layer": slug, "feature_id": site}).json()
    assert [v["id"] for v in listed["visits"]] == [visit.json()["id"]]


def test_bad_entries_are_refused_and_name_their_field(as_role, anon, sites) -> None:
    slug, (site, *_) = sites
    editor = as_role("editor")
    base = {"layer": slug, "feature_id": site, "visited_on": "2025-05-10"}
    more = editor.post("/monitoring/visits", json={**base, "workers": 5, "women": 6})
    assert more.status_code == 400 and "women" in more.text
    future = (date.today() + timedelta(days=3)).isoformat()
    late = editor.post("/monitoring/visits", json={**base, "visited_on": future})
    assert late.status_code == 400 and "visited_on" in late.text
    wrong = editor.post("/monitoring/incidents", json={
        "layer": slug, "feature_id": site, "occurred_on": "2025-05-01", "category": "piracy",
        "severity": "high"})  # fmt: skip
    assert wrong.status_code in (400, 422) and "category" in wrong.text
    missing = editor.post("/monitoring/visits", json={**base, "feature_id": 999_999_999})
    assert missing.status_code == 404
    assert as_role("viewer").post("/monitoring/visits", json=base).status_code == 403
    assert anon.get("/monitoring/visits", params={"layer": slug}).status_code == 401
    empty = editor.post(
        f"/monitoring/sites/{slug}/{site}/status", json={"effective_on": "2025-01-01"}
    )
    assert empty.status_code == 400


def test_an_entry_sent_twice_and_twice_at_once_is_stored_once(
    as_role, engine: Engine, sites
) -> None:
    slug, (_, site, _) = sites
    editor = as_role("editor")
    before = _count(engine, "incidents", slug)
    key = str(uuid.uuid4())
    body = {"layer": slug, "feature_id": site, "occurred_on": "2025-07-01",
            "category": "water", "severity": "low", "entry_key": key}  # fmt: skip
    first = editor.post("/monitoring/incidents", json=body)
    again = editor.post("/monitoring/incidents", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    header = str(uuid.uuid4())
    answers: list[int] = []

    def send() -> None:
        answers.append(
            editor.post("/monitoring/visits", headers={"Idempotency-Key": header},
                        json={"layer": slug, "feature_id": site, "visited_on": "2025-07-02"}
                        ).status_code
        )  # fmt: skip

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 200, 200, 201]
    assert _count(engine, "incidents", slug) == before + 1
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM monitoring_visits WHERE entry_key = :k"),
                         {"k": header}).scalar_one() == 1  # fmt: skip
    other = editor.post("/monitoring/incidents", json={**body, "feature_id": sites[1][0]})
    assert other.status_code == 409


def test_only_a_reviewer_verifies_and_only_verified_incidents_count(
    client: TestClient, as_role, reviewer: TestClient, sites
) -> None:
    slug, (_, _, site) = sites
    editor = as_role("editor")
    made = [_incident(editor, slug, site, category=c, occurred_on="2025-05-02")
            for c in ("worst_forms_child_labour", "non_state_armed_groups", "water", "water")]  # fmt: skip
    assert {m["verification"] for m in made} == {"unverified"}
    refused = editor.post(f"/monitoring/incidents/{made[0]['id']}/verification",
                          json={"verdict": "verified"})  # fmt: skip
    assert refused.status_code == 403
    for m in made[:3]:
        ok = reviewer.post(f"/monitoring/incidents/{m['id']}/verification",
                           json={"verdict": "verified", "comment": "seen by two monitors"})  # fmt: skip
        assert ok.status_code == 200 and ok.json()["verification"] == "verified"
    twice = client.post(f"/monitoring/incidents/{made[0]['id']}/verification",
                        json={"verdict": "rejected"})  # fmt: skip
    assert twice.status_code == 409
    risk = editor.put(f"/monitoring/incidents/{made[1]['id']}/risk",
                      json={"severity": 4, "likelihood": 3})  # fmt: skip
    assert risk.json()["risk"] == {"severity": 4, "likelihood": 3, "rating": 12}
    listed = client.get("/monitoring/incidents", params={
        "layer": slug, "feature_id": site, "verification": "unverified"}).json()["incidents"]  # fmt: skip
    assert [i["id"] for i in listed] == [made[3]["id"]]
    geo = client.get("/monitoring/incidents", params={"layer": slug, "feature_id": site,
                                                      "f": "geojson"}).json()  # fmt: skip
    assert len(geo["features"]) == 4
    lon, lat = SITES[2]
    assert geo["features"][0]["geometry"]["coordinates"] == pytest.approx([lon, lat])
    annex = client.get("/monitoring/incidents", params={"layer": slug, "feature_id": site,
                                                        "annex_ii": True}).json()["incidents"]  # fmt: skip
    assert {i["category"] for i in annex} == {"worst_forms_child_labour", "non_state_armed_groups"}
    figures = client.get("/monitoring/figures", params={
        "layer": slug, "subject": "incidents", "by": "domain", "from": "2025-05-02",
        "to": "2025-05-02"}).json()  # fmt: skip
    rows = {r["domain"]: (r["count"], r["unverified"]) for r in figures["rows"]}
    assert rows == {"human_rights": (1, 0), "security": (1, 0), "environment": (1, 1)}


def test_actions_move_forward_and_an_older_status_reads_back(
    client: TestClient, as_role, sites
) -> None:
    slug, (site, *_) = sites
    editor = as_role("editor")
    made = editor.post("/monitoring/actions", json={
        "layer": slug, "feature_id": site, "stakeholder": "mining_cooperatives",
        "description": "Fence the pit", "recommended_on": "2025-04-10", "due_on": "2025-06-30"})  # fmt: skip
    assert made.status_code == 201, made.text
    aid = made.json()["id"]
    assert editor.post(f"/monitoring/actions/{aid}/progress",
                       json={"status": "in_progress", "effective_on": "2025-05-01"}).status_code == 200  # fmt: skip
    assert editor.post(f"/monitoring/actions/{aid}/progress",
                       json={"status": "done", "effective_on": "2025-08-01"}).status_code == 200  # fmt: skip
    back = editor.post(f"/monitoring/actions/{aid}/progress",
                       json={"status": "in_progress", "effective_on": "2025-09-01"})  # fmt: skip
    assert back.status_code == 409
    on = {d: next(a for a in client.get("/monitoring/actions", params={
        "layer": slug, "feature_id": site, "as_of": d}).json()["actions"] if a["id"] == aid)
        for d in ("2025-04-20", "2025-07-15", "2025-09-01")}  # fmt: skip
    assert [(on[d]["status"], on[d]["overdue"]) for d in sorted(on)] == [
        ("recommended", False), ("in_progress", True), ("done", False)]  # fmt: skip
    early = client.get("/monitoring/actions", params={"layer": slug, "as_of": "2025-04-01"})
    assert aid not in [a["id"] for a in early.json()["actions"]]


def test_a_generated_programme_reports_80_9_percent_executed(
    client: TestClient, engine: Engine, sites
) -> None:
    """2,048 verified incidents in one April-to-March year; 1,098 actions, of which 500 done
    and 388 in progress: the share executed is 888 / 1,098 = 80.9 %."""
    slug = f"mon-prog-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        layer = store.create_layer(s, slug, OPERATOR, kind="mine_site", visibility="public")
        s.flush()
        site = s.execute(text("INSERT INTO features (layer_id, name, geom) VALUES "
                              "(:l, 'P', ST_SetSRID(ST_MakePoint(28.9, -2.5), 4326)) RETURNING id"),
                         {"l": layer.id}).scalar_one()  # fmt: skip
        codes = [c.code for c in CATEGORIES]
        s.execute(text(
            "INSERT INTO incidents (layer_id, feature_id, occurred_on, category, severity, verification) "
            "SELECT :l, :f, DATE '2025-04-01' + (n % 365), (CAST(:codes AS text[]))[1 + n % 26], 'medium', 'verified' "
            "FROM generate_series(0, 2047) n"), {"l": layer.id, "f": site, "codes": codes})  # fmt: skip
        s.execute(text(
            "INSERT INTO incidents (layer_id, feature_id, occurred_on, category, severity) "
            "SELECT :l, :f, DATE '2025-05-01', 'water', 'low' FROM generate_series(1, 7)"),
            {"l": layer.id, "f": site})  # fmt: skip
        s.execute(text(
            "INSERT INTO corrective_actions (layer_id, feature_id, stakeholder, description, "
            "recommended_on, status) SELECT :l, :f, 'government', 'a' || n, "
            "DATE '2025-04-01' + (n % 300), CASE WHEN n < 500 THEN 'done' WHEN n < 888 "
            "THEN 'in_progress' ELSE 'recommended' END FROM generate_series(0, 1097) n"),
            {"l": layer.id, "f": site})  # fmt: skip
        s.execute(text(
            "INSERT INTO action_progress (action_id, status, effective_on) "
            "SELECT id, status, recommended_on FROM corrective_actions "
            "WHERE layer_id = :l AND status <> 'recommended'"), {"l": layer.id})  # fmt: skip
        s.commit()
    try:
        year = {"layer": slug, "from": "2025-04-01", "to": "2026-03-31"}
        incidents = client.get(
            "/monitoring/figures", params={**year, "subject": "incidents"}
        ).json()
        assert incidents["total"]["count"] == 2048 and incidents["total"]["unverified"] == 7
        by_category = client.get("/monitoring/figures",
                                 params={**year, "subject": "incidents", "by": "category"}).json()  # fmt: skip
        expected = {
            c.code: sum(1 for n in range(2048) if n % 26 == i) for i, c in enumerate(CATEGORIES)
        }
        assert {r["category"]: r["count"] for r in by_category["rows"]} == expected
        actions = client.get("/monitoring/figures", params={**year, "subject": "actions"}).json()
        total = actions["total"]
        assert (total["recommended"], total["done"], total["in_progress"]) == (1098, 500, 388)
        assert total["share_executed"] == round(100 * 888 / 1098, 1) == 80.9
        by_year = client.get("/monitoring/figures", params={
            "layer": slug, "subject": "incidents", "by": "period"}).json()  # fmt: skip
        # 2,048 days from 1 April 2025 at n % 365: all within programme year 2025.
        assert {r["period"]: r["count"] for r in by_year["rows"]} == {"2025": 2048}
        bad = client.get(
            "/monitoring/figures", params={**year, "subject": "visits", "by": "domain"}
        )
        assert bad.status_code == 400 and "by" in bad.text
        exported = client.get("/monitoring/export/actions.csv", params={"layer": slug})
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == 1098 and sum(r["status"] != "recommended" for r in rows) == 888
        assert (
            client.get("/monitoring/export/secrets.csv", params={"layer": slug}).status_code == 400
        )
    finally:
        with Session(engine) as s:
            store.delete_layer(s, slug, OPERATOR)
            s.commit()


def _jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def test_a_photo_is_kept_with_a_thumbnail_and_a_non_image_is_refused(
    client: TestClient, as_role, sites
) -> None:
    slug, (site, *_) = sites
    editor = as_role("editor")
    visit = editor.post("/monitoring/visits", json={
        "layer": slug, "feature_id": site, "visited_on": "2025-08-01"}).json()  # fmt: skip
    data = _jpeg((1200, 900))
    sent = editor.post(f"/monitoring/visits/{visit['id']}/photos",
                       files={"file": ("pit.jpg", data, "image/jpeg")})  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert client.get(sent.json()["url"]).content == data
    thumb = client.get(sent.json()["thumbnail_url"])
    assert thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) == 320 and image.size[0] > image.size[1]
    fake = editor.post(f"/monitoring/visits/{visit['id']}/photos",
                       files={"file": ("pit.jpg", b"<html>not a photo</html>", "image/jpeg")})  # fmt: skip
    assert fake.status_code == 400 and "JPEG" in fake.text
    cut = editor.post(f"/monitoring/visits/{visit['id']}/photos",
                      files={"file": ("cut.jpg", data[: len(data) // 3], "image/jpeg")})  # fmt: skip
    assert cut.status_code == 400, cut.text
    listed = client.get("/monitoring/visits", params={"layer": slug, "feature_id": site}).json()
    assert [p["id"] for v in listed["visits"] for p in v["photos"]] == [sent.json()["id"]]


def test_an_oversized_photo_is_refused(app, as_role, sites, monkeypatch) -> None:
    slug, (site, *_) = sites
    editor = as_role("editor")
    visit = editor.post("/monitoring/visits", json={
        "layer": slug, "feature_id": site, "visited_on": "2025-08-02"}).json()  # fmt: skip
    monkeypatch.setattr(app.state.settings.monitoring, "photo_max_bytes", 1000)
    big = editor.post(f"/monitoring/visits/{visit['id']}/photos",
                      files={"file": ("big.jpg", _jpeg((800, 800)), "image/jpeg")})  # fmt: skip
    assert big.status_code == 413
