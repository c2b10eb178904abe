"""Shared fixtures: a real PostGIS (the embedded cluster under var/test, or
GEO_SERVICE_TEST_DATABASE_URL), a fresh database per run, the app, a live server."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.api.app import create_app
from geo_service.db.engine import make_engine, migrate
from geo_service.db.local import LocalCluster
from geo_service.domain.access import Role
from geo_service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TEST_HOME = Path(os.environ.get("GEO_SERVICE_TEST_HOME", ROOT / "var" / "test"))
# The test cluster holds only throwaway databases: durability is not worth its disk waits.
TEST_SERVER_OPTIONS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _one_tls_context_per_setting() -> None:
    """httpx builds a TLS context from certifi's bundle for every client it makes (36 ms of
    CPU), even one that only ever speaks plain HTTP to the live server; the tests make
    thousands (each `httpx.get`, each poll). They share one per setting instead."""
    from httpx._transports import default

    make = getattr(default, "create_ssl_context", None)
    if make is None or getattr(make, "shared", False):
        return
    made: dict[bool, object] = {}

    def shared(verify=True, cert=None, trust_env=True):  # type: ignore[no-untyped-def]
        if verify is not True or cert is not None:
            return make(verify=verify, cert=cert, trust_env=trust_env)
        if trust_env not in made:
            made[trust_env] = make(verify=verify, cert=cert, trust_env=trust_env)
        return made[trust_env]

    shared.shared = True  # type: ignore[attr-defined]
    default.create_ssl_context = shared


_one_tls_context_per_setting()


RUN_ID = "GEO_SERVICE_TEST_RUN"  # the controller's pid, shared with its xdist workers
TEARDOWN_BOUND = 30.0  # seconds any session fixture may take to tear down


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        os.environ[RUN_ID] = str(os.getpid())


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller stops the test cluster once no other live test run still uses it."""
    if hasattr(config, "workerinput") or os.environ.get("GEO_SERVICE_TEST_DATABASE_URL"):
        return
    local = LocalCluster(TEST_HOME)
    if not local.initialized() or local.running_port() is None:
        return
    if not _other_live_runs(local):
        local.stop()


def _run_of(database: str) -> int | None:
    match = re.fullmatch(r"geo_test_(\d+)_\w+", database)
    return int(match.group(1)) if match else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _other_live_runs(local: LocalCluster) -> bool:
    """Whether another pytest run still has a database here; those of dead runs are dropped."""
    own = int(os.environ[RUN_ID])
    others = False
    with psycopg.connect(local.libpq_url("postgres"), autocommit=True, connect_timeout=10) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
        for name in names:
            if not name.startswith("geo_test_"):
                continue
            run = _run_of(name)
            if run == own:
                continue
            if run is not None and _alive(run):
                others = True
            else:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return others


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster | None]:
    """The embedded test cluster, started by whichever worker needs it first (stopped by the
    controller at the end of the run, see pytest_unconfigure)."""
    if os.environ.get("GEO_SERVICE_TEST_DATABASE_URL"):
        yield None
        return
    local = LocalCluster(TEST_HOME, server_options=TEST_SERVER_OPTIONS)
    local.start()
    yield local


@pytest.fixture(scope="session")
def database_url(cluster: LocalCluster | None) -> Iterator[str]:
    """A fresh, migrated database for this test run (one per xdist worker)."""
    if cluster is None:
        url = os.environ["GEO_SERVICE_TEST_DATABASE_URL"]
        migrate(url)
        yield url
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"geo_test_{os.environ[RUN_ID]}_{worker}"
    url = cluster.create_database(name, drop=True)
    migrate(url)
    yield url
    with psycopg.connect(
        cluster.libpq_url("postgres"), autocommit=True, connect_timeout=10
    ) as conn:
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


def unlimited_settings() -> Settings:
    """Settings without rate limits: a test suite is one very busy client."""
    settings = Settings()
    for kind in ("analyses", "screenings", "imports", "exports"):
        setattr(settings.rates, f"{kind}_per_minute", 0)
    return settings


@pytest.fixture(scope="session")
def app(database_url: str, cluster: LocalCluster | None):
    return create_app(database_url, unlimited_settings(), cluster=cluster)


@pytest.fixture(scope="session")
def keys(engine: Engine) -> dict[str, str]:
    """A key of each role (named after it), and their secrets: {"admin": "gs_...", ...}."""
    from geo_service.db.access import create_key

    secrets: dict[str, str] = {}
    with Session(engine) as s:
        for role in Role:
            secrets[role.value], _ = create_key(s, f"test-{role.value}", role)
        s.commit()
    return secrets


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="session")
def client(app, keys: dict[str, str]) -> Iterator[TestClient]:
    """The app through an admin key (most tests are about something else than access)."""
    with TestClient(app, headers=bearer(keys["admin"])) as c:
        yield c


@pytest.fixture(scope="session")
def anon(app, client: TestClient) -> TestClient:
    """The app as nobody: no key. (No lifespan of its own: it shares the client's engine.)"""
    return TestClient(app)


@pytest.fixture(scope="session")
def as_role(app, client: TestClient, keys: dict[str, str]) -> Callable[[str], TestClient]:
    """as_role("viewer") -> a client sending that role's key."""
    made: dict[str, TestClient] = {}

    def make(role: str) -> TestClient:
        if role not in made:
            made[role] = TestClient(app, headers=bearer(keys[role]))
        return made[role]

    return make


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
    # Compositing (in software: no GPU here) in the browser process, not a GPU process of its
    # own: 31 map and layer tests took 153 s of CPU instead of 166 s, 80 s instead of 86 s.
    "--in-process-gpu",
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


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The app served over real HTTP (for GDAL, OWSLib and the browser), on a socket bound
    here so that no other worker can take the port in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    yield base
    server.should_exit = True
    thread.join(timeout=TEARDOWN_BOUND)
    sock.close()
    assert not thread.is_alive(), f"the live server did not stop within {TEARDOWN_BOUND:g} s"
