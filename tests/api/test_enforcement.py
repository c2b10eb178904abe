"""Enforcement through the API: permit renewal, transfer and cancellation recorded as events;
an inspection with findings and samples (exceeded computed); sanctions tied to a finding; a
forced closure's steps in order, refused out of order; editing needs the editor role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.domain.enforcement import CLOSURE_STEPS
from geo_service.store import layers as store

LON, LAT = 17.1, 18.2  # the Ténéré, far from the demo data


@pytest.fixture(scope="module")
def permits(engine: Engine, demo) -> Iterator[str]:
    slug = f"enf-permits-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        store.create_layer(s, slug, OPERATOR, kind="asm_permit", visibility="public")
        s.commit()
    yield slug
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _permit(client, slug: str, **props) -> str:
    made = client.post(
        f"/collections/{slug}/items",
        json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT]},
              "properties": {"number": "AE-7", "category": "mining", "holder": "Coop Kalaa",
                             "holder_type": "cooperative", "issued": "2024-01-01",
                             "expires": "2026-01-01", **props}},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return f"/layers/{slug}/features/{made.json()['id']}"


def _problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return answer.json()


def test_permit_events_change_the_permit_and_are_kept(as_role, permits) -> None:
    editor = as_role("editor")
    url = _permit(editor, permits)
    item = url.replace("/layers/", "/collections/").replace("/features/", "/items/")
    renewed = editor.post(
        f"{url}/permit-events",
        json={
            "event": "renewal",
            "date": "2026-01-02",
            "new_expires": "2029-01-01",
            "comment": "ok",
        },
    )
    assert renewed.status_code == 201, renewed.text
    assert editor.get(item).json()["properties"]["expires"] == "2029-01-01"
    _problem(
        editor.post(
            f"{url}/permit-events",
            json={"event": "renewal", "date": "2026-02-01", "new_expires": "2028-01-01"},
        ),
        400,
    )
    _problem(
        editor.post(
            f"{url}/permit-events",
            json={"event": "transfer", "date": "2026-03-01", "new_holder": "Coop Kalaa"},
        ),
        400,
    )
    moved = editor.post(
        f"{url}/permit-events",
        json={
            "event": "transfer",
            "date": "2026-03-01",
            "new_holder": "SARL Or Net",
            "new_holder_type": "company",
        },
    )
    assert moved.status_code == 201, moved.text
    props = editor.get(item).json()["properties"]
    assert (props["holder"], props["holder_type"]) == ("SARL Or Net", "company")
    cancelled = editor.post(
        f"{url}/permit-events",
        json={"event": "cancellation", "date": "2026-04-01", "comment": "fraud"},
    )
    assert cancelled.status_code == 201
    assert editor.get(item).json()["properties"]["status"] == "cancelled"
    _problem(
        editor.post(
            f"{url}/permit-events",
            json={"event": "renewal", "date": "2026-05-01", "new_expires": "2031-01-01"},
        ),
        409,
    )
    events = editor.get(f"{url}/permit-events").json()["events"]
    assert [e["event"] for e in events] == ["renewal", "transfer", "cancellation"]
    assert events[1]["new_holder"] == "SARL Or Net" and events[0]["new_expires"] == "2029-01-01"
    assert all(e["by"] for e in events)
    versions = [e["version"] for e in events]
    assert versions == sorted(versions) and len(set(versions)) == 3
    history = editor.get(f"{item}/history").json()
    assert len(history["versions"] if isinstance(history, dict) else history) >= 4


def test_inspection_finding_sanction_and_closure_in_order(as_role, permits) -> None:
    editor = as_role("editor")
    url = _permit(editor, permits, number="AE-8")
    made = editor.post(f"{url}/inspections", json={
        "date": "2026-05-10", "team": ["DRMG Kédougou", "A. Diallo"],
        "findings": [{"text": "Mercury amalgamation in the open", "severity": "critical"},
                     {"text": "No register of workers", "severity": "minor"}],
        "samples": [
            {"medium": "water", "parameter": "mercury", "value": 0.012, "unit": "mg/L",
             "limit": 0.006},
            {"medium": "soil", "parameter": "mercury", "value": 2.0, "unit": "mg/kg",
             "limit": 6.6},
            {"medium": "water", "parameter": "pH", "value": 6.1, "unit": "pH"},
        ]})  # fmt: skip
    assert made.status_code == 201, made.text
    inspection = made.json()
    assert [s["exceeded"] for s in inspection["samples"]] == [
        0.012 > 0.006, 2.0 > 6.6, None]  # fmt: skip
    critical, minor = (f["id"] for f in inspection["findings"])
    assert editor.get(f"{url}/inspections").json()["inspections"][0]["id"] == inspection["id"]

    # A sanction answers a finding of this feature's inspections, with the fields its kind has.
    _problem(editor.post(f"{url}/sanctions", json={"kind": "warning", "date": "2026-05-11"}), 422)
    _problem(
        editor.post(
            f"{url}/sanctions",
            json={"finding_id": critical + minor + 1000, "kind": "warning", "date": "2026-05-11"},
        ),
        404,
    )
    _problem(
        editor.post(
            f"{url}/sanctions", json={"finding_id": minor, "kind": "fine", "date": "2026-05-11"}
        ),
        400,
    )
    _problem(
        editor.post(
            f"{url}/sanctions",
            json={"finding_id": minor, "kind": "warning", "date": "2026-05-11", "amount": 5},
        ),
        400,
    )
    fine = editor.post(
        f"{url}/sanctions",
        json={
            "finding_id": minor,
            "kind": "fine",
            "date": "2026-05-11",
            "amount": 250000,
            "currency": "XOF",
        },
    )
    assert fine.status_code == 201, fine.text
    assert (fine.json()["amount"], fine.json()["currency"]) == (250000, "XOF")
    _problem(
        editor.post(
            f"{url}/sanctions/{fine.json()['id']}/closure-steps",
            json={"step": "notice_served", "date": "2026-05-12"},
        ),
        409,
    )

    closure = editor.post(
        f"{url}/sanctions", json={"finding_id": critical, "kind": "closure", "date": "2026-05-11"}
    ).json()
    steps = f"{url}/sanctions/{closure['id']}/closure-steps"
    assert closure["next_step"] == CLOSURE_STEPS[0]
    skipped = _problem(editor.post(steps, json={"step": "closure_executed", "date": "2026-05-12"}),
                       409)  # fmt: skip
    assert skipped["expected"] == "notice_served"
    for n, step in enumerate(CLOSURE_STEPS):
        done = editor.post(steps, json={"step": step, "date": f"2026-06-{n + 1:02d}"})
        assert done.status_code == 201, done.text
        if n == 1:
            again = _problem(editor.post(steps, json={"step": CLOSURE_STEPS[0],
                                                      "date": "2026-06-03"}), 409)  # fmt: skip
            assert again["expected"] == CLOSURE_STEPS[2]
    census = editor.post(
        f"{url}/sanctions/{closure['id']}/censuses",
        json={"date": "2026-05-20", "workers": 340, "residents": 85},
    )
    assert census.status_code == 201, census.text
    read = editor.get(f"{url}/sanctions/{closure['id']}").json()
    assert [s["step"] for s in read["steps"]] == list(CLOSURE_STEPS)
    assert read["next_step"] is None
    assert read["censuses"][0] | {"by": None} == {
        "date": "2026-05-20",
        "workers": 340,
        "residents": 85,
        "comment": None,
        "by": None,
    }
    assert [s["kind"] for s in editor.get(f"{url}/sanctions").json()["sanctions"]] == [
        "fine", "closure"]  # fmt: skip


def test_enforcement_writes_need_the_editor_role(as_role, anon, permits, engine) -> None:
    url = _permit(as_role("editor"), permits, number="AE-9")
    writes = {
        f"{url}/permit-events": {"event": "cancellation", "date": "2026-05-10"},
        f"{url}/inspections": {"date": "2026-05-10", "team": ["X"]},
        f"{url}/sanctions": {"finding_id": 1, "kind": "warning", "date": "2026-05-10"},
        f"{url}/sanctions/1/closure-steps": {"step": "notice_served", "date": "2026-05-10"},
        f"{url}/sanctions/1/censuses": {"date": "2026-05-10", "workers": 1, "residents": 1},
    }
    tables = ("permit_events", "inspections", "sanctions", "closure_steps", "closure_censuses")
    with engine.connect() as conn:
        before = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables]
    for client, status in ((as_role("viewer"), 403), (anon, 401)):
        for path, body in writes.items():
            _problem(client.post(path, json=body), status)
    with engine.connect() as conn:
        after = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables]
    assert after == before
    viewer = as_role("viewer")
    for listing in ("permit-events", "inspections", "sanctions"):
        assert viewer.get(f"{url}/{listing}").status_code == 200
