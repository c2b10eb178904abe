"""A feature belongs to a layer that exists: checked per statement (migration 0014) with the
guarantees of the foreign key it replaced, including against a concurrent delete of the layer."""

import os
import threading
import time
import uuid

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_service.db.engine import libpq_url, migrate
from geo_service.db.local import LocalCluster

POINT = "SRID=4326;POINT(-8 12)"


def _layer(conn: psycopg.Connection, slug: str) -> int:
    row = conn.execute(
        "INSERT INTO layers (slug, title, kind) VALUES (%s, %s, 'reference') RETURNING id",
        (slug, slug),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _session_layer(session: Session) -> int:
    slug = f"integrity-{uuid.uuid4().hex[:8]}"
    insert = "INSERT INTO layers (slug, title, kind) VALUES (:s, :t, 'reference') RETURNING id"
    return int(session.execute(text(insert), {"s": slug, "t": slug}).scalar_one())


def _missing_layer(session: Session) -> int:
    return int(session.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM layers")).scalar())


def test_a_feature_of_no_layer_is_refused_with_the_foreign_key_error(session: Session) -> None:
    layer = _session_layer(session)
    missing = _missing_layer(session)
    before = session.execute(text("SELECT count(*) FROM features")).scalar()
    with pytest.raises(IntegrityError) as raised, session.begin_nested():
        # One statement, one good row and one without a layer: all of it is refused.
        session.execute(
            text("INSERT INTO features (layer_id, geom) VALUES (:good, :g), (:bad, :g)"),
            {"good": layer, "bad": missing, "g": POINT},
        )
    assert raised.value.orig.sqlstate == "23503"
    assert f"layer {missing} does not exist" in str(raised.value.orig)
    assert session.execute(text("SELECT count(*) FROM features")).scalar() == before
    with pytest.raises(IntegrityError) as moved, session.begin_nested():
        session.execute(
            text("INSERT INTO features (layer_id, geom) VALUES (:good, :g)"),
            {"good": layer, "g": POINT},
        )
        session.execute(
            text("UPDATE features SET layer_id = :bad WHERE layer_id = :good"),
            {"bad": missing, "good": layer},
        )
    assert moved.value.orig.sqlstate == "23503"


def test_deleting_a_layer_deletes_its_features_and_their_pieces(session: Session) -> None:
    layer = _session_layer(session)
    # A polygon of 400 points is cut into pieces (feature_parts) by its own trigger.
    session.execute(
        text(
            "INSERT INTO features (layer_id, geom)"
            " SELECT :layer, ST_Buffer(ST_SetSRID(ST_MakePoint(-8, 12), 4326), 0.1, 100)"
            " UNION ALL SELECT :layer, ST_SetSRID(ST_MakePoint(-8, 12), 4326)"
        ),
        {"layer": layer},
    )
    ids = [r[0] for r in session.execute(text("SELECT id FROM features WHERE layer_id = :l"),
                                         {"l": layer})]  # fmt: skip
    assert len(ids) == 2
    parts = "SELECT count(*) FROM feature_parts WHERE feature_id = ANY(:ids)"
    assert session.execute(text(parts), {"ids": ids}).scalar() > 0
    session.execute(text("DELETE FROM layers WHERE id = :l"), {"l": layer})
    assert session.execute(text("SELECT count(*) FROM features WHERE id = ANY(:ids)"),
                           {"ids": ids}).scalar() == 0  # fmt: skip
    assert session.execute(text(parts), {"ids": ids}).scalar() == 0


def _waiting(conn: psycopg.Connection, pid: int) -> bool:
    row = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
    found = row.fetchone()
    return found is not None and found[0] == "Lock"


def _wait_until_blocked(watch: psycopg.Connection, pid: int) -> None:
    deadline = time.monotonic() + 20
    while not _waiting(watch, pid):
        assert time.monotonic() < deadline, "the other session never waited for the lock"
        time.sleep(0.02)


def _race(engine: Engine, first: str, second: str) -> tuple[list[BaseException], int]:
    """In a new layer, `first` (SQL on the layer's id) runs in a transaction left open, then
    `second` in a thread, which must wait for it; `first` commits, then `second`. The errors of
    `second`, and how many features the layer is left with."""
    url = libpq_url(engine.url.render_as_string(hide_password=False))
    with psycopg.connect(url, autocommit=True) as setup:
        layer = _layer(setup, f"integrity-{uuid.uuid4().hex[:8]}")
    params = {"layer": layer, "geom": POINT}
    with (
        psycopg.connect(url) as one,
        psycopg.connect(url) as other,
        psycopg.connect(url, autocommit=True) as watch,
    ):
        one.execute(first, params)
        failures: list[BaseException] = []

        def run() -> None:
            try:
                other.execute(second, params)
                other.commit()
            except BaseException as exc:  # reported in the test's thread
                failures.append(exc)
                other.rollback()

        thread = threading.Thread(target=run)
        thread.start()
        _wait_until_blocked(watch, other.info.backend_pid)
        one.commit()
        thread.join(20)
        assert not thread.is_alive(), "the second session never finished"
        left = watch.execute("SELECT count(*) FROM features WHERE layer_id = %s", (layer,))
        return failures, left.fetchone()[0]  # type: ignore[index]


INSERT = "INSERT INTO features (layer_id, geom) VALUES (%(layer)s, %(geom)s)"
DELETE = "DELETE FROM layers WHERE id = %(layer)s"


def test_a_layer_deleted_while_a_writer_holds_it_takes_the_writers_features(
    engine: Engine,
) -> None:
    """The writer's features, committed while the delete waited for it, go with the layer:
    none is left without one."""
    failures, left = _race(engine, first=INSERT, second=DELETE)
    assert not failures and left == 0


def test_a_writer_waiting_on_a_layer_being_deleted_is_refused(engine: Engine) -> None:
    failures, left = _race(engine, first=DELETE, second=INSERT)
    assert len(failures) == 1 and isinstance(failures[0], psycopg.errors.ForeignKeyViolation)
    assert left == 0


def test_truncating_layers_truncates_features(cluster: LocalCluster | None) -> None:
    """In a database of its own: TRUNCATE is not for a database other tests share."""
    if cluster is None:
        pytest.skip("needs the embedded cluster to create a database")
    name = f"geo_truncate_{os.getpid()}"
    url = cluster.create_database(name, drop=True)
    try:
        migrate(url)
        with psycopg.connect(cluster.libpq_url(name), autocommit=True) as conn:
            layer = _layer(conn, "truncated")
            conn.execute("INSERT INTO features (layer_id, geom) VALUES (%s, %s)", (layer, POINT))
            conn.execute("TRUNCATE layers CASCADE")
            assert conn.execute("SELECT count(*) FROM features").fetchone() == (0,)
    finally:
        with psycopg.connect(cluster.libpq_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
