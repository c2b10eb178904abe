"""Engines and migrations for whichever database is configured (a URL, or the embedded cluster)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect

from geo_service.db.local import LocalCluster, find_bindir
from geo_service.problems import Message, msg
from geo_service.settings import DatabaseSettings

if TYPE_CHECKING:
    from alembic.config import Config

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


CONNECT_TIMEOUT = 5  # seconds; a server slower than this to accept counts as down (503)


class Unreachable(psycopg.OperationalError):
    """A new connection to the database failed. The message says why in plain words with the
    address, never a password nor the server's own text (that is the `__cause__`, for logs);
    `args[0]` is a message of problems.py, which can be said in French too."""


def make_engine(url: str, pool_size: int = 8, cluster: LocalCluster | None = None) -> Engine:
    """An engine keeping `pool_size` connections (as many more on demand), each pinged first.

    With `cluster` (the embedded cluster behind `url`), every new connection goes to the port
    the cluster listens on now: after a restart on another port the ping finds the pooled
    connections dead, their replacements find the new port, and the app needs no restart.
    """
    connect_args: dict[str, Any] = {"application_name": "geo-service"}
    if "connect_timeout" not in make_url(url).query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )

    @event.listens_for(engine, "do_connect")
    def connect(
        dialect: Dialect, record: Any, cargs: list[Any], cparams: dict[str, Any]
    ) -> DBAPIConnection:
        if cluster is not None:
            port = cluster.recorded_port()
            if port is None:
                # Stopped (no postmaster.pid): answer at once rather than knock on a port that
                # something else may hold by now.
                raise Unreachable(msg("db.not_running"))
            cparams["port"] = port
        try:
            return dialect.connect(*cargs, **cparams)
        except psycopg.OperationalError as exc:
            raise Unreachable(_why(exc, cparams)) from exc

    return engine


def _why(exc: psycopg.OperationalError, cparams: dict[str, Any]) -> Message:
    """Why a connection failed, in plain words: 'the database at 127.0.0.1:5433 refuses
    connections'."""
    address = f"{cparams.get('host') or 'localhost'}:{cparams.get('port') or 5432}"
    if isinstance(exc, psycopg.errors.ConnectionTimeout):
        return msg("db.no_answer", address=address, seconds=cparams.get("connect_timeout"))
    state = exc.sqlstate or ""
    if state.startswith("28"):
        return msg("db.login_refused", address=address)
    if state == "3D000":
        return msg("db.no_database", address=address, name=cparams.get("dbname"))
    if state == "57P03":
        return msg("db.starting", address=address)
    if state.startswith("53"):
        return msg("db.full", address=address)
    # libpq's own failures carry no SQLSTATE; the refusal is the common one (server stopped).
    if "Connection refused" in str(exc):
        return msg("db.refuses", address=address)
    return msg("db.unreachable", address=address)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` to `revision` (Alembic is the only way the schema changes).

    Every command migrates first and nearly always finds the schema at head already: that is
    checked with one query, without importing Alembic (a fifth of a second of start-up)."""
    if revision == "head" and _at_head(url):
        return
    from alembic import command

    command.upgrade(alembic_config(url), revision)


# `revision: str = "0003_tiles"`, `down_revision: str | None = None`, as script.py.mako writes.
_REVISION_LINE = re.compile(
    r"""^(down_revision|revision)\b[^=\n]*=\s*(?:["']([^"'\n]+)["']|(None))\s*$""", re.MULTILINE
)


def _head() -> str | None:
    """The one head of the migrations, read from each file's `revision` and `down_revision`;
    None unless every file names both plainly and they make a single line of history (merges,
    branches: Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    files = sorted((MIGRATIONS / "versions").glob("*.py"))
    for path in files:
        found = {m[1]: m[2] or None for m in _REVISION_LINE.finditer(path.read_text("utf-8"))}
        if set(found) != {"revision", "down_revision"} or found["revision"] is None:
            return None
        revisions.add(found["revision"])
        if found["down_revision"] is not None:
            parents.add(found["down_revision"])
    heads = revisions - parents
    if len(revisions) != len(files) or not parents <= revisions or len(heads) != 1:
        return None
    return heads.pop()


def libpq_url(url: str) -> str:
    """`url` (an SQLAlchemy URL, e.g. postgresql+psycopg://) as libpq and psycopg take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _at_head(url: str) -> bool:
    """Whether the database at `url` is at the migrations' head; False when unsure (no
    answer, no alembic_version table yet), and Alembic then does what it always does."""
    head = _head()
    if head is None:
        return False
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT) as conn:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except psycopg.Error:
        return False
    return rows == [(head,)]
