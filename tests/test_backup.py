"""`geo-service backup` / `restore` round-trip every table and raster file, on the real cluster.

Each table is compared as an md5 of its rows' text ordered by that text, taken before the
backup and after the restore; the numbers of rows are those the test itself put in.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import pytest
import rasterio
from rasterio.transform import from_origin
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from geo_service import backup as backups
from geo_service.cli import app
from geo_service.db import access, audit
from geo_service.db.engine import make_engine, migrate
from geo_service.db.local import LocalCluster, find_bindir
from geo_service.domain.access import OPERATOR
from geo_service.errors import BrokenFile, DatabaseUnavailable, InvalidInput
from geo_service.io.load import ImportOptions, import_file
from geo_service.settings import get_settings
from geo_service.store import layers as store
from tests.conftest import RUN_ID

BINDIR = find_bindir()
# Rows the fill below puts in: 3 layers (one raster), 4 + 2 features of which one is deleted,
# one update and one delete kept in history, 2 keys.
LAYERS, FEATURES, HISTORY, KEYS = 3, 5, 2, 2


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def square(lon: float, lat: float, size: float = 0.01) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def circle(lon: float, lat: float, vertices: int = 1200, radius: float = 0.05) -> dict:
    """A polygon big enough for feature_parts (over 256 vertices) and feature_simplified
    (over 1,000): the tables the triggers maintain."""
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    ring = [[lon + radius * np.cos(a), lat + radius * np.sin(a)] for a in angles]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _head() -> str:
    from alembic.script import ScriptDirectory

    from geo_service.db.engine import alembic_config

    return str(ScriptDirectory.from_config(alembic_config("")).get_current_head())


HEAD = _head()


def fingerprint(url: str, without: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Per table of `public` (extensions' aside): its row count and the md5 of its rows, each as
    text (geometry as hex EWKB, exact), sorted; `without` leaves columns out (as JSONB then).
    Layer versions are always left out: a restore lifts them on purpose (see
    test_restored_versions_are_above_every_earlier_one). Also the sequences' last values, so
    that new rows get the ids they would have had."""
    without = {**(without or {})}
    without["layers"] = [*without.get("layers", []), "version"]
    prints: dict[str, str] = {}
    with psycopg.connect(libpq(url)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
                " AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_depend d"
                " WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
                " AND d.deptype = 'e')"
            )
        ]
        for table in tables:
            row = "to_jsonb(t) - %s::text[]" if table in without else "t::text"
            prints[table] = value(
                conn,
                f"SELECT count(*) || ':' || md5(coalesce(string_agg(r::text, '|'"
                f" ORDER BY r::text), '')) FROM (SELECT {row} AS r FROM public.{table} t) rows",
                [without[table]] if table in without else [],
            )
        prints["sequences"] = value(
            conn,
            "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ','"
            " ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'public'",
        )
    return prints


def value(conn: psycopg.Connection, query: str, params: list | None = None):
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def counts(url: str, *tables: str) -> dict[str, int]:
    with psycopg.connect(libpq(url)) as conn:
        return {t: value(conn, f"SELECT count(*) FROM {t}") for t in tables}


def schema_revision(url: str) -> str:
    with psycopg.connect(libpq(url)) as conn:
        return value(conn, "SELECT version_num FROM alembic_version")


def raster_paths(url: str) -> dict[str, str]:
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute("SELECT slug, raster_path FROM layers WHERE raster_path IS NOT NULL")
        return dict(rows.fetchall())


def write_geotiff(path: Path) -> None:
    """A 64 x 48 uint8 elevation-like grid over Kéniéba, EPSG:4326, 0.001 degree pixels."""
    values = (np.arange(64 * 48, dtype=np.uint32) % 251).astype(np.uint8).reshape(48, 64)
    with rasterio.open(
        path, "w", driver="GTiff", width=64, height=48, count=1, dtype="uint8",
        crs="EPSG:4326", transform=from_origin(-11.4, 12.9, 0.001, 0.001), nodata=0,
    ) as dst:  # fmt: skip
        dst.write(values, 1)


def fill(url: str, home: Path, work: Path) -> None:
    """A public and a private layer with features, an update, a delete, two keys with their
    audit rows, and a raster layer whose GeoTIFF goes under `home`/rasters."""
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session:
            titles = store.create_layer(session, "titles", OPERATOR, kind="concession",
                                        visibility="public")  # fmt: skip
            notes = store.create_layer(session, "field-notes", OPERATOR, kind="reference",
                                       visibility="private")  # fmt: skip
            made = [
                store.create_feature(session, titles, square(-11.3 + i / 10, 12.8),
                                     {"code": f"PE-{i}", "holder": "Sadiola SA"}, who=OPERATOR)
                for i in range(3)
            ]  # fmt: skip
            store.create_feature(session, titles, circle(-11.0, 12.6), {"code": "PE-9"},
                                 who=OPERATOR)  # fmt: skip
            for lon in (-11.25, -11.15):
                point = {"type": "Point", "coordinates": [lon, 12.85]}
                store.create_feature(session, notes, point, {"note": "panning"}, who=OPERATOR)
            store.update_feature(session, titles, made[0].id, properties={"holder": "Loulo SA"},
                                 who=OPERATOR)  # fmt: skip
            store.delete_feature(session, titles, made[2].id, who=OPERATOR)
            for name, role in (("ministry-portal", "viewer"), ("cadastre-editor", "editor")):
                _, key = access.create_key(session, name, role, created_by=OPERATOR.actor)
                audit.record(session, OPERATOR, "key-create", after=access.describe(key))
            source = work / "elevation-source.tif"
            write_geotiff(source)
            import_file(session, "elevation", source, options=ImportOptions(who=OPERATOR),
                        home=home)  # fmt: skip
            session.commit()
    finally:
        engine.dispose()


def versions(url: str) -> dict[str, int]:
    with psycopg.connect(libpq(url)) as conn:
        return dict(conn.execute("SELECT slug, version FROM layers").fetchall())


def damage(url: str, home: Path) -> None:
    """What a bad day does: a layer deleted, features changed, a key revoked, a new layer, the
    raster file gone."""
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session:
            store.delete_layer(session, "field-notes", OPERATOR)
            titles = store.get_layer(session, "titles", OPERATOR)
            for feature in titles.features:
                store.update_feature(session, titles, feature.id, properties={"holder": "X"},
                                     who=OPERATOR)  # fmt: skip
            access.revoke_key(session, "ministry-portal")
            store.create_layer(session, "scratch", OPERATOR)
            session.commit()
    finally:
        engine.dispose()
    (home / "rasters" / "elevation.tif").unlink()


@pytest.fixture(scope="module")
def databases(cluster: LocalCluster | None) -> Iterator[Callable[[str], str]]:
    """make(suffix) -> the URL of a fresh database with PostGIS; all are dropped at the end."""
    if cluster is None:
        pytest.skip("creating databases needs the embedded test cluster")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    made: list[str] = []

    def make(suffix: str) -> str:
        # Named like conftest's, so that a run that dies leaves nothing the next run keeps.
        name = f"geo_test_{os.environ[RUN_ID]}_{worker}_backup_{suffix}"
        made.append(name)
        return cluster.create_database(name, drop=True)

    yield make
    with psycopg.connect(cluster.libpq_url("postgres"), autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Filled:
    url: str
    home: Path
    prints: dict[str, str]
    raster: bytes


def filled(make: Callable[[str], str], suffix: str, folder: Path) -> Filled:
    url = make(suffix)
    migrate(url)
    home = folder / "home"
    fill(url, home, folder)
    raster = (home / "rasters" / "elevation.tif").read_bytes()
    return Filled(url, home, fingerprint(url), raster)


@pytest.fixture(scope="module")
def archived(
    databases: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Filled, Path]:
    """A filled database that the tests using it leave as it is, and its backup."""
    folder = tmp_path_factory.mktemp("archived")
    source = filled(databases, "source", folder)
    archive = folder / "cadastre.tar"
    backups.backup(source.url, archive, bindir=BINDIR)
    return source, archive


def test_restore_undoes_every_change_since_the_backup(
    databases: Callable[[str], str], tmp_path: Path
) -> None:
    source = filled(databases, "undo", tmp_path)
    assert counts(source.url, "layers", "features", "feature_history", "api_keys") == {
        "layers": LAYERS, "features": FEATURES, "feature_history": HISTORY, "api_keys": KEYS,
    }  # fmt: skip
    archive = tmp_path / "backups" / "cadastre.tar"
    archive.parent.mkdir()

    manifest = backups.backup(source.url, archive, bindir=BINDIR)

    assert manifest.tables == {t: int(p.split(":")[0]) for t, p in source.prints.items()
                               if t != "sequences"}  # fmt: skip
    assert all(manifest.tables[t] > 0 for t in ("audit_log", "feature_parts", "feature_simplified"))
    assert manifest.schema_revision == schema_revision(source.url)
    assert [r.layer for r in manifest.rasters] == ["elevation"]
    assert list(archive.parent.iterdir()) == [archive]  # no work files left beside it
    damage(source.url, source.home)
    assert fingerprint(source.url) != source.prints
    used = versions(source.url)

    summary = backups.restore(source.url, source.home, archive, bindir=BINDIR)

    assert fingerprint(source.url) == source.prints
    # Every layer's version is above all the versions layers had before: an ETag or cached
    # tile from the damaged state can never match the restored layers.
    assert min(versions(source.url).values()) > max(used.values())
    restored = source.home / "rasters" / "elevation.tif"
    assert restored.read_bytes() == source.raster
    assert raster_paths(source.url) == {"elevation": str(restored)}
    assert summary["tables"]["layers"] == LAYERS and summary["tables"]["features"] == FEATURES
    assert not [p for p in source.home.iterdir() if p.name.startswith(".restore-")]


def test_restore_into_an_empty_database_in_another_home(
    archived: tuple[Filled, Path], databases: Callable[[str], str], tmp_path: Path
) -> None:
    source, archive = archived
    target = databases("empty")  # PostGIS only: no migration, no table
    home = tmp_path / "other-machine"

    backups.restore(target, home, archive, bindir=BINDIR)

    moved = home / "rasters" / "elevation.tif"
    assert raster_paths(target) == {"elevation": str(moved.resolve())}
    assert moved.read_bytes() == source.raster
    # Everything else is the same, to the last row and sequence value.
    left_out = {"layers": ["raster_path"]}
    assert fingerprint(target, left_out) == fingerprint(source.url, left_out)
    assert fingerprint(source.url) == source.prints


def _rewritten(archive: Path, out: Path, change: Callable[[str, bytes], bytes]) -> None:
    """A copy of `archive` whose members went through `change(name, data)`, sizes updated."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            handle = src.extractfile(member)
            data = change(member.name, handle.read() if handle else b"")
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def _member(archive: Path, name: str) -> tarfile.TarInfo:
    with tarfile.open(archive) as tar:
        return tar.getmember(name)


def cut_in(name: str) -> Callable[[Path, Path], None]:
    def cut(archive: Path, out: Path) -> None:
        member = _member(archive, name)
        out.write_bytes(archive.read_bytes()[: member.offset_data + member.size // 2])

    return cut


def flip_in(name: str) -> Callable[[Path, Path], None]:
    def flip(archive: Path, out: Path) -> None:
        member = _member(archive, name)
        data = bytearray(archive.read_bytes())
        data[member.offset_data + member.size // 2] ^= 0xFF
        out.write_bytes(bytes(data))

    return flip


def newer_schema(archive: Path, out: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != backups.MANIFEST:
            return data
        return json.dumps({**json.loads(data), "schema_revision": "0099_future"}).encode()

    _rewritten(archive, out, change)


def without_dump(archive: Path, out: Path) -> None:
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            if member.name != backups.DUMP:
                dst.addfile(member, src.extractfile(member))


def escaping_name(archive: Path, out: Path) -> None:
    """The raster listed and stored as ../escape.tif: written outside the restore's folder, it
    would land anywhere."""
    escape = "../escape.tif"
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            handle = src.extractfile(member)
            data = handle.read() if handle else b""
            if member.name == backups.MANIFEST:
                manifest = json.loads(data)
                manifest["rasters"][0]["file"] = escape
                data = json.dumps(manifest).encode()
            elif member.name.startswith("rasters/"):
                member.name = escape
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def not_an_archive(archive: Path, out: Path) -> None:
    write_geotiff(out)


@pytest.mark.parametrize(
    ("spoil", "error", "says"),
    [
        (cut_in(backups.DUMP), BrokenFile, "cut short"),
        (cut_in("rasters/elevation.tif"), BrokenFile, "cut short"),
        (flip_in(backups.DUMP), BrokenFile, "SHA-256"),
        (flip_in("rasters/elevation.tif"), BrokenFile, "SHA-256"),
        (without_dump, BrokenFile, "lacks database.dump"),
        (escaping_name, BrokenFile, "manifest.json of"),
        (not_an_archive, BrokenFile, "not a readable geo-service backup"),
        (newer_schema, InvalidInput, "revision '0099_future'"),
    ],
    ids=["cut-dump", "cut-raster", "flipped-dump", "flipped-raster", "no-dump", "escaping-name", "not-tar",
         "newer-schema"],
)  # fmt: skip
def test_a_spoilt_archive_is_refused_and_changes_nothing(
    archived: tuple[Filled, Path],
    tmp_path: Path,
    spoil: Callable[[Path, Path], None],
    error: type[InvalidInput],
    says: str,
) -> None:
    source, archive = archived
    spoilt = tmp_path / "spoilt.tar"
    spoil(archive, spoilt)
    rasters_before = sorted(p.name for p in (source.home / "rasters").iterdir())

    with pytest.raises(error) as refused:
        backups.restore(source.url, source.home, spoilt, bindir=BINDIR)

    assert type(refused.value) is error and says in refused.value.detail
    assert fingerprint(source.url) == source.prints
    assert sorted(p.name for p in (source.home / "rasters").iterdir()) == rasters_before
    assert (source.home / "rasters" / "elevation.tif").read_bytes() == source.raster
    assert not [p for p in source.home.iterdir() if p.name.startswith(".restore-")]
    assert not (source.home / "escape.tif").exists()


def test_a_missing_archive_is_refused(archived: tuple[Filled, Path], tmp_path: Path) -> None:
    source, _ = archived
    with pytest.raises(InvalidInput, match="no backup file"):
        backups.restore(source.url, source.home, tmp_path / "nowhere.tar", bindir=BINDIR)


def test_a_restore_stopped_half_way_leaves_the_database_as_it_was(
    archived: tuple[Filled, Path],
) -> None:
    """Another session holds a table, so the restore waits inside its transaction (some tables
    dropped already) until its time is up and psql is killed: PostgreSQL rolls it all back."""
    source, archive = archived
    with psycopg.connect(libpq(source.url)) as holder:
        holder.execute("LOCK TABLE audit_log IN ACCESS SHARE MODE")
        with pytest.raises(DatabaseUnavailable, match="did not finish within 2 s"):
            backups.restore(source.url, source.home, archive, bindir=BINDIR, timeout=2)
        holder.rollback()
    assert fingerprint(source.url) == source.prints
    assert (source.home / "rasters" / "elevation.tif").read_bytes() == source.raster


def test_an_older_archive_replaces_newer_tables_and_is_migrated(
    databases: Callable[[str], str], tmp_path: Path
) -> None:
    old = databases("old")
    migrate(old, "0003_tiles")  # before keys and the audit log existed
    with psycopg.connect(libpq(old)) as conn:
        layer = value(
            conn,
            "INSERT INTO layers (slug, title, kind) VALUES ('old-titles', 'Titles', 'concession')"
            " RETURNING id",
        )
        conn.execute(
            "INSERT INTO features (layer_id, name, properties, geom) VALUES"
            " (%s, 'PE-7', '{\"code\": \"PE-7\"}', ST_GeomFromText(%s, 4326))",
            [layer, "POLYGON((-11 12, -10.9 12, -10.9 12.1, -11 12.1, -11 12))"],
        )
    archive = tmp_path / "old.tar"
    assert backups.backup(old, archive, bindir=BINDIR).schema_revision == "0003_tiles"
    target = filled(databases, "newer", tmp_path)

    backups.restore(target.url, tmp_path / "home", archive, bindir=BINDIR)

    assert schema_revision(target.url) == HEAD
    assert counts(target.url, "layers", "features", "api_keys", "audit_log") == {
        "layers": 1, "features": 1, "api_keys": 0, "audit_log": 0,
    }  # fmt: skip
    with psycopg.connect(libpq(target.url)) as conn:
        geom = value(conn, "SELECT ST_AsText(geom) FROM features")
    assert geom == "POLYGON((-11 12,-10.9 12,-10.9 12.1,-11 12.1,-11 12))"


def test_the_cli_backs_up_and_restores(
    databases: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = filled(databases, "cli", tmp_path)
    monkeypatch.setenv("GEO_SERVICE_DATABASE_URL", source.url)
    monkeypatch.setenv("GEO_SERVICE_HOME", str(source.home))
    archive = tmp_path / "cli.tar"
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        made = runner.invoke(app, ["backup", str(archive)])
        assert made.exit_code == 0, made.output
        summary = json.loads(made.stdout)
        assert summary["tables"]["features"] == FEATURES and summary["rasters"] == 1
        assert summary["bytes"] == archive.stat().st_size
        damage(source.url, source.home)
        damaged = fingerprint(source.url)

        asked = runner.invoke(app, ["restore", str(archive)])  # no terminal, no --yes
        assert asked.exit_code == 1 and "--yes" in asked.output
        assert fingerprint(source.url) == damaged

        done = runner.invoke(app, ["restore", str(archive), "--yes"])
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["tables"]["api_keys"] == KEYS
    finally:
        get_settings.cache_clear()
    assert fingerprint(source.url) == source.prints
    assert (source.home / "rasters" / "elevation.tif").read_bytes() == source.raster
