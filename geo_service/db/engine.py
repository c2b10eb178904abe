"""Engines and migrations for whichever database is configured (a URL, or the embedded cluster)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from geo_service.db.local import LocalCluster, find_bindir
from geo_service.settings import DatabaseSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def local_cluster(settings: DatabaseSettings | None = None) -> LocalCluster:
    settings = settings or DatabaseSettings()
    return LocalCluster(
        settings.home_path,
        bindir=find_bindir(settings.pg_bindir) if settings.pg_bindir else None,
        run_as=settings.pg_user,
    )


def database_url(settings: DatabaseSettings | None = None, start: bool = True) -> str:
    """The configured URL, or the embedded cluster's (started first when `start`)."""
    settings = settings or DatabaseSettings()
    if settings.database_url:
        return settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    cluster = local_cluster(settings)
    if start:
        cluster.start()
    return cluster.url()


def make_engine(url: str, pool_size: int = 8) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": "geo-service"},
    )


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` to `revision` (Alembic is the only way the schema changes)."""
    command.upgrade(alembic_config(url), revision)
