"""Rate limits on analyses, imports and exports: 429 with Retry-After, per key and per address."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.api.limits import Buckets
from geo_service.settings import Settings
from tests.conftest import bearer


def test_a_bucket_refills_at_its_rate() -> None:
    bucket = Buckets(per_minute=6, burst=2)  # one token every 10 s
    assert [bucket.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(10.0)]
    assert bucket.take("b", now=0.0) == 0.0  # another client has its own
    assert bucket.take("a", now=9.0) == pytest.approx(1.0)
    assert bucket.take("a", now=10.0) == 0.0
    assert Buckets(per_minute=0, burst=1).take("a") == 0.0  # 0 turns the limit off


@pytest.fixture(scope="module")
def limited(database_url: str, keys: dict[str, str]):
    settings = Settings()
    settings.rates.analyses_per_minute = 1
    settings.rates.analyses_burst = 2
    settings.rates.exports_per_minute = 1
    settings.rates.exports_burst = 1
    app = create_app(database_url, settings)
    with TestClient(app) as client:
        yield client


def test_the_third_analysis_in_a_row_waits(limited: TestClient, keys, demo) -> None:
    body = {"source": "asm-zones", "target": "concessions"}
    viewer = bearer(keys["viewer"])
    answers = [limited.post("/analysis/overlap", json=body, headers=viewer) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "this key" in refused.json()["detail"]
    # Other keys and callers without a key (by address) have buckets of their own.
    assert limited.post("/analysis/overlap", json=body, headers=bearer(keys["editor"])).status_code == 200  # fmt: skip
    anonymous = [limited.post("/analysis/proximity", json=body).status_code for _ in range(3)]
    assert anonymous == [200, 200, 429]
    # Reads that are not analyses are not limited.
    assert all(limited.get("/layers", headers=viewer).status_code == 200 for _ in range(5))


def test_exports_are_limited_too(limited: TestClient, keys, demo) -> None:
    admin = bearer(keys["admin"])
    first = limited.get("/layers/mine-sites/export?format=csv", headers=admin)
    second = limited.get("/layers/mine-sites/export?format=csv", headers=admin)
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.json()["where"] == {"limit": "exports"}
