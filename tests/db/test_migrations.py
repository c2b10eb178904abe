"""The schema comes from Alembic alone, from an empty database up and back down."""

import os

import psycopg
import pytest
from sqlalchemy import create_engine, inspect, text

from geo_service.db.engine import alembic_config, migrate
from geo_service.db.local import LocalCluster


@pytest.fixture
def empty_url(cluster: LocalCluster | None):
    if cluster is None:
        pytest.skip("needs the embedded cluster to create a database")
    name = f"geo_empty_{os.getpid()}"
    url = cluster.create_database(name, drop=True)
    yield url
    with psycopg.connect(cluster.libpq_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migration_from_empty_database(empty_url: str) -> None:
    from alembic import command

    migrate(empty_url)
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        assert {"layers", "features", "feature_history", "alembic_version"} <= tables
        indexes = {i["name"] for i in inspect(conn).get_indexes("features")}
        assert {"features_geom_gist", "features_layer"} <= indexes
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


def test_demo_loads_a_plausible_region(demo: dict[str, int], engine) -> None:
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT l.slug, count(f.id) FROM layers l LEFT JOIN features f"
                    " ON f.layer_id = l.id GROUP BY l.slug"
                )
            ).all()
        )
        overlapping_titles = conn.execute(
            text(
                "SELECT count(*) FROM features a JOIN features b ON a.id < b.id"
                " AND a.layer_id = b.layer_id AND ST_Intersects(a.geom, b.geom)"
                " JOIN layers l ON l.id = a.layer_id WHERE l.slug = 'concessions'"
            )
        ).scalar()
        sites_in_titles = conn.execute(
            text(
                "SELECT count(DISTINCT s.id) FROM features s JOIN layers ls ON ls.id = s.layer_id"
                " JOIN features c ON ST_Intersects(s.geom, c.geom)"
                " JOIN layers lc ON lc.id = c.layer_id"
                " WHERE ls.slug = 'mine-sites' AND lc.slug = 'concessions'"
            )
        ).scalar()
    assert counts["mine-sites"] >= 24 and counts["concessions"] >= 12
    assert counts["asm-zones"] == 2 and counts["protected-areas"] >= 1
    assert counts["tailings"] >= 3 and counts["abandoned-mines"] >= 3
    assert counts["rivers"] > 0 and counts["places"] > 0
    assert overlapping_titles > 0 and sites_in_titles > 0
