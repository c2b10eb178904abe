"""The schema comes from Alembic alone, from an empty database up and back down."""

import psycopg
import pytest
from sqlalchemy import create_engine, inspect, text

from geo_service.db.engine import alembic_config, migrate
from geo_service.db.local import LocalCluster


@pytest.fixture
def empty_url(cluster: LocalCluster | None):
    if cluster is None:
        pytest.skip("needs the embedded cluster to create a database")
    url = cluster.create_database("geo_test_empty", drop=True)
    yield url
    with psycopg.connect(cluster.libpq_url("postgres"), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "geo_test_empty" WITH (FORCE)')


def test_migration_from_empty_database(empty_url: str) -> None:
    from alembic import command

    migrate(empty_url)
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        assert {"layers", "features", "feature_history", "alembic_version"} <= tables
        indexes = {i["name"] for i in inspect(conn).get_indexes("features")}
        assert "features_layer_geom_gist" in indexes
        srid = conn.execute(
            text("SELECT srid FROM geometry_columns WHERE f_table_name = 'features'")
        ).scalar()
        assert srid == 4326
    command.downgrade(alembic_config(empty_url), "base")
    with engine.connect() as conn:
        assert "features" not in inspect(conn).get_table_names()
    migrate(empty_url)
    with engine.connect() as conn:
        assert "features" in inspect(conn).get_table_names()
    engine.dispose()
