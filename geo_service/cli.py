"""`geo-service`: serve, db, migrate, demo, import, export, analyze."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

# Only what every command needs is imported here, so that `--help` and the start of a command
# cost milliseconds: settings (pydantic), the database (SQLAlchemy, psycopg, Alembic) and the
# geometry stack (geopandas, shapely, pyproj) are imported by the commands that use them.
# tests/test_cli_startup.py keeps it so.
from geo_service.db.local import LocalClusterError
from geo_service.domain.access import OPERATOR, check_visibility
from geo_service.errors import GeoServiceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from geo_service.db.local import LocalCluster

app = typer.Typer(
    help="geo-service: mining sites, titles and tailings in PostGIS.", no_args_is_help=True
)
db_app = typer.Typer(help="Manage the embedded PostgreSQL + PostGIS cluster.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"geo-service: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


class Stopped(Exception):
    """SIGINT or SIGTERM asked the command to stop; raised so that every `finally` runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StopSignals:
    """The first SIGINT (Ctrl-C) or SIGTERM (docker, systemd, kill) becomes `Stopped`.

    uvicorn takes both over while it serves and raises them again once it has shut down, which
    then lands here; without this, SIGTERM would end the process before any cleanup ran. While
    the cluster starts or stops (`deferred`) a signal waits until that step is done, and after
    the first one every signal is ignored: the cleanup it started runs to its end (each step is
    bounded in time), so a second signal never leaves the cluster half-started or half-stopped.
    """

    signals = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.stopping = False
        self.holding = 0
        self.pending: int | None = None

    def handle(self, signum: int, frame: object) -> None:
        if self.stopping:
            typer.echo("geo-service: already stopping", err=True)
        elif self.holding:
            self.pending = signum
        else:
            self.stopping = True
            raise Stopped(signum)

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {s: signal.signal(s, self.handle) for s in self.signals}
        try:
            yield
        finally:
            # Once stopping, what is left is the interpreter's own exit: a late signal must
            # not turn a clean stop into a kill or a traceback.
            for s, handler in previous.items():
                signal.signal(s, signal.SIG_IGN if self.stopping else handler)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self.holding += 1
        try:
            yield
        finally:
            self.holding -= 1
            if not self.holding and self.pending is not None and not self.stopping:
                signum, self.pending, self.stopping = self.pending, None, True
                raise Stopped(signum)


_stop_signals = _StopSignals()


@contextmanager
def open_database() -> Iterator[str]:
    """The migrated database's URL; an embedded cluster started here is stopped at the end."""
    with open_database_and_cluster() as (url, _):
        yield url


@contextmanager
def open_database_and_cluster() -> Iterator[tuple[str, LocalCluster | None]]:
    """As `open_database`, with the embedded cluster behind the URL (None when a URL is set)."""
    from geo_service.db.engine import database_url, local_cluster, migrate
    from geo_service.settings import get_settings

    settings = get_settings().db
    cluster = None if settings.database_url else local_cluster(settings)
    with _stop_signals.deferred():
        started = cluster.start() if cluster else False
    try:
        url = cluster.url() if cluster else database_url(settings)
        migrate(url)
        yield url, cluster
    finally:
        if started and cluster:
            with _stop_signals.deferred():
                cluster.stop()
                typer.echo("geo-service: stopped the embedded database it had started", err=True)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session on the configured, migrated database; the caller commits."""
    with open_database() as url, session_on(url, expire_on_commit=False) as session:
        yield session


@contextmanager
def session_on(url: str, **options: Any) -> Iterator[Session]:
    """A session (with `options`) on `url`, through an engine of its own disposed at the end."""
    from sqlalchemy.orm import Session

    from geo_service.db.engine import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine, **options) as session:
            yield session
    finally:
        engine.dispose()


@db_app.command("start")
def db_start() -> None:
    """Start the embedded cluster (initialising it on first use)."""
    from geo_service.db.engine import local_cluster
    from geo_service.settings import get_settings

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
    from geo_service.db.engine import local_cluster
    from geo_service.settings import get_settings

    cluster = local_cluster(get_settings().db)
    typer.echo("stopped" if cluster.stop() else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say whether the embedded cluster runs, where and on which port."""
    from geo_service.db.engine import local_cluster
    from geo_service.settings import get_settings

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
    from geo_service.db.engine import database_url
    from geo_service.settings import get_settings

    typer.echo(database_url(get_settings().db))


keys_app = typer.Typer(help="Access keys: create (the secret is shown once), list, revoke.",
                       no_args_is_help=True)  # fmt: skip
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who holds the key (unique).")],
    role: Annotated[str, typer.Option(help="viewer, editor or admin.")] = "viewer",
    group: Annotated[list[str] | None, typer.Option(help="A group of the key (repeat).")] = None,
    layer: Annotated[
        list[str] | None, typer.Option(help="Limit the key to this layer (repeat).")
    ] = None,
    origin: Annotated[
        list[str] | None, typer.Option(help="Limit the key to this web origin (repeat).")
    ] = None,
    tiles_only: Annotated[bool, typer.Option(help="Tiles, TileJSON, the embed page only.")] = False,
) -> None:
    """Create a key and print its secret: it is stored hashed and never shown again."""
    from geo_service.db import access, audit

    with session_scope() as session:
        secret, key = access.create_key(
            session, name, role, groups=group, layers=layer, origins=origin,
            tiles_only=tiles_only, created_by=OPERATOR.actor,
        )  # fmt: skip
        audit.record(session, OPERATOR, "key-create", after=access.describe(key))
        session.commit()
    typer.echo(secret)
    typer.echo(
        f"geo-service: key '{name}' ({role}) created; keep it, it is shown only once", err=True
    )


@keys_app.command("list")
def keys_list() -> None:
    """Every key (revoked ones too), without secrets."""
    from geo_service.db import access

    with session_scope() as session:
        rows = [access.describe(key) for key in access.list_keys(session)]
    for row in rows:
        limits = [f"layers={','.join(row['layers'])}"] if row["layers"] else []
        limits += [f"origins={','.join(row['origins'])}"] if row["origins"] else []
        limits += ["tiles-only"] if row["tiles_only"] else []
        limits += [f"groups={','.join(row['groups'])}"] if row["groups"] else []
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        typer.echo(f"{row['name']}\t{row['role']}\t{row['prefix']}…\t{state}\t{' '.join(limits)}")


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: it stops working at once."""
    from geo_service.db import access, audit

    with session_scope() as session:
        key = access.revoke_key(session, name)
        audit.record(session, OPERATOR, "key-revoke", after=access.describe(key))
        session.commit()
    typer.echo(f"revoked: {name}")


@app.command("migrate")
def migrate_command(revision: str = "head") -> None:
    """Apply Alembic migrations to the configured database."""
    from geo_service.db.engine import migrate

    with open_database() as url:
        migrate(url, revision)
    typer.echo(f"migrated to {revision}")


def _load_demo(url: str, if_empty: bool, replace: bool = False) -> str:
    from geo_service import demo as demo_data

    with session_on(url) as session:
        if if_empty and demo_data.is_loaded(session):
            return "demo data already loaded"
        counts = demo_data.load(session, replace=replace)
        session.commit()
    return json.dumps(counts)


DEMO_ADMIN = "demo-admin"


def _demo_admin_key(url: str) -> None:
    """The first time the demo runs, an admin key to sign in to the map with, shown once."""
    from geo_service.db import access

    with session_on(url) as session:
        if any(key.name == DEMO_ADMIN for key in access.list_keys(session)):
            return
        secret, _ = access.create_key(session, DEMO_ADMIN, "admin", created_by=OPERATOR.actor)
        session.commit()
    typer.secho(
        f"geo-service: admin key for the demo (shown this once; sign in to the map with it): "
        f"{secret}\n  more keys: geo-service keys create --role editor --name ...",
        fg=typer.colors.YELLOW,
    )


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option(help="Load only when the demo is not loaded yet.")
    ] = False,
    replace: Annotated[bool, typer.Option(help="Replace demo layers that exist.")] = False,
) -> None:
    """Load the demo region (ASM sites, titles, tailings, zones, rivers, places)."""
    with open_database() as url:
        typer.echo(_load_demo(url, if_empty, replace))


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [env GEO_SERVICE_HOST].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [env GEO_SERVICE_PORT].")] = None,
    demo: Annotated[
        bool, typer.Option(help="Load the demo region first, unless it is loaded already.")
    ] = False,
) -> None:
    """Serve the API and the map; starts the embedded cluster if needed and stops it on exit."""
    import uvicorn

    from geo_service.api.app import create_app
    from geo_service.settings import get_settings

    settings = get_settings()
    host = host or settings.api.host
    port = port or settings.api.port
    try:
        with open_database_and_cluster() as (url, cluster):
            if demo:
                typer.echo(_load_demo(url, if_empty=True))
                _demo_admin_key(url)
            typer.secho(
                f"geo-service: serving on http://{host}:{port}/  "
                f"(API docs: http://{host}:{port}/docs)",
                fg=typer.colors.GREEN,
            )
            uvicorn.run(create_app(url, settings, cluster), host=host, port=port, log_level="info")
    except Stopped as stopped:
        # Being told to stop is how a server ends: a clean exit once everything is stopped.
        typer.echo(f"geo-service: stopped on {stopped}", err=True)


@app.command("export-tiles")
def export_tiles(
    out: Annotated[Path, typer.Argument(help="The PMTiles file to write.")],
    layer: Annotated[str, typer.Option(help="Slug of the vector layer to export.")],
    maxzoom: Annotated[int, typer.Option(help="Deepest zoom to include.")] = 12,
    minzoom: Annotated[int, typer.Option(help="Shallowest zoom to include.")] = 0,
    allow_private: Annotated[
        bool, typer.Option(help="Export a layer that is not public (the archive publishes it).")
    ] = False,
) -> None:
    """Write a public layer's vector tiles to a PMTiles archive for static hosting."""
    from geo_service.settings import get_settings
    from geo_service.tiles.pmtiles import export

    with session_scope() as session:
        summary = export(
            session.connection(), layer, out, maxzoom, minzoom, get_settings().tiles,
            allow_private=allow_private,
        )  # fmt: skip
    typer.echo(json.dumps(summary))


analyze_app = typer.Typer(
    help="Overlap, proximity and zone screening (geodesic hectares and metres).",
    no_args_is_help=True,
)
app.add_typer(analyze_app, name="analyze")
AnalysisFormat = Annotated[str, typer.Option("--format", help="json, csv or geojson.")]
SourceLabel = Annotated[
    str | None, typer.Option(help="Attribute naming source features (default: display name).")
]
TargetLabel = Annotated[
    str | None, typer.Option(help="Attribute naming target features (default: display name).")
]
SourceFields = Annotated[
    str | None, typer.Option(help="Source attributes carried along: A,B,C or '*' for all.")
]
TargetFields = Annotated[
    str | None, typer.Option(help="Target attributes carried along: A,B,C or '*' for all.")
]


def _fields(option: str | None) -> list[str] | Literal["*"] | None:
    """--source-fields Code,Parties -> ["Code", "Parties"]; "*" stays "*"."""
    if option is None:
        return None
    if option.strip() == "*":
        return "*"
    return [name.strip() for name in option.split(",") if name.strip()]


def _print_result(result: dict, fmt: str) -> None:
    from geo_service.analysis import export

    if fmt == "csv":
        typer.echo(export.to_csv(result), nl=False)
    elif fmt == "geojson":
        typer.echo(json.dumps(export.to_geojson(result)))
    else:
        typer.echo(json.dumps(result, default=str))


def _check_format(fmt: str) -> None:
    if fmt not in ("json", "csv", "geojson"):
        raise fail(f"unknown format '{fmt}': use json, csv or geojson")


@analyze_app.command("overlap")
def analyze_overlap(
    source: Annotated[str, typer.Option(help="Slug of the source layer.")],
    target: Annotated[str, typer.Option(help="Slug of the target layer.")],
    min_overlap_ha: Annotated[float, typer.Option(help="Smallest overlap, hectares.")] = 0.01,
    fmt: AnalysisFormat = "json",
    source_label: SourceLabel = None,
    target_label: TargetLabel = None,
    source_fields: SourceFields = None,
    target_fields: TargetFields = None,
) -> None:
    """Every overlapping pair of two layers, in hectares."""
    from geo_service.analysis.overlap import overlap

    _check_format(fmt)
    with session_scope() as session:
        result = overlap(
            session, source, target, min_overlap_ha=min_overlap_ha,
            with_geometry=fmt == "geojson", source_label=source_label,
            target_label=target_label, source_fields=_fields(source_fields),
            target_fields=_fields(target_fields), who=OPERATOR,
        )  # fmt: skip
    _print_result(result, fmt)


@analyze_app.command("proximity")
def analyze_proximity(
    source: Annotated[str, typer.Option(help="Slug of the source layer.")],
    target: Annotated[str, typer.Option(help="Slug of the target layer.")],
    within_m: Annotated[float | None, typer.Option(help="Largest distance, metres.")] = None,
    k: Annotated[int, typer.Option(help="Nearest targets per source feature.")] = 1,
    fmt: AnalysisFormat = "json",
    source_label: SourceLabel = None,
    target_label: TargetLabel = None,
    source_fields: SourceFields = None,
    target_fields: TargetFields = None,
) -> None:
    """The nearest target features of each source feature, in metres."""
    from geo_service.analysis.proximity import nearest

    _check_format(fmt)
    with session_scope() as session:
        result = nearest(
            session, source, target, within_m=within_m, k=k, with_geometry=fmt == "geojson",
            source_label=source_label, target_label=target_label,
            source_fields=_fields(source_fields), target_fields=_fields(target_fields),
            who=OPERATOR,
        )  # fmt: skip
    _print_result(result, fmt)


@analyze_app.command("screen")
def analyze_screen(
    geometry: Annotated[
        Path | None, typer.Option(help="GeoJSON file: a (Multi)Polygon, Feature or collection.")
    ] = None,
    zone_id: Annotated[int | None, typer.Option(help="Id of a saved ASM zone.")] = None,
    fmt: AnalysisFormat = "json",
    lang: Annotated[str, typer.Option(help="Language of the rules' reasons: en or fr.")] = "en",
) -> None:
    """Screen a zone against titles, protected areas, rivers and villages."""
    from geo_service.analysis.screen import screen

    _check_format(fmt)
    zone = None
    if geometry is not None:
        zone = json.loads(geometry.read_text(encoding="utf-8"))
        if zone.get("type") == "FeatureCollection":
            zone = zone["features"][0] if zone.get("features") else {}
        if zone.get("type") == "Feature":
            zone = zone.get("geometry")
    with session_scope() as session:
        result = screen(
            session, zone=zone, zone_id=zone_id, with_geometry=fmt == "geojson", lang=lang,
            who=OPERATOR,
        )  # fmt: skip
    _print_result(result, fmt)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file to import.")],
    layer: Annotated[str, typer.Option(help="Slug of the layer (created when missing).")],
    kind: Annotated[str | None, typer.Option(help="Kind of a new layer.")] = None,
    name_field: Annotated[str | None, typer.Option(help="Field naming features.")] = None,
    strict: Annotated[bool, typer.Option(help="Reject invalid geometries.")] = False,
    upsert_key: Annotated[str | None, typer.Option(help="Update features by this field.")] = None,
    table: Annotated[
        str | None, typer.Option(help="GeoPackage table, or Shapefile in the zip (name or path).")
    ] = None,
    crs: Annotated[str | None, typer.Option(help="Source CRS of a file naming none.")] = None,
    visibility: Annotated[
        str, typer.Option(help="Of a new layer: public, internal (any key) or private.")
    ] = "public",
    encoding: Annotated[
        str | None,
        typer.Option(help="Encoding of the file's text (latin-1, cp1252...): overrides a .cpg."),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            help='Field and value mapping, JSON or a file holding it: {"fields": {"holder": '
            '"Parties"}, "values": {"title_type": {"PE": "exploitation"}}}. Kept with the '
            "layer for the next import; {} forgets it."
        ),
    ] = None,
    each_table: Annotated[
        bool, typer.Option(help="Every Shapefile of the zip (GeoPackage table) as its own layer.")
    ] = False,
    preview: Annotated[
        bool, typer.Option(help="Print what the mapping makes of the file; import nothing.")
    ] = False,
) -> None:
    """Import GeoJSON, GeoPackage, zipped Shapefile, CSV, KML, FlatGeobuf, GeoParquet or GeoTIFF;
    prints the summary (with --preview, what the import would make of the fields)."""
    from rich.console import Console
    from rich.progress import Progress

    from geo_service.io.load import ImportOptions, import_file, preview_file
    from geo_service.io.mapping import parse_mapping

    if mapping is not None and not mapping.lstrip().startswith("{"):
        if not Path(mapping).is_file():
            raise fail(f"--mapping: {mapping} is neither JSON nor a file", code=2)
        mapping = Path(mapping).read_text(encoding="utf-8")
    options = ImportOptions(
        kind, name_field, strict, upsert_key, table, crs, who=OPERATOR,
        visibility=check_visibility(visibility), encoding=encoding,
        mapping=parse_mapping(mapping), each_table=each_table,
    )  # fmt: skip
    if preview:
        with session_scope() as session:
            result = preview_file(session, layer, file, file.name, options)
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    with (
        session_scope() as session,
        Progress(console=Console(stderr=True), transient=True) as progress,
    ):
        task = progress.add_task(f"importing {file.name}", total=1.0)

        def report(fraction: float, message: str | None = None) -> None:
            progress.update(task, completed=fraction, description=message or file.name)

        summary = import_file(session, layer, file, file.name, options, report)
        session.commit()
    typer.echo(json.dumps(summary, ensure_ascii=False))


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="The file to write.")],
    layer: Annotated[str, typer.Option(help="Slug of the layer.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="geojson, gpkg, shp, csv or kml (default: from OUT)."),
    ] = None,
    bbox: Annotated[str | None, typer.Option(help="minLon,minLat,maxLon,maxLat.")] = None,
) -> None:
    """Export a layer with all its attributes."""
    import shutil
    import tempfile

    from geo_service.api.features import parse_bbox
    from geo_service.io.formats import export_format
    from geo_service.io.write import export
    from geo_service.store import features as select
    from geo_service.store import layers as store

    suffixes = {".zip": "shp", ".json": "geojson"}
    chosen = export_format(fmt or suffixes.get(out.suffix.lower(), out.suffix.lower()[1:]))
    with session_scope() as session, tempfile.TemporaryDirectory() as folder:
        target = store.get_layer(session, layer, OPERATOR)
        selection = select.Selection(target.id, parse_bbox(bbox))
        written = export(select.rows(session, selection), chosen, target.slug, Path(folder))
        shutil.move(written, out)
    typer.echo(json.dumps({"layer": layer, "format": chosen.name, "file": str(out)}))


@app.command("backup")
def backup_command(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="The archive to write (a tar file).")],
) -> None:
    """Back up the whole database (layers, features, history, keys, audit log) and every raster
    layer's file into one archive."""
    from geo_service import backup
    from geo_service.settings import get_settings

    settings = get_settings().db
    with open_database() as url:
        manifest = backup.backup(url, out, bindir=backup.client_bindir(settings))
    summary = {
        "file": str(out),
        "bytes": out.stat().st_size,
        "schema_revision": manifest.schema_revision,
        "tables": manifest.tables,
        "rasters": len(manifest.rasters),
    }
    typer.echo(json.dumps(summary))


@app.command("restore")
def restore_command(
    archive: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="An archive of `geo-service backup`."),
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Replace everything without asking.")] = False,
) -> None:
    """Replace the whole database and the raster files with a backup (checked first); stop
    `geo-service serve` before, so that no worker keeps serving what was there."""
    from geo_service import backup
    from geo_service.settings import get_settings

    manifest = backup.read_manifest(archive)
    if not yes:
        if not sys.stdin.isatty():
            raise fail("restore replaces the whole database and the rasters: confirm with --yes")
        typer.confirm(
            f"Replace the whole database and the rasters with the backup of "
            f"{manifest.created_at:%Y-%m-%d %H:%M} UTC ({manifest.tables.get('layers', 0)} "
            f"layers, {manifest.tables.get('features', 0)} features)?",
            abort=True,
        )
    settings = get_settings().db
    with open_database() as url:
        summary = backup.restore(
            url, settings.home_path, archive, bindir=backup.client_bindir(settings)
        )
    typer.echo(json.dumps(summary))


risk_app = typer.Typer(help="Country risk ratings.", no_args_is_help=True)
app.add_typer(risk_app, name="country-risk")


@risk_app.command("import")
def country_risk_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A CSV of ratings.")],
) -> None:
    """Import country risk ratings from a CSV (iso3, country, mineral, stage, category, level,
    source, year; English or French names): every row or, at the first bad one, none."""
    from geo_service.domain.country_risk import parse_csv_bytes
    from geo_service.store.country_risk import import_ratings

    rows = parse_csv_bytes(file.read_bytes())
    with session_scope() as session:
        summary = import_ratings(session, rows)
        session.commit()
    typer.echo(json.dumps(summary, ensure_ascii=False))


@risk_app.command("countries")
def country_risk_countries(
    layer: Annotated[str, typer.Option(help="Slug of the new country layer.")] = "countries",
    file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Countries with ISO_A3 or ADM0_A3 codes."),
    ] = None,
) -> None:
    """Load the countries that ratings colour and regions group: a public reference layer of
    theme admin_boundary (Natural Earth 1:110m admin-0 countries unless --file names others)."""
    from geo_service.demo import NATURAL_EARTH
    from geo_service.io.load import ImportOptions, import_file
    from geo_service.store import layers as store

    path = file or NATURAL_EARTH / "ne_110m_admin_0_countries.zip"
    with session_scope() as session:
        store.create_layer(
            session, layer, OPERATOR, visibility="public", kind="reference",
            theme="admin_boundary", title="Countries", title_fr="Pays",
        )  # fmt: skip
        options = ImportOptions(name_field="name", who=OPERATOR, visibility="public")
        summary = import_file(session, layer, path, path.name, options)
        session.commit()
    typer.echo(json.dumps(summary, ensure_ascii=False))


def main() -> None:
    try:
        with _stop_signals.installed():
            app()
    except (LocalClusterError, GeoServiceError) as exc:
        typer.secho(f"geo-service: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except Stopped as stopped:
        typer.echo(f"geo-service: interrupted by {stopped}", err=True)
        sys.exit(128 + stopped.signum)


if __name__ == "__main__":
    main()
