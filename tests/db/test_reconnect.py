"""The app survives its database restarting, even on another port: 503 with Retry-After during
the outage, service again afterwards, with the same app object and no restart of its own; and a
database failure is answered by its SQLSTATE class, never with the server's own words."""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from geo_service.api import errors
from geo_service.api.app import create_app
from geo_service.db.engine import migrate
from geo_service.db.local import LocalCluster

RECOVERY_BOUND = 15.0  # seconds the app may take to serve again once the database is back
# Words of the server or of libpq that must never reach a client.
DATABASE_TEXT = ("connection", "refused", "psycopg", "FATAL", "terminating", "SQLSTATE", "port")


@pytest.fixture
def own_cluster() -> Iterator[LocalCluster]:
    """A cluster of this test alone (it is stopped and started), in a folder its user can reach
    (pytest's own tmp folders are private)."""
    home = Path(tempfile.mkdtemp(prefix="geo-service-reconnect-"))
    home.chmod(0o755)
    cluster = LocalCluster(home / "var", server_options={"fsync": "off"})
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


def _hold(port: int) -> socket.socket:
    """A listening socket on `port`, so that the restarted cluster must take another one.

    The server's ends of the connections it dropped as it stopped linger in FIN-WAIT-2 until
    the app's pool closes them, which a loaded machine may take a minute to do: SO_REUSEADDR
    binds beside them (only a listening socket keeps it out), as PostgreSQL itself does."""
    deadline = time.monotonic() + 10
    while True:
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", port))
        except OSError:
            holder.close()
            assert time.monotonic() < deadline, f"port {port} stays busy"
            time.sleep(0.05)
            continue
        holder.listen()
        return holder


def _assert_outage_answer(response, password: str) -> None:
    assert response.status_code == 503, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 10
    assert password not in response.text
    detail = response.json()["detail"]
    assert not [word for word in DATABASE_TEXT if word.lower() in detail.lower()], detail


def test_app_follows_the_cluster_restarting_on_another_port(own_cluster: LocalCluster) -> None:
    url = own_cluster.url()
    password = url.split(":")[2].split("@")[0]
    migrate(url)
    app = create_app(url, cluster=own_cluster)
    with TestClient(app) as client:
        assert client.get("/collections").status_code == 200
        assert client.get("/health").json()["status"] == "ok"
        old_port = own_cluster.running_port()
        assert old_port is not None

        assert own_cluster.stop() is True
        for path in ("/collections", "/collections/anything/items"):
            _assert_outage_answer(client.get(path), password)
        health = client.get("/health")
        assert health.status_code == 503
        assert health.headers["Retry-After"]
        assert health.json()["detail"] == "the embedded database is not running"
        assert password not in health.text

        holder = _hold(old_port)
        try:
            own_cluster.start()
            new_port = own_cluster.running_port()
            assert new_port is not None and new_port != old_port

            deadline = time.monotonic() + RECOVERY_BOUND
            while (status := client.get("/collections").status_code) != 200:
                assert status == 503, status
                assert time.monotonic() < deadline, "the app did not recover"
                time.sleep(0.1)
            assert client.get("/health").json()["status"] == "ok"
            assert app.state.engine.url.port == old_port  # the same engine, not a new app
        finally:
            holder.close()


def test_health_says_the_database_refuses_connections_without_a_password() -> None:
    with socket.socket() as closed:  # bound but not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        url = f"postgresql+psycopg://geo:s3cret-pw@127.0.0.1:{port}/geo_service"
        with TestClient(create_app(url)) as client:
            health = client.get("/health")
            items = client.get("/collections")
    assert health.status_code == 503
    assert health.json()["detail"] == f"the database at 127.0.0.1:{port} refuses connections"
    _assert_outage_answer(items, "s3cret-pw")
    assert "s3cret-pw" not in health.text


SERVER_TEXT = 'value "secret-42" violates check constraint "features_pkey" at host db.internal'


def _wrapped(sqlstate: str) -> DBAPIError:
    """The error SQLAlchemy raises for a server error of this SQLSTATE."""
    wrapped = DBAPIError.instance(
        "SELECT 1", {}, psycopg.errors.lookup(sqlstate)(SERVER_TEXT), psycopg.Error
    )
    assert isinstance(wrapped, DBAPIError)
    return wrapped


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (_wrapped("22003"), 400),  # numeric value out of range
        (_wrapped("22P02"), 400),  # invalid text representation
        (_wrapped("23505"), 409),  # unique violation
        (_wrapped("23503"), 409),  # foreign key violation
        (_wrapped("40001"), 503),  # serialization failure: retry
        (_wrapped("40P01"), 503),  # deadlock: retry
        (_wrapped("57014"), 503),  # statement timeout
        (_wrapped("57P01"), 503),  # the server shuts down
        (_wrapped("53300"), 503),  # too many connections
        (_wrapped("42P01"), 500),  # undefined table: a fault of ours
        (_wrapped("XX000"), 500),  # internal error
        (psycopg.OperationalError(SERVER_TEXT), 503),  # not wrapped (raw COPY)
        (DBAPIError.instance(None, None, psycopg.InterfaceError(SERVER_TEXT), psycopg.Error), 503),
        (PoolTimeout(SERVER_TEXT), 503),
    ],
)
def test_database_failures_answer_by_sqlstate_without_the_server_text(
    failure: Exception, status: int
) -> None:
    app = FastAPI()
    errors.install(app)

    @app.get("/fail")
    def fail() -> None:
        raise failure

    response = TestClient(app, raise_server_exceptions=False).get("/fail")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert ("Retry-After" in response.headers) == (status == 503)
    for leak in ("secret-42", "features_pkey", "db.internal", "violates"):
        assert leak not in response.text
