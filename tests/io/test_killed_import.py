"""An import killed (SIGKILL) while it writes leaves nothing behind: no layer, no feature, no
history, no audit row, no transaction holding locks."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from geo_service.db.engine import migrate
from geo_service.db.local import LocalCluster

GEO_SERVICE = Path(sys.executable).with_name("geo-service")
FEATURES = 50_000  # small polygons: the COPY lasts a second or more, read in chunks as it goes
SLUG = "killed-import"
WAIT_BOUND = 120.0  # seconds for the import to start writing, and for the server to clean up
# Settings of the outer run that must not reach the command.
_OUTER = ("GEO_SERVICE_DATABASE_URL", "GEO_SERVICE_TEST_DATABASE_URL", "GEO_SERVICE_TEST_RUN")


@pytest.fixture
def throwaway(cluster: LocalCluster | None) -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, libpq URL) of a migrated database of this test alone, dropped at the
    end (named like conftest's, so a crashed run's copy is dropped by the next run)."""
    if cluster is None:
        pytest.skip("needs the embedded test cluster to create a database")
    name = f"geo_test_{os.environ['GEO_SERVICE_TEST_RUN']}_killed_import"
    url = cluster.create_database(name, drop=True)
    migrate(url)
    yield url, cluster.libpq_url(name)
    with psycopg.connect(cluster.libpq_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _polygons(path: Path, count: int) -> None:
    """`count` quadrilaterals of about 100 m across over the demo region, with a fixed seed."""
    rng = random.Random(20240611)
    features = []
    for i in range(count):
        x, y = rng.uniform(-9.6, -7.4), rng.uniform(11.4, 13.0)
        d = 0.0005 + rng.random() * 0.0005
        ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d * 0.8], [x, y]]
        features.append(
            {"type": "Feature", "properties": {"code": f"K-{i}", "n": i},
             "geometry": {"type": "Polygon", "coordinates": [ring]}}
        )  # fmt: skip
    path.write_bytes(orjson.dumps({"type": "FeatureCollection", "features": features}))


def _keep_a_layer(conn: psycopg.Connection) -> None:
    """A layer of three features that was there before the import, with their history and
    audit rows (written by the triggers), so that "unchanged" is not merely "still empty"."""
    layer = _scalar(
        conn,
        "INSERT INTO layers (slug, title, kind) VALUES ('kept', 'Kept', 'reference') RETURNING id",
    )
    conn.execute(
        "INSERT INTO features (layer_id, name, geom) SELECT %s, 'kept ' || i, "
        "ST_SetSRID(ST_MakePoint(-8.5 + i * 0.01, 12.0), 4326) FROM generate_series(1, 3) i",
        (layer,),
    )
    conn.execute("UPDATE features SET name = name || ' (revised)' WHERE layer_id = %s", (layer,))


def _scalar(conn: psycopg.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = ("layers", "features", "feature_history", "audit_log")
    return {t: _scalar(conn, f"SELECT count(*) FROM {t}") for t in tables}


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_BOUND
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {WAIT_BOUND:g} s"
        time.sleep(0.02)


def test_import_killed_while_copying_leaves_nothing(
    throwaway: tuple[str, str], tmp_path: Path
) -> None:
    url, libpq = throwaway
    source = tmp_path / "many.geojson"
    _polygons(source, FEATURES)
    env = {k: v for k, v in os.environ.items() if k not in _OUTER and not k.startswith("PYTEST_")}
    env |= {"GEO_SERVICE_DATABASE_URL": url, "GEO_SERVICE_HOME": str(tmp_path / "var")}
    log = tmp_path / "import.log"
    with psycopg.connect(libpq, autocommit=True) as conn:
        database = conn.info.dbname
        _keep_a_layer(conn)
        before = _counts(conn)
        assert all(before.values()), before

        def others(condition: str) -> int:
            """Client sessions on the database, besides this one, that meet `condition`."""
            return _scalar(
                conn,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                f"AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND {condition}",
                (database,),
            )

        with open(log, "wb") as output:
            command = subprocess.Popen(
                [str(GEO_SERVICE), "import", str(source), "--layer", SLUG],
                env=env, stdout=output, stderr=output, start_new_session=True,
            )  # fmt: skip
        try:
            _until(
                lambda: (
                    command.poll() is not None
                    or others("state = 'active' AND starts_with(query, 'COPY features')") > 0
                ),
                "COPY into features",
            )
            assert command.poll() is None, f"the import ended first: {log.read_text()[-2000:]}"
            os.kill(command.pid, signal.SIGKILL)
            command.wait(timeout=30)
        finally:
            if command.poll() is None:
                command.kill()
                command.wait(timeout=30)
        # The server ends the transaction once it reads the end of the dead client's stream.
        _until(lambda: others("true") == 0, "end of the killed import's session")

        assert _scalar(conn, "SELECT count(*) FROM layers WHERE slug = %s", (SLUG,)) == 0
        assert _counts(conn) == before
        orphans = conn.execute(
            "SELECT (SELECT count(*) FROM features WHERE layer_id NOT IN (SELECT id FROM layers)),"
            " (SELECT count(*) FROM feature_history"
            "   WHERE layer_id NOT IN (SELECT id FROM layers)),"
            " (SELECT count(*) FROM audit_log WHERE layer_slug = %s)",
            (SLUG,),
        ).fetchone()
        assert orphans == (0, 0, 0)
        held = _scalar(
            conn,
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE d.datname = %s AND l.pid <> pg_backend_pid()",
            (database,),
        )
        assert held == 0
        assert others("starts_with(state, 'idle in transaction')") == 0
