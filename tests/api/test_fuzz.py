"""Fuzzing: every operation of the OpenAPI document with inputs schemathesis generates from it
(and beyond it: negative cases), through an admin key so that writes are reached too. Whatever
arrives, the answer is never a 5xx. Bounded: a few examples per operation, in a database of its
own so that the random layers and keys it creates meet no other test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

from geo_service.api.app import create_app
from geo_service.db.access import create_key
from geo_service.db.engine import make_engine, migrate
from geo_service.db.local import LocalCluster
from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.conftest import unlimited_settings

EXAMPLES = int(os.environ.get("GEO_SERVICE_FUZZ_EXAMPLES", "10"))
STATUS_LOG = os.environ.get("GEO_SERVICE_FUZZ_LOG")  # a file to note each answer's status in


@pytest.fixture(scope="module")
def fuzz_app(cluster: LocalCluster | None) -> Iterator[tuple[object, str]]:
    if cluster is None:
        pytest.skip("needs the embedded test cluster for a database of its own")
    name = f"geo_test_{os.environ['GEO_SERVICE_TEST_RUN']}_fuzz{os.environ.get('PYTEST_XDIST_WORKER', '')}"
    url = cluster.create_database(name, drop=True)
    migrate(url)
    engine = make_engine(url, pool_size=1)
    with Session(engine) as s:
        titles = store.create_layer(s, "titles", OPERATOR, kind="concession", visibility="public")
        store.create_feature(
            s, titles, mapping(box(-8, 12, -7.9, 12.1)), {"code": "F-1"}, who=OPERATOR
        )
        zones = store.create_layer(s, "zones", OPERATOR, kind="asm_zone", visibility="private")
        store.create_feature(
            s, zones, mapping(box(-8, 12, -7.95, 12.05)), {"code": "Z-1"}, who=OPERATOR
        )
        secret, _ = create_key(s, "fuzzer", "admin")
        s.commit()
    engine.dispose()
    app = create_app(url, unlimited_settings())  # limits would hide the code behind them
    with TestClient(app):  # runs the lifespan: the engine the endpoints use
        yield app, secret
    with psycopg.connect(cluster.libpq_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):
    app, _ = fuzz_app
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document; the document needs no database."""
    app = create_app("postgresql+psycopg://nobody@127.0.0.1:9/none")
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_operation_answers_5xx(method: str, path: str, fuzz_schema, fuzz_app) -> None:
    _, secret = fuzz_app
    headers = {"Authorization": f"Bearer {secret}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=fuzz_schema[path][method].as_strategy(),
        real=st.sampled_from([None, ("titles", 1), ("zones", 2)]),
    )
    def check(case, real) -> None:
        # Random slugs and ids reach only the "no such layer" answer: half the time the case
        # is aimed at a layer and a feature that exist, so the code behind them is fuzzed too.
        if real is not None and case.path_parameters:
            slug, feature = real
            for name in ("slug", "slugs"):
                if name in case.path_parameters:
                    case.path_parameters[name] = slug
            if "feature_id" in case.path_parameters:
                case.path_parameters["feature_id"] = feature
        response = case.call(headers=headers)
        if STATUS_LOG:
            with open(STATUS_LOG, "a") as log:
                log.write(f"{case.method} {path} {response.status_code}\n")
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:300]} -> "
            f"{response.status_code}: {response.text[:800]}"
        )

    check()
