"""`geo-service`: serve, db, migrate, demo, import, export, analyze."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from geo_service.db.engine import database_url, local_cluster, make_engine, migrate
from geo_service.db.local import LocalClusterError
from geo_service.errors import GeoServiceError
from geo_service.settings import get_settings

app = typer.Typer(
    help="geo-service: mining sites, titles and tailings in PostGIS.", no_args_is_help=True
)
db_app = typer.Typer(help="Manage the embedded PostgreSQL + PostGIS cluster.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"geo-service: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@contextmanager
def open_database() -> Iterator[str]:
    """The migrated database's URL; an embedded cluster started here is stopped at the end."""
    settings = get_settings().db
    cluster = None if settings.database_url else local_cluster(settings)
    started = cluster.start() if cluster else False
    try:
        url = cluster.url() if cluster else database_url(settings)
        migrate(url)
        yield url
    finally:
        if started and cluster:
            cluster.stop()
            typer.echo("geo-service: stopped the embedded database it had started", err=True)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session on the configured, migrated database; the caller commits."""
    with open_database() as url:
        engine = make_engine(url, pool_size=1)
        try:
            with Session(engine, expire_on_commit=False) as session:
                yield session
        finally:
            engine.dispose()


@db_app.command("start")
def db_start() -> None:
    """Start the embedded cluster (initialising it on first use)."""
    settings = get_settings().db
    if settings.database_url:
        raise fail("GEO_SERVICE_DATABASE_URL is set: there is no embedded cluster to start")
    cluster = local_cluster(settings)
    started = cluster.start()
    typer.echo(
        f"{'started' if started else 'already running'}: {cluster.root} on port {cluster.running_port()}"
    )


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    cluster = local_cluster(get_settings().db)
    typer.echo("stopped" if cluster.stop() else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say whether the embedded cluster runs, where and on which port."""
    settings = get_settings().db
    if settings.database_url:
        typer.echo("external database (GEO_SERVICE_DATABASE_URL is set)")
        return
    cluster = local_cluster(settings)
    port = cluster.running_port() if cluster.initialized() else None
    state = "not initialised" if not cluster.initialized() else ("running" if port else "stopped")
    typer.echo(f"{state}: {cluster.root}" + (f" on 127.0.0.1:{port}" if port else ""))
    if state != "running":
        raise typer.Exit(3)


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (the embedded cluster's, started if needed)."""
    typer.echo(database_url(get_settings().db))


@app.command("migrate")
def migrate_command(revision: str = "head") -> None:
    """Apply Alembic migrations to the configured database."""
    with open_database() as url:
        migrate(url, revision)
    typer.echo(f"migrated to {revision}")


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option(help="Load only when the demo is not loaded yet.")
    ] = False,
    replace: Annotated[bool, typer.Option(help="Replace demo layers that exist.")] = False,
) -> None:
    """Load the demo region (ASM sites, titles, tailings, zones, rivers, places)."""
    from geo_service import demo as demo_data

    with session_scope() as session:
        if if_empty and demo_data.is_loaded(session):
            typer.echo("demo data already loaded")
            return
        counts = demo_data.load(session, replace=replace)
        session.commit()
    typer.echo(json.dumps(counts))


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [env GEO_SERVICE_HOST].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [env GEO_SERVICE_PORT].")] = None,
) -> None:
    """Serve the API and the map; starts the embedded cluster if needed and stops it on exit."""
    import uvicorn

    from geo_service.api.app import create_app

    settings = get_settings()
    host = host or settings.api.host
    port = port or settings.api.port
    with open_database() as url:
        typer.secho(
            f"geo-service: serving on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)",
            fg=typer.colors.GREEN,
        )
        uvicorn.run(create_app(url, settings), host=host, port=port, log_level="info")


def main() -> None:
    try:
        app()
    except (LocalClusterError, GeoServiceError) as exc:
        typer.secho(f"geo-service: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
