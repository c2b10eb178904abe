"""Who drew, changed and approved what: the audit log, history and restore, the ASM zone
lifecycle's comments, and concurrent edits that never overwrite each other."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store

ZONE = mapping(box(-4.005, 9.995, -3.995, 10.005))  # about 120 ha: small enough to gazette
GEOJSON = {"Content-Type": "application/geo+json"}


@pytest.fixture(scope="module")
def zones(engine: Engine) -> Iterator[str]:
    with Session(engine) as s:
        store.create_layer(s, "audit-zones", OPERATOR, kind="asm_zone", visibility="public")
        store.create_layer(s, "audit-sites", OPERATOR, kind="mine_site", visibility="public")
        s.commit()
    yield "audit-zones"
    with Session(engine) as s:
        store.delete_layer(s, "audit-zones", OPERATOR)
        store.delete_layer(s, "audit-sites", OPERATOR)
        s.commit()


def audit_rows(engine: Engine, feature_id: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT actor, role, action, version_before, version_after, before, after, comment"
                " FROM audit_log WHERE feature_id = :id ORDER BY id"
            ),
            {"id": feature_id},
        ).mappings()
        return [dict(r) for r in rows]


def test_every_change_is_audited_under_the_keys_name(as_role, zones, engine) -> None:
    editor = as_role("editor")
    made = editor.post(
        f"/collections/{zones}/items",
        json={"type": "Feature", "geometry": ZONE, "properties": {"code": "Z-AUD-1"}},
        headers={"X-User": "somebody-else"},  # a header anyone can set counts for nothing
    )
    assert made.status_code == 201
    fid = made.json()["id"]
    url = f"/collections/{zones}/items/{fid}"
    assert editor.patch(url, json={"properties": {"manager": "Coop A"}}).status_code == 200
    moved = editor.patch(
        url, json={"properties": {"status": "proposed"}, "comment": "deposits proven by survey"}
    )
    assert moved.status_code == 200
    assert as_role("admin").delete(url, params={"comment": "drawn twice"}).status_code == 204
    rows = audit_rows(engine, fid)
    assert [(r["actor"], r["role"], r["action"]) for r in rows] == [
        ("test-editor", "editor", "create"),
        ("test-editor", "editor", "update"),
        ("test-editor", "editor", "status"),
        ("test-admin", "admin", "delete"),
    ]
    assert [(r["version_before"], r["version_after"]) for r in rows] == [
        (None, 1), (1, 2), (2, 3), (3, None)
    ]  # fmt: skip
    assert rows[0]["before"] is None and rows[0]["after"]["properties"]["code"] == "Z-AUD-1"
    assert rows[1]["before"]["properties"].get("manager") is None
    assert rows[1]["after"]["properties"]["manager"] == "Coop A"
    assert rows[2]["before"]["properties"]["status"] == "draft"
    assert rows[2]["after"]["properties"]["status"] == "proposed"
    assert rows[2]["comment"] == "deposits proven by survey"
    assert rows[3]["after"] is None and rows[3]["comment"] == "drawn twice"
    assert rows[3]["before"]["geometry"]["type"] == "Polygon"
    # The same through the API, for auditors (admins).
    entries = as_role("admin").get("/audit", params={"feature": fid}).json()["entries"]
    assert [e["action"] for e in entries] == ["delete", "status", "update", "create"]
    assert as_role("editor").get("/audit").status_code == 403


def test_a_zone_changes_status_only_with_a_comment(as_role, zones, engine) -> None:
    editor = as_role("editor")
    fid = editor.post(
        f"/collections/{zones}/items",
        json={"type": "Feature", "geometry": ZONE, "properties": {"code": "Z-AUD-2"}},
    ).json()["id"]
    url = f"/collections/{zones}/items/{fid}"
    refused = editor.patch(url, json={"properties": {"status": "proposed"}})
    assert refused.status_code == 400 and "comment" in refused.json()["detail"]
    assert editor.get(url).json()["properties"]["status"] == "draft"
    assert editor.get(url).headers["etag"] == '"1"'
    for status, comment in [("proposed", "proposed by the ASM agency"),
                            ("in_consultation", "sent to land and environment ministries"),
                            ("gazetted", "Arrêté n° 2026-114/MMG")]:  # fmt: skip
        properties = {"status": status}
        if status == "gazetted":  # gazetting needs the decree's reference
            properties["decree_ref"] = comment
        answer = editor.patch(url, json={"properties": properties, "comment": comment})
        assert answer.status_code == 200, answer.text
    history = editor.get(f"{url}/history").json()["versions"]
    assert [(v["properties"]["status"], v["change"], v["comment"]) for v in history] == [
        ("draft", "create", None),
        ("proposed", "status", "proposed by the ASM agency"),
        ("in_consultation", "status", "sent to land and environment ministries"),
        ("gazetted", "status", "Arrêté n° 2026-114/MMG"),
    ]
    # A gazetted zone is a legal decision: an editor may not delete it, an admin may.
    refused_delete = editor.delete(url)
    assert refused_delete.status_code == 403 and "admin" in refused_delete.json()["detail"]
    assert as_role("admin").delete(url).status_code == 204


def test_an_earlier_version_is_restored_as_a_new_one(as_role, zones) -> None:
    editor = as_role("editor")
    fid = editor.post(
        "/collections/audit-sites/items",
        json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [-4.0, 10.0]},
              "properties": {"name": "Site A", "workers": 40}},
    ).json()["id"]  # fmt: skip
    url = f"/collections/audit-sites/items/{fid}"
    editor.patch(url, json={"properties": {"workers": 400}})
    editor.patch(url, json={"geometry": {"type": "Point", "coordinates": [-4.1, 10.1]}})
    restored = editor.post(f"{url}/history/1/restore", json={"comment": "typo in workers"})
    assert restored.status_code == 200 and restored.headers["etag"] == '"4"'
    body = restored.json()
    assert body["properties"]["workers"] == 40
    assert body["geometry"]["coordinates"] == [-4.0, 10.0]
    history = editor.get(f"{url}/history").json()["versions"]
    assert [v["version"] for v in history] == [1, 2, 3, 4]
    assert history[-1]["change"] == "restore" and history[-1]["comment"] == "typo in workers"
    assert history[-1]["changed_by"] == "test-editor"
    # A deleted feature comes back under its own id, its history kept.
    assert editor.delete(url, headers={"If-Match": '"4"'}).status_code == 204
    assert editor.get(url).status_code == 404
    back = editor.post(f"{url}/history/2/restore")
    assert back.status_code == 200 and back.json()["id"] == fid
    assert back.json()["properties"]["workers"] == 400
    assert [v["version"] for v in editor.get(f"{url}/history").json()["versions"]] == [
        1, 2, 3, 4, 5
    ]  # fmt: skip
    assert editor.post(f"{url}/history/99/restore").status_code == 404


def test_a_stale_if_match_is_412_naming_the_current_version(as_role, zones) -> None:
    editor = as_role("editor")
    fid = editor.post(
        "/collections/audit-sites/items",
        json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [-4.0, 10.0]},
              "properties": {"name": "Site B"}},
    ).json()["id"]  # fmt: skip
    url = f"/collections/audit-sites/items/{fid}"
    assert editor.patch(url, json={"properties": {"workers": 1}}, headers={"If-Match": '"1"'}).status_code == 200  # fmt: skip
    for method, kwargs in [
        ("PATCH", {"json": {"properties": {"workers": 2}}}),
        (
            "PUT",
            {"json": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]}}},
        ),
        ("DELETE", {}),
    ]:
        stale = editor.request(method, url, headers={"If-Match": '"1"'}, **kwargs)
        assert stale.status_code == 412, method
        assert stale.json()["current_version"] == 2 and "version 2" in stale.json()["detail"]
    assert editor.get(url).json()["properties"]["workers"] == 1
    assert editor.patch(url, json={}, headers={"If-Match": "soon"}).status_code == 400


def test_concurrent_edits_with_one_etag_let_exactly_one_through(live_server, keys, zones) -> None:
    """10 trials of 8 requests (updates and deletes) sent at once with the same If-Match:
    each trial, one succeeds and the seven others get 412."""
    headers = {"Authorization": f"Bearer {keys['editor']}", **GEOJSON}
    outcomes: list[Counter] = []
    lock = threading.Lock()
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as http:
        for trial in range(10):
            created = http.post(
                "/collections/audit-sites/items",
                json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [-4, 10]},
                      "properties": {"name": f"Race {trial}", "workers": 0}},
            )  # fmt: skip
            url = f"/collections/audit-sites/items/{created.json()['id']}"
            etag = created.headers["etag"]
            barrier = threading.Barrier(8)
            statuses: list[int] = []

            def edit(
                n: int, url: str = url, etag: str = etag, barrier: threading.Barrier = barrier,
                statuses: list[int] = statuses,
            ) -> None:  # fmt: skip
                with httpx.Client(base_url=live_server, headers=headers, timeout=30) as own:
                    barrier.wait()
                    if n % 4 == 3:
                        response = own.delete(url, headers={"If-Match": etag})
                    else:
                        response = own.patch(
                            url, json={"properties": {"workers": n + 1}}, headers={"If-Match": etag}
                        )
                with lock:
                    statuses.append(response.status_code)

            threads = [threading.Thread(target=edit, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            outcomes.append(Counter(statuses))
            final = http.get(url)
            winners = [s for s in statuses if s in (200, 204)]
            if winners == [200]:
                assert final.headers["etag"] == '"2"'  # one update, applied once
            else:
                assert final.status_code == 404  # the delete won
    assert all(sum(c[s] for s in (200, 204)) == 1 and c[412] == 7 for c in outcomes), outcomes
