"""Monitoring figures, CSV exports and the Step 5 report (issue 18), over rows written with
plain SQL; every expected number is counted by hand here."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

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
