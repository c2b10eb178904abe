"""Monitoring figures, CSV exports and the Step 5 report (issue 18), over rows written with
plain SQL; every expected number is counted by hand here."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store


def _layer(engine: Engine, client: TestClient, sites: int) -> tuple[str, list[int]]:
    slug = f"fig-{uuid.uuid4().hex[:8]}"
    with Session(engine) as s:
        store.create_layer(s, slug, OPERATOR, kind="mine_site", visibility="public")
        s.commit()
    ids = []
    for n in range(sites):
        made = client.post(
            f"/collections/{slug}/items",
            json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.5 + n, 12]},
                  "properties": {"name": f"Site {n}", "province": f"P{n}",
                                 "minerals": ["gold", "tin"] if n == 0 else ["gold"]}},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        ids.append(int(made.json()["id"]))
    return slug, ids


# (site index, occurred_on, category, verification)
SMALL = [
    (0, "2025-05-01", "worst_forms_child_labour", "verified"),  # human rights, Annex II, 2025
    (0, "2025-06-01", "child_labour", "verified"),  # human rights, not Annex II, 2025
    (0, "2026-02-01", "corruption", "verified"),  # legality, Annex II, 2025 (Feb 2026)
    (1, "2026-04-02", "corruption", "verified"),  # legality, Annex II, 2026
    (1, "2026-05-01", "water", "verified"),  # environment, 2026
    (1, "2026-05-02", "water", "unverified"),  # not counted, its own column
    (1, "2026-05-03", "water", "rejected"),  # never counted
]


@pytest.fixture(scope="module")
def small(engine: Engine, client: TestClient) -> Iterator[tuple[str, list[int]]]:
    slug, ids = _layer(engine, client, 2)
    with engine.begin() as c:
        layer_id = c.execute(text("SELECT id FROM layers WHERE slug = :s"), {"s": slug}).scalar()
        made = []
        for site, day, category, verification in SMALL:
            made.append(c.execute(
                text("INSERT INTO incidents (layer_id, feature_id, occurred_on, category, severity,"
                     " verification, description, position) VALUES (:l, :f, :d, :c, 'high', :v,"
                     " 'secret', ST_SetSRID(ST_MakePoint(-1.5, 12), 4326)) RETURNING id"),
                {"l": layer_id, "f": ids[site], "d": day, "c": category, "v": verification},
            ).scalar())  # fmt: skip
        # three actions on site 0: one done, one in progress, one only recommended and overdue
        for n, (status, incident) in enumerate(
            [("done", made[0]), ("in_progress", made[2]), (None, made[1])]
        ):
            action = c.execute(
                text("INSERT INTO corrective_actions (layer_id, feature_id, incident_id,"
                     " stakeholder, description, recommended_on, due_on, status) VALUES"
                     " (:l, :f, :i, 'government', 'act', '2025-07-01', '2025-09-01',"
                     " coalesce(:s, 'recommended')) RETURNING id"),
                {"l": layer_id, "f": ids[0], "i": incident, "s": status},
            ).scalar()  # fmt: skip
            if status:
                c.execute(
                    text("INSERT INTO action_progress (action_id, status, effective_on)"
                         " VALUES (:a, :s, :d)"),
                    {"a": action, "s": status, "d": f"2025-08-0{n + 1}"},
                )  # fmt: skip
    yield slug, ids
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _get(client: TestClient, slug: str, **params) -> dict:
    got = client.get("/monitoring/figures", params={"layer": slug, **params})
    assert got.status_code == 200, got.text
    return got.json()


WIDE = {"from": "2025-01-01", "to": "2027-12-31"}


def test_incidents_by_domain_count_only_verified(client: TestClient, small) -> None:
    slug, _ = small
    got = _get(client, slug, subject="incidents", by="domain", **WIDE)
    rows = {r["domain"]: (r["count"], r["unverified"]) for r in got["rows"]}
    assert rows == {"human_rights": (2, 0), "legality": (2, 0), "environment": (1, 1)}
    assert got["total"] == 5


def test_incidents_by_category_site_and_period(client: TestClient, small) -> None:
    slug, ids = small
    by_cat = _get(client, slug, subject="incidents", by="category", **WIDE)
    assert {r["category"]: r["count"] for r in by_cat["rows"]} == {
        "worst_forms_child_labour": 1, "child_labour": 1, "corruption": 2, "water": 1,
    }  # fmt: skip
    by_site = _get(client, slug, subject="incidents", by="site", **WIDE)
    assert {r["site"]: r["count"] for r in by_site["rows"]} == {ids[0]: 3, ids[1]: 2}
    # programme years run April to March: February 2026 belongs to 2025
    by_year = _get(client, slug, subject="incidents", by="period", **WIDE)
    assert {r["period"]: r["count"] for r in by_year["rows"]} == {2025: 3, 2026: 2}
    cross = _get(client, slug, subject="incidents", by=["site", "domain"], **WIDE)
    assert {(r["site"], r["domain"]): r["count"] for r in cross["rows"]} == {
        (ids[0], "human_rights"): 2, (ids[0], "legality"): 1,
        (ids[1], "legality"): 1, (ids[1], "environment"): 1,
    }  # fmt: skip
    minerals = _get(client, slug, subject="incidents", by="mineral", **WIDE)
    assert {r["mineral"]: r["count"] for r in minerals["rows"]} == {"gold": 5, "tin": 3}
    assert "note" in minerals
    province = _get(client, slug, subject="incidents", by="province", **WIDE)
    assert {r["province"]: r["count"] for r in province["rows"]} == {"P0": 3, "P1": 2}


def test_annex_ii_only(client: TestClient, small) -> None:
    slug, _ = small
    got = _get(client, slug, subject="incidents", by="annex_ii", annex_ii_only="true", **WIDE)
    assert {r["annex_ii"]: r["count"] for r in got["rows"]} == {
        "serious_abuses": 1, "bribery_misrepresentation": 2,
    }  # fmt: skip
    assert got["total"] == 3


def test_actions_share_executed_and_overdue(client: TestClient, small) -> None:
    slug, _ = small
    got = _get(client, slug, subject="actions", as_of="2025-12-31", **WIDE)
    assert (got["total"], got["done"], got["in_progress"], got["overdue"]) == (3, 1, 1, 2)
    assert got["share_executed"] == round(100 * 2 / 3, 1)
    # before any progress, nothing was executed
    early = _get(client, slug, subject="actions", as_of="2025-07-15", **WIDE)
    assert (early["total"], early["share_executed"]) == (3, 0.0)


def test_a_running_period_stands_as_of_today_so_an_action_due_later_is_not_overdue(
    engine: Engine, client: TestClient
) -> None:
    """Without `as_of`, the programme year under way is read as it stands today, not as of its
    end in March: an action due tomorrow is open, not overdue (the dashboard's default)."""
    slug, ids = _layer(engine, client, 1)
    today = date.today()
    with engine.begin() as c:
        c.execute(
            text("INSERT INTO corrective_actions (layer_id, feature_id, stakeholder, description,"
                 " recommended_on, due_on, status) VALUES (:l, :f, 'government', 'act', :r, :d,"
                 " 'recommended')"),
            {"l": _layer_id(c, slug), "f": ids[0], "r": today, "d": today + timedelta(days=1)},
        )  # fmt: skip
    got = _get(client, slug, subject="actions")
    assert got["as_of"] == today.isoformat()
    assert (got["total"], got["overdue"]) == (1, 0)
    later = _get(client, slug, subject="actions", as_of=(today + timedelta(days=2)).isoformat())
    assert (later["total"], later["overdue"]) == (1, 1)


def test_small_cells_suppressed_for_viewer(as_role, small) -> None:
    slug, _ = small
    viewer = as_role("viewer")
    got = _get(viewer, slug, subject="incidents", by="domain", **WIDE)
    assert all(r["count"] is None and r["suppressed"] for r in got["rows"])
    by_site = _get(viewer, slug, subject="incidents", by=["site", "domain"], **WIDE)
    assert "human_rights" not in {r["domain"] for r in by_site["rows"]}
    editor = _get(as_role("editor"), slug, subject="incidents", by="domain", **WIDE)
    assert not any(r.get("suppressed") for r in editor["rows"])


def test_anonymous_may_not_read(anon: TestClient, small) -> None:
    slug, _ = small
    assert anon.get("/monitoring/figures", params={"layer": slug}).status_code in (401, 403)


def test_csv_exports(client: TestClient, as_role, small) -> None:
    for table in ("visits", "photos", "site_statuses", "incidents", "risks", "actions",
                  "action_progress"):  # fmt: skip
        got = client.get(f"/monitoring/export/{table}.csv", params=WIDE)
        assert got.status_code == 200, got.text
        assert not got.content.startswith(b"\xef\xbb\xbf")
    full = list(csv.DictReader(io.StringIO(client.get("/monitoring/export/incidents.csv",
                                                      params=WIDE).text)))  # fmt: skip
    assert {"secret"} <= {r["description"] for r in full}
    assert any(r["verification"] == "unverified" for r in full)
    assert any(r["lon"] == "-1.5" for r in full)
    limited = list(csv.DictReader(io.StringIO(as_role("viewer").get(
        "/monitoring/export/incidents.csv", params=WIDE).text)))  # fmt: skip
    assert limited and all(r["verification"] == "verified" for r in limited)
    assert "description" not in limited[0] and "lon" not in limited[0]
    bad = client.get("/monitoring/export/keys.csv")
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")


@pytest.fixture(scope="module")
def programme(engine: Engine, client: TestClient) -> Iterator[str]:
    """Programme year 2031: 2,048 verified Annex II incidents over 4 sites, 1,098 actions, of
    which 500 done and 388 in progress."""
    slug, ids = _layer(engine, client, 4)
    with engine.begin() as c:
        layer_id = c.execute(text("SELECT id FROM layers WHERE slug = :s"), {"s": slug}).scalar()
        c.execute(
            text("INSERT INTO incidents (layer_id, feature_id, occurred_on, category, severity,"
                 " verification) SELECT :l, (CAST(:ids AS bigint[]))[1 + n % 4],"
                 " DATE '2031-04-01' + n % 365, CASE WHEN n % 2 = 0 THEN 'corruption'"
                 " ELSE 'forced_labour' END, 'high', 'verified' FROM generate_series(0, 2047) n"),
            {"l": layer_id, "ids": ids},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO corrective_actions (layer_id, feature_id, incident_id, stakeholder,"
                 " description, recommended_on, status) SELECT :l, i.feature_id, i.id,"
                 " 'government', 'act', i.occurred_on, 'recommended' FROM incidents i"
                 " WHERE i.layer_id = :l ORDER BY i.id LIMIT 1098"),
            {"l": layer_id},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO action_progress (action_id, status, effective_on)"
                 " SELECT id, CASE WHEN rn <= 500 THEN 'done' ELSE 'in_progress' END,"
                 " recommended_on FROM (SELECT id, recommended_on, row_number() OVER"
                 " (ORDER BY id) rn FROM corrective_actions WHERE layer_id = :l) a"
                 " WHERE rn <= 888"),
            {"l": layer_id},
        )  # fmt: skip
    yield slug
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


YEAR_2031 = {"from": "2031-04-01", "to": "2032-03-31"}


def test_programme_share_executed(client: TestClient, programme: str) -> None:
    incidents = _get(client, programme, subject="incidents", **YEAR_2031)
    assert incidents["total"] == 2048
    actions = _get(client, programme, subject="actions", by="period", **YEAR_2031)
    assert actions["total"] == 1098
    assert actions["share_executed"] == 80.9
    assert actions["rows"][0]["share_executed"] == 80.9


def test_step5_report(client: TestClient, programme: str) -> None:
    page = client.get("/monitoring/report", params={"year": 2031, "lang": "en"})
    assert page.status_code == 200, page.text
    assert "80.9 %" in page.text
    assert "Bribery and fraudulent misrepresentation of the origin of minerals" in page.text
    assert "Serious abuses" in page.text and "2031-04-01" in page.text
    assert "@media print" in page.text
    french = client.get("/monitoring/report", params={"year": 2031, "lang": "fr"})
    assert "80,9 %" in french.text
    pdf = client.get("/monitoring/report", params={"year": 2031, "format": "pdf"})
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


# -- visits, sites, zones, titles and tailings; provinces; readable layers -----------------------
# Far from any other test's data: sites in the Southern Ocean, in a public "country" holding a
# public "region"; a private "district" inside the region is never a province for anyone.
COUNTRY = "POLYGON((100 -51, 103 -51, 103 -49, 100 -49, 100 -51))"
REGION = "POLYGON((100.5 -50.5, 101.5 -50.5, 101.5 -49.5, 100.5 -49.5, 100.5 -50.5))"
DISTRICT = "POLYGON((100.9 -50.1, 101.1 -50.1, 101.1 -49.9, 100.9 -49.9, 100.9 -50.1))"
BEFORE = "2026-06-30"  # a day on which every feature below had its first version


def _slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _insert(c, layer_id: int, name: str, properties: dict, wkt: str) -> int:
    """A feature written straight to the table, as it was on 1 January 2026."""
    return c.execute(
        text("INSERT INTO features (layer_id, name, properties, geom, created_at, updated_at)"
             " VALUES (:l, :n, CAST(:p AS jsonb), ST_GeomFromText(:g, 4326), '2026-01-01',"
             " '2026-01-01') RETURNING id"),
        {"l": layer_id, "n": name, "p": json.dumps(properties), "g": wkt},
    ).scalar_one()  # fmt: skip


def _layer_id(c, slug: str) -> int:
    return c.execute(text("SELECT id FROM layers WHERE slug = :s"), {"s": slug}).scalar_one()


@pytest.fixture(scope="module")
def region(engine: Engine) -> Iterator[dict]:
    """Layers of sites, zones, titles and tailings, with visits, statuses and one incident;
    site S3 and zone Z3 changed today (S3 deleted, Z3 gazetted), S2 requalified today."""
    made = {
        "bounds": _slug("fig-bounds"), "secret": _slug("fig-secret"), "sites": _slug("fig-sites"),
        "zones": _slug("fig-zones"), "titles": _slug("fig-titles"),
        "tailings": _slug("fig-tailings"),
    }  # fmt: skip
    kinds = {"sites": "mine_site", "zones": "asm_zone", "titles": "concession",
             "tailings": "tailings_facility"}  # fmt: skip
    with Session(engine) as s:
        store.create_layer(s, made["bounds"], OPERATOR, theme="admin_boundary")
        store.create_layer(s, made["secret"], OPERATOR, theme="admin_boundary",
                           visibility="private")  # fmt: skip
        for name, kind in kinds.items():
            store.create_layer(s, made[name], OPERATOR, kind=kind)
        s.commit()
    ids: dict[str, int] = {}
    with engine.begin() as c:
        layer = {name: _layer_id(c, slug) for name, slug in made.items()}
        _insert(c, layer["bounds"], "Country X", {}, COUNTRY)
        _insert(c, layer["bounds"], "Region A", {}, REGION)
        _insert(c, layer["secret"], "Secret district", {}, DISTRICT)
        sites = [
            ("S0", {"province": "P0", "minerals": ["gold", "tin"]}, "POINT(100.2 -50.8)"),
            ("S1", {"minerals": ["gold"]}, "POINT(101 -50)"),  # in the region (and district)
            ("S2", {"minerals": ["diamond"], "qualification": "red"}, "POINT(110 -50)"),
            ("S3", {}, "POINT(100.3 -50.3)"),  # in the country only
        ]
        for name, props, wkt in sites:
            ids[name] = _insert(c, layer["sites"], name, props, wkt)
        for name, props, wkt in [
            ("Z1", {"status": "gazetted", "province": "P0"}, REGION),
            ("Z2", {"status": "draft"}, REGION),
            ("Z3", {"status": "proposed"}, DISTRICT),
            ("T1", {"title_type": "exploitation", "status": "active"}, COUNTRY),
            ("T2", {"title_type": "exploration", "status": "application"}, REGION),
            ("T3", {"title_type": "exploitation", "status": "expired"}, DISTRICT),
            ("F1", {"consequence": "high", "status": "active"}, "POINT(101 -50)"),
            ("F2", {"consequence": "extreme", "status": "closed"}, "POINT(110 -50)"),
        ]:
            kind = {"Z": "zones", "T": "titles", "F": "tailings"}[name[0]]
            ids[name] = _insert(c, layer[kind], name, props, wkt)
        # (site, visited_on, workers, women, children, methods, armed actors)
        for site, day, workers, women, children, methods, armed in [
            ("S0", "2026-04-10", 30, 9, 2, ["mercury"], True),
            ("S0", "2026-05-03", 20, 5, 0, ["gravity"], False),
            ("S1", "2026-05-20", 12, 4, None, ["mercury"], None),
            ("S2", "2026-06-01", None, None, None, [], True),
            ("S1", "2025-12-01", 8, 1, 1, ["mercury"], False),  # programme year 2025
        ]:
            c.execute(
                text("INSERT INTO monitoring_visits (layer_id, feature_id, visited_on, workers,"
                     " women, children, methods, armed_actors) VALUES (:l, :f, :d, :w, :wo, :ch,"
                     " CAST(:m AS text[]), :a)"),
                {"l": layer["sites"], "f": ids[site], "d": day, "w": workers, "wo": women,
                 "ch": children, "m": methods, "a": armed},
            )  # fmt: skip
        for site, day, qualification, operating in [
            ("S0", "2026-01-15", "green", "active"),
            ("S0", "2026-09-01", None, "suspended"),
            ("S0", "2026-10-01", "red", None),
            ("S1", "2026-05-01", "yellow", "inactive"),
            ("S1", "2026-08-01", None, "reopened"),
        ]:
            c.execute(
                text("INSERT INTO site_statuses (layer_id, feature_id, effective_on,"
                     " qualification, operating) VALUES (:l, :f, :d, :q, :o)"),
                {"l": layer["sites"], "f": ids[site], "d": day, "q": qualification, "o": operating},
            )  # fmt: skip
        c.execute(
            text("INSERT INTO incidents (layer_id, feature_id, occurred_on, category, severity,"
                 " verification) VALUES (:l, :f, '2026-05-20', 'water', 'low', 'verified')"),
            {"l": layer["sites"], "f": ids["S1"]},
        )  # fmt: skip
    with engine.begin() as c:  # today: S2 requalified, S3 deleted, Z3 gazetted
        c.execute(
            text("UPDATE features SET properties = properties || '{\"qualification\": \"green\"}'"
                 " WHERE id = :id"), {"id": ids["S2"]},
        )  # fmt: skip
        c.execute(text("DELETE FROM features WHERE id = :id"), {"id": ids["S3"]})
        c.execute(
            text("UPDATE features SET properties = properties || '{\"status\": \"gazetted\"}'"
                 " WHERE id = :id"), {"id": ids["Z3"]},
        )  # fmt: skip
        today = c.execute(text("SELECT current_date")).scalar_one().isoformat()
    yield {"slugs": made, "ids": ids, "today": today}
    with Session(engine) as s:
        for slug in made.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


YEAR_2026 = {"year": 2026}


def _rows(got: dict, key: str | tuple[str, ...], *counts: str) -> dict:
    keys = (key,) if isinstance(key, str) else key
    out = {}
    for r in got["rows"]:
        k = r[keys[0]] if len(keys) == 1 else tuple(r[x] for x in keys)
        out[k] = r[counts[0]] if len(counts) == 1 else tuple(r[c] for c in counts)
    return out


PEOPLE = ("visits", "workers", "women", "children", "mercury", "armed_actors")


def test_visits_by_province_falls_back_on_the_public_region(client: TestClient, region) -> None:
    slug = region["slugs"]["sites"]
    got = _get(client, slug, subject="visits", by="province", **YEAR_2026)
    assert got["from"] == "2026-04-01" and got["to"] == "2027-03-31"
    # S0 says P0 itself; S1 lies in Region A (the private district, smaller, is not used);
    # S2 lies in no boundary.
    assert _rows(got, "province", *PEOPLE) == {
        "P0": (2, 50, 14, 2, 1, 1),
        "Region A": (1, 12, 4, 0, 1, 0),
        None: (1, 0, 0, 0, 0, 1),
    }
    assert (got["total"], got["workers"], got["women"], got["children"]) == (4, 62, 18, 2)
    assert (got["mercury"], got["armed_actors"]) == (2, 2)
    incidents = _get(client, slug, subject="incidents", by="province", **YEAR_2026)
    assert _rows(incidents, "province", "count") == {"Region A": 1}


def test_visits_by_month_period_site_and_mineral(client: TestClient, region) -> None:
    slug, ids = region["slugs"]["sites"], region["ids"]
    by_month = _get(client, slug, subject="visits", by="month", **YEAR_2026)
    assert _rows(by_month, "month", "visits", "workers", "women", "children") == {
        "2026-04": (1, 30, 9, 2), "2026-05": (2, 32, 9, 0), "2026-06": (1, 0, 0, 0),
    }  # fmt: skip
    by_year = _get(client, slug, subject="visits", by="period", **WIDE)
    assert _rows(by_year, "period", "visits", "workers") == {2025: (1, 8), 2026: (4, 62)}
    by_site = _get(client, slug, subject="visits", by="site", **YEAR_2026)
    assert _rows(by_site, "site", "visits") == {ids["S0"]: 2, ids["S1"]: 1, ids["S2"]: 1}
    minerals = _get(client, slug, subject="visits", by="mineral", **YEAR_2026)
    assert _rows(minerals, "mineral", "visits", "workers") == {
        "gold": (3, 62), "tin": (2, 50), "diamond": (1, 0),
    }  # fmt: skip


def test_figures_refuse_keys_that_mean_nothing_for_the_subject(client: TestClient, region) -> None:
    slug = region["slugs"]["sites"]
    for subject, by in [("visits", "domain"), ("visits", "annex_ii"), ("sites", "month"),
                        ("zones", "category"), ("titles", "nothing")]:  # fmt: skip
        got = client.get("/monitoring/figures", params={"layer": slug, "subject": subject,
                                                        "by": by})  # fmt: skip
        assert got.status_code == 400, (subject, by, got.text)
        assert got.headers["content-type"].startswith("application/problem+json")
        assert by in got.json()["detail"]
    detail = client.get("/monitoring/figures", params={"subject": "visits", "by": "domain"})
    assert "site, province, mineral, period, month" in detail.json()["detail"]
    backwards = client.get("/monitoring/figures", params={"from": "2026-05-01", "to": "2026-04-01"})
    assert backwards.status_code == 400
    assert client.get("/monitoring/figures", params={"subject": "people"}).status_code == 422


def test_sites_by_qualification_and_operating_as_of_a_day(client: TestClient, region) -> None:
    slug = region["slugs"]["sites"]
    before = _get(client, slug, subject="sites", by="qualification", as_of=BEFORE, **YEAR_2026)
    # S0 green (status of January), S1 yellow (May), S2 red (its own attribute then), S3 not
    # assessed (no status, no attribute; deleted only today).
    assert _rows(before, "qualification", "count") == {
        "green": 1, "yellow": 1, "red": 1, "not_assessed": 1,
    }  # fmt: skip
    assert before["total"] == 4
    # Active at some moment of the year: S0 (active on 1 April), S1 (reopened in August).
    assert before["active"] == 2
    operating = _get(client, slug, subject="sites", by="operating", as_of=BEFORE, **YEAR_2026)
    assert _rows(operating, "operating", "count") == {"active": 1, "inactive": 1, None: 2}
    now = _get(
        client, slug, subject="sites", by="qualification", as_of=region["today"], **YEAR_2026
    )
    assert _rows(now, "qualification", "count") == {"red": 1, "yellow": 1, "green": 1}
    later = _get(client, slug, subject="sites", by="operating", as_of=region["today"], **YEAR_2026)
    assert _rows(later, "operating", "count", "active") == {
        "suspended": (1, 1), "reopened": (1, 1), None: (1, 0),
    }  # fmt: skip
    # Over the previous year, S0 alone was active (from January), S1 had no status yet.
    last_year = _get(client, slug, subject="sites", as_of=BEFORE, year=2025)
    assert (last_year["total"], last_year["active"]) == (4, 1)
    province = _get(client, slug, subject="sites", by="province", as_of=BEFORE, **YEAR_2026)
    assert _rows(province, "province", "count") == {
        "P0": 1, "Region A": 1, "Country X": 1, None: 1,
    }  # fmt: skip


def test_zones_titles_and_tailings_as_they_stood(client: TestClient, region) -> None:
    slugs, today = region["slugs"], region["today"]
    zones = _get(client, slugs["zones"], subject="zones", by="status", as_of=BEFORE, **YEAR_2026)
    assert _rows(zones, "status", "count") == {"gazetted": 1, "draft": 1, "proposed": 1}
    zones_now = _get(client, slugs["zones"], subject="zones", by="status", as_of=today)
    assert _rows(zones_now, "status", "count") == {"gazetted": 2, "draft": 1}
    by_province = _get(client, slugs["zones"], subject="zones", by="province", as_of=today)
    # Z1 says P0; Z2 covers the region (its point on surface lies in it), Z3 the district.
    assert _rows(by_province, "province", "count") == {"P0": 1, "Region A": 2}
    titles = _get(client, slugs["titles"], subject="titles", by=["title_type", "status"],
                  as_of=today)  # fmt: skip
    assert _rows(titles, ("title_type", "status"), "count") == {
        ("exploitation", "active"): 1, ("exploitation", "expired"): 1,
        ("exploration", "application"): 1,
    }  # fmt: skip
    assert titles["total"] == 3
    tailings = _get(client, slugs["tailings"], subject="tailings", by="consequence", as_of=today)
    assert _rows(tailings, "consequence", "count") == {"high": 1, "extreme": 1}
    # Before the features were made, nothing stood.
    empty = _get(client, slugs["zones"], subject="zones", as_of="2025-12-31")
    assert empty["total"] == 0


def test_small_cells_of_people_withheld_whole(as_role, region) -> None:
    slug = region["slugs"]["sites"]
    viewer = as_role("viewer")
    visits = _get(viewer, slug, subject="visits", by="province", **YEAR_2026)
    # P0 counts 50 workers, but at 2 visits: the whole row is withheld.
    assert visits["rows"] and all(r["suppressed"] for r in visits["rows"])
    assert all(r[name] is None for r in visits["rows"] for name in PEOPLE)
    # so are the totals (4 visits), which would give the rows away
    assert visits["total"] is None and visits["workers"] is None
    sites = _get(viewer, slug, subject="sites", by="qualification", as_of=BEFORE, **YEAR_2026)
    assert all(r["count"] is None and r["active"] is None for r in sites["rows"])
    editor = _get(as_role("editor"), slug, subject="visits", by="province", **YEAR_2026)
    assert _rows(editor, "province", "workers")["P0"] == 50


def test_figures_as_csv(client: TestClient, region) -> None:
    slug = region["slugs"]["sites"]
    got = client.get("/monitoring/figures", params={"layer": slug, "subject": "visits",
                                                    "by": "month", "f": "csv", **YEAR_2026})  # fmt: skip
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [(r["month"], r["visits"], r["workers"], r["children"]) for r in rows] == [
        ("2026-04", "1", "30", "2"), ("2026-05", "2", "32", "0"), ("2026-06", "1", "0", "0"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def private_incidents(engine: Engine) -> Iterator[tuple[str, str]]:
    """In programme year 2040, 6 incidents on a public layer (enough to be shown to a viewer), 3
    on a private one of the operator (shared with nobody)."""
    public, private = _slug("fig-public"), _slug("fig-private")
    with Session(engine) as s:
        store.create_layer(s, public, OPERATOR, kind="mine_site")
        store.create_layer(s, private, OPERATOR, kind="mine_site", visibility="private")
        s.commit()
    with engine.begin() as c:
        for slug, count in ((public, 6), (private, 3)):
            layer_id = _layer_id(c, slug)
            site = _insert(c, layer_id, "site", {}, "POINT(100.2 -50.8)")
            for n in range(count):
                c.execute(
                    text("INSERT INTO incidents (layer_id, feature_id, occurred_on, category,"
                         " severity, verification) VALUES (:l, :f, :d, 'water', 'low',"
                         " 'verified')"),
                    {"l": layer_id, "f": site, "d": f"2040-05-0{n + 1}"},
                )  # fmt: skip
    yield public, private
    with Session(engine) as s:
        for slug in (public, private):
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def test_figures_count_only_layers_the_caller_may_read(
    client: TestClient, as_role, private_incidents
) -> None:
    _, private = private_incidents
    year = {"subject": "incidents", "year": 2040}
    assert client.get("/monitoring/figures", params=year).json()["total"] == 9
    for role in ("viewer", "editor"):
        reader = as_role(role)
        got = reader.get("/monitoring/figures", params=year)
        assert got.status_code == 200, got.text
        assert got.json()["total"] == 6, role
        by_site = reader.get("/monitoring/figures", params={**year, "by": "site"}).json()
        assert len(by_site["rows"]) == 1
        asked = reader.get("/monitoring/figures", params={**year, "layer": private})
        assert asked.status_code == 404
        assert asked.headers["content-type"].startswith("application/problem+json")


def test_csv_exports_and_the_step5_report_keep_to_what_the_caller_may_read(
    client: TestClient, as_role, engine: Engine
) -> None:
    """A private layer's incidents reach neither the CSV nor the Step 5 report of an editor; a
    restricted layer's positions reach the editor (internal) generalised, the admin exact."""
    from pyproj import Transformer

    to_m = Transformer.from_crs(4326, 3857, always_xy=True)
    hidden, secret = _slug("fig-hidden"), _slug("fig-secret")
    with Session(engine) as s:
        store.create_layer(s, hidden, OPERATOR, kind="mine_site", visibility="private")
        store.create_layer(s, secret, OPERATOR, kind="mine_site")
        s.commit()
    grid = 10_000
    made = client.patch(f"/layers/{secret}", json={"sensitivity": "restricted",
                                                  "generalise_m": grid})  # fmt: skip
    assert made.status_code == 200, made.text
    try:
        with engine.begin() as c:
            for slug, name in ((hidden, "Hidden pit"), (secret, "Secret pit")):
                layer_id = _layer_id(c, slug)
                site = _insert(c, layer_id, name, {}, "POINT(100.2 -50.8)")
                c.execute(
                    text("INSERT INTO incidents (layer_id, feature_id, occurred_on, category,"
                         " severity, verification, position) VALUES (:l, :f, '2041-05-01',"
                         " 'corruption', 'low', 'verified',"
                         " ST_GeomFromText('POINT(100.2345 -50.8123)', 4326))"),
                    {"l": layer_id, "f": site},
                )  # fmt: skip
        span = {"from": "2041-04-01", "to": "2042-03-31"}

        def rows(who: TestClient) -> list[dict]:
            got = who.get("/monitoring/export/incidents.csv", params=span)
            assert got.status_code == 200, got.text
            return list(csv.DictReader(io.StringIO(got.text)))

        editor, admin = as_role("editor"), rows(client)
        assert len(admin) == 2
        assert {(r["lon"], r["lat"]) for r in admin} == {("100.2345", "-50.8123")}
        seen = rows(editor)
        assert len(seen) == 1  # the private layer's incident is not there
        x, y = to_m.transform(float(seen[0]["lon"]), float(seen[0]["lat"]))
        assert abs(x / grid - round(x / grid)) * grid < 0.01  # on a node of the grid
        assert abs(y / grid - round(y / grid)) * grid < 0.01
        report = {"year": 2041, "lang": "en"}
        assert "Hidden pit" in client.get("/monitoring/report", params=report).text
        mine = editor.get("/monitoring/report", params=report)
        assert mine.status_code == 200, mine.text
        assert "Hidden pit" not in mine.text and "Secret pit" in mine.text
    finally:
        with Session(engine) as s:
            for slug in (hidden, secret):
                store.delete_layer(s, slug, OPERATOR)
            s.commit()
