"""Shared fixtures: a real PostGIS (the embedded cluster under var/test, or
GEO_SERVICE_TEST_DATABASE_URL), a fresh database per run, the app, a live server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.api.app import create_app
from geo_service.db.engine import make_engine, migrate
from geo_service.db.local import LocalCluster

ROOT = Path(__file__).resolve().parents[1]
TEST_HOME = Path(os.environ.get("GEO_SERVICE_TEST_HOME", ROOT / "var" / "test"))


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster | None]:
    if os.environ.get("GEO_SERVICE_TEST_DATABASE_URL"):
        yield None
        return
    local = LocalCluster(TEST_HOME)
    started = local.start()
    yield local
    if started and not _other_test_runs(local):
        local.stop()


def _other_test_runs(local: LocalCluster) -> bool:
    """Another pytest run on the same cluster still has its database: leave the server up."""
    import psycopg

    with psycopg.connect(local.libpq_url("postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'geo_test_%%' AND datname <> %s",
            (f"geo_test_{os.getpid()}",),
        ).fetchone()
    return bool(row and row[0])


@pytest.fixture(scope="session")
def database_url(cluster: LocalCluster | None) -> Iterator[str]:
    """A fresh, migrated database for this test run."""
    if cluster is None:
        url = os.environ["GEO_SERVICE_TEST_DATABASE_URL"]
        migrate(url)
        yield url
        return
    name = f"geo_test_{os.getpid()}"
    url = cluster.create_database(name, drop=True)
    migrate(url)
    yield url
    import psycopg

    with psycopg.connect(cluster.libpq_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    with engine.connect() as conn:
        transaction = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            yield s
        transaction.rollback()


@pytest.fixture(scope="session")
def app(database_url: str):
    return create_app(database_url)


@pytest.fixture(scope="session")
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def demo(engine: Engine) -> dict[str, int]:
    """The demo data set, loaded once per run."""
    from geo_service import demo as demo_data

    with Session(engine) as s:
        if demo_data.is_loaded(s):
            return {}
        counts = demo_data.load(s)
        s.commit()
    return counts


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright: one instance for every browser test of the run
    (a second sync Playwright in the same process refuses to start)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The app served over real HTTP (for GDAL, OWSLib and the browser)."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError("live server did not start")
    yield base
    server.should_exit = True
    thread.join(timeout=10)
