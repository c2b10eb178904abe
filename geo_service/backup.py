"""Backups: the whole database and every raster file in one archive, and their restore.

An archive is a tar file (not compressed again: its members are compressed already) holding

- `manifest.json`: the format and its version, the geo-service version, the Alembic schema
  revision, the creation time (UTC), the rows of every table, and the size (bytes) and SHA-256
  of each other member;
- `database.dump`: `pg_dump --format=custom` of the whole database (zlib-compressed by pg_dump);
- `rasters/<slug>.tif`: the GeoTIFF of each raster layer.

The counts, the revision and the list of rasters are read in the snapshot that pg_dump dumps
(an exported snapshot), so the manifest describes the dump exactly while the service writes on.
A restore checks the whole archive before it touches anything, replaces the database in one
transaction, puts the rasters under `<home>/rasters`, points `layers.raster_path` at them and
migrates the schema to head (an archive of an older version).

    >>> backup(url, Path("cadastre.tar"))  # doctest: +SKIP
    >>> restore(url, Path("var"), Path("cadastre.tar"))["tables"]["features"]  # doctest: +SKIP
    1520
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

import psycopg
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from psycopg import sql
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import make_url

from geo_service import __version__
from geo_service.db.engine import alembic_config, migrate
from geo_service.db.local import find_bindir
from geo_service.errors import BrokenFile, DatabaseUnavailable, InvalidInput
from geo_service.io.raster import raster_folder
from geo_service.settings import DatabaseSettings
from geo_service.tiles.cache import TileCache

FORMAT: Literal["geo-service-backup"] = "geo-service-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DUMP: Literal["database.dump"] = "database.dump"
COMMAND_TIMEOUT = 3600.0  # seconds pg_dump, or a whole restore of the database, may take
CONNECT_TIMEOUT = 10  # seconds
# A restore waits this long for a table that another session holds (a running service).
LOCK_TIMEOUT = "30s"
_CHUNK = 1 << 20  # bytes copied at a time
_SHOWN_OUTPUT = 2000  # last characters of a failed command's output put in the message


class StoredFile(BaseModel):
    """A member of the archive: its name, its size in bytes and its SHA-256 (hex)."""

    file: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class StoredDump(StoredFile):
    """The database: `pg_dump --format=custom`, whose version the manifest names."""

    file: Literal["database.dump"]


class StoredRaster(StoredFile):
    """The file of a raster layer, with the path it had where the backup was made."""

    file: str = Field(pattern=r"^rasters/[a-z0-9][a-z0-9_-]*\.tif$")
    layer_id: int
    layer: str
    original_path: str


class Manifest(BaseModel):
    """What an archive holds; `tables` counts rows per table of the schema `public`."""

    format: Literal["geo-service-backup"]
    format_version: int
    geo_service_version: str
    schema_revision: str
    created_at: datetime
    postgresql: dict[str, str]
    tables: dict[str, int]
    database: StoredDump
    rasters: list[StoredRaster]


# Every table, view, sequence, routine and type of the schema `public` that no extension owns
# (and that is not part of another, as a serial column's sequence is): a restore drops them first,
# in its transaction. pg_restore --clean drops only what the archive holds, and a table added by
# a later migration would be left behind for `migrate` to trip on.
_CLEAR = f"""
SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';
SET LOCAL client_min_messages = warning;
DO $$
DECLARE
  statement text;
BEGIN
  FOR statement IN
    SELECT format('DROP %s IF EXISTS public.%s CASCADE', kind, name)
    FROM (
      SELECT 1 AS rank, c.oid, 'pg_class'::regclass AS catalog, quote_ident(c.relname) AS name,
             CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                            WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                            ELSE 'TABLE' END AS kind
      FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      UNION ALL
      SELECT 2, p.oid, 'pg_proc'::regclass,
             quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
             CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                            ELSE 'FUNCTION' END
      FROM pg_proc p
      WHERE p.pronamespace = 'public'::regnamespace
      UNION ALL
      SELECT 3, t.oid, 'pg_type'::regclass, quote_ident(t.typname),
             CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END
      FROM pg_type t
      WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r')
    ) AS own
    WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = own.catalog AND d.objid = own.oid
                        AND d.deptype IN ('e', 'a', 'i'))
    ORDER BY rank
  LOOP
    EXECUTE statement;
  END LOOP;
END $$;
"""


def client_bindir(settings: DatabaseSettings) -> Path | None:
    """The folder of pg_dump, pg_restore and psql: beside the embedded cluster's initdb (the
    server's major version), or None for those on PATH when the database is external."""
    return None if settings.database_url else find_bindir(settings.pg_bindir)


class _Client:
    """PostgreSQL's client programs run against one database, over TCP, within `timeout`
    seconds. The password goes in PGPASSWORD, never on a command line (`ps` shows those)."""

    def __init__(self, url: str, bindir: Path | None, timeout: float) -> None:
        parsed = make_url(url)
        self.password = parsed.password
        self.dsn = parsed.set(drivername="postgresql", password=None).render_as_string(
            hide_password=False
        )
        self.bindir = bindir
        self.timeout = timeout
        self.env = {**os.environ, "PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT)}
        if self.password is not None:
            self.env["PGPASSWORD"] = str(self.password)

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self.dsn,
            password=self.password,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="geo-service backup",
        )

    def program(self, name: str) -> str:
        found = str(self.bindir / name) if self.bindir else shutil.which(name)
        if found is None or not Path(found).is_file():
            raise DatabaseUnavailable(
                f"`{name}` was not found{f' in {self.bindir}' if self.bindir else ' on PATH'}: "
                "install PostgreSQL's client programs (Debian: postgresql-client)"
            )
        return found

    def run(self, name: str, *args: str) -> str:
        """The standard output of `name args`; DatabaseUnavailable naming it when it fails."""
        try:
            done = subprocess.run(
                [self.program(name), *args],
                capture_output=True,
                text=True,
                env=self.env,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
                check=False,  # the message below names the program and shows its output
            )
        except subprocess.TimeoutExpired:
            raise _timed_out(name, self.timeout) from None
        if done.returncode != 0:
            raise DatabaseUnavailable(_failed(name, done.returncode, done.stderr or done.stdout))
        return done.stdout

    def load(self, dump: Path, before: str, after: str) -> None:
        """Run `before`, the SQL of `dump` (pg_restore) and `after` in one transaction of psql.

        pg_restore's script is piped into psql, never stored on disk. COMMIT is sent only once
        pg_restore has written all of it and exited cleanly: if either program fails or the
        time runs out, psql's connection closes with the transaction open, and PostgreSQL rolls
        it back, leaving the database as it was.
        """
        restore_args = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--file=-"]
        psql_args = [
            "--no-psqlrc",
            "--quiet",
            "--no-password",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={self.dsn}",
        ]
        with tempfile.TemporaryFile() as restore_log, tempfile.TemporaryFile() as psql_log:
            reader = subprocess.Popen(
                [self.program("pg_restore"), *restore_args, str(dump)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=restore_log,
                env=self.env,
            )
            writer = subprocess.Popen(
                [self.program("psql"), *psql_args],
                stdin=subprocess.PIPE,
                stdout=psql_log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
            expired = threading.Event()

            def stop() -> None:
                expired.set()
                reader.kill()
                writer.kill()

            watchdog = threading.Timer(self.timeout, stop)
            watchdog.start()
            try:
                _pump(reader, writer, f"BEGIN;\n{before}", f"{after}COMMIT;\n")
            finally:
                watchdog.cancel()
                for process in (reader, writer):
                    if process.poll() is None:
                        process.kill()
                    process.wait()
                if reader.stdout is not None:
                    reader.stdout.close()
            if writer.returncode == 0 and reader.returncode == 0:
                return
            if expired.is_set():
                raise _timed_out("pg_restore | psql", self.timeout)
            for name, process, log in (
                ("psql", writer, psql_log),
                ("pg_restore", reader, restore_log),
            ):
                if process.returncode != 0:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    raise DatabaseUnavailable(_failed(name, process.returncode, output))


def _pump(
    reader: subprocess.Popen[bytes], writer: subprocess.Popen[bytes], head: str, tail: str
) -> None:
    """Send `head`, then `reader`'s output, then (if `reader` exits cleanly) `tail` to `writer`."""
    assert reader.stdout is not None and writer.stdin is not None
    # psql stops at the first error and closes its end: what it says then is in its log.
    with contextlib.suppress(BrokenPipeError):
        writer.stdin.write(head.encode())
        shutil.copyfileobj(reader.stdout, writer.stdin, _CHUNK)
        if reader.wait() == 0:
            writer.stdin.write(tail.encode())
    with contextlib.suppress(BrokenPipeError):
        writer.stdin.close()
    writer.wait()


def _failed(name: str, code: int, output: str) -> str:
    shown = output.strip()[-_SHOWN_OUTPUT:] or "no message"
    return f"`{name}` failed (exit status {code}): {shown}"


def _timed_out(name: str, timeout: float) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"`{name}` did not finish within {timeout:g} s and was stopped")


def table_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Rows of every table of the schema `public` that no extension owns, by table name."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT c.relname FROM pg_class c"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"
            " AND NOT c.relispartition AND NOT EXISTS (SELECT 1 FROM pg_depend d"
            "   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')"
            " ORDER BY c.relname"
        )
    ]
    counts: dict[str, int] = {}
    for name in names:
        query = sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(name))
        row = conn.execute(query).fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def _copy(source: IO[bytes], target: Path) -> tuple[int, str]:
    """Copy `source` into the new file `target`; its size in bytes and SHA-256 (hex)."""
    digest = hashlib.sha256()
    size = 0
    with open(target, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _one(conn: psycopg.Connection[Any], query: str) -> tuple[Any, ...]:
    row = conn.execute(query).fetchone()
    assert row is not None
    return tuple(row)


def _stored_dump(path: Path) -> StoredDump:
    with open(path, "rb") as source:
        digest = hashlib.file_digest(source, "sha256")
    return StoredDump(file=DUMP, size=path.stat().st_size, sha256=digest.hexdigest())


def backup(
    url: str, out: Path, *, bindir: Path | None = None, timeout: float = COMMAND_TIMEOUT
) -> Manifest:
    """Write the database at `url` and every raster layer's file into the archive `out`.

    `bindir` holds pg_dump (None: the one on PATH); pg_dump may take `timeout` seconds. The
    archive appears at `out` only once complete (an existing file is replaced then); the work
    files are kept beside it meanwhile, so that folder needs about twice the archive's size.
    """
    client = _Client(url, bindir, timeout)
    out = out.expanduser().absolute()
    if not out.parent.is_dir():
        raise InvalidInput(f"There is no folder {out.parent} to write the backup in")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work:
        folder = Path(work)
        (folder / "rasters").mkdir()
        with client.connect() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            snapshot, server = _one(
                conn, "SELECT pg_export_snapshot(), current_setting('server_version')"
            )
            revision = _one(conn, "SELECT version_num FROM alembic_version")[0]
            tables = table_counts(conn)
            layers = conn.execute(
                "SELECT id, slug, raster_path FROM layers WHERE raster_path IS NOT NULL ORDER BY id"
            ).fetchall()
            # The transaction holds the snapshot open while pg_dump reads it.
            client.run(
                "pg_dump",
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--file={folder / DUMP}",
                f"--dbname={client.dsn}",
            )
        rasters = [_copy_raster(layer_id, slug, path, folder) for layer_id, slug, path in layers]
        manifest = Manifest(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            geo_service_version=__version__,
            schema_revision=revision,
            created_at=datetime.now(UTC),
            postgresql={"server": server, "pg_dump": client.run("pg_dump", "--version").strip()},
            tables=tables,
            database=_stored_dump(folder / DUMP),
            rasters=rasters,
        )
        partial = folder / "archive.tar"
        with open(partial, "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
                data = manifest.model_dump_json(indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(manifest.created_at.timestamp())
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
                for member in (manifest.database, *manifest.rasters):
                    tar.add(folder / member.file, arcname=member.file)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, out)
    return manifest


def _copy_raster(layer_id: int, slug: str, path: str, folder: Path) -> StoredRaster:
    """A copy of a raster layer's file in `folder`: the archive then holds the bytes that were
    hashed, even if the layer is re-imported meanwhile."""
    name = f"rasters/{slug}.tif"
    try:
        with open(path, "rb") as source:
            size, digest = _copy(source, folder / name)
    except FileNotFoundError:
        raise BrokenFile(
            f"The file of raster layer '{slug}' is missing ({path}): import it again or delete "
            "the layer, then back up",
            where={"layer": slug, "raster_path": path},
        ) from None
    return StoredRaster(
        file=name, size=size, sha256=digest, layer_id=layer_id, layer=slug, original_path=path
    )


@contextlib.contextmanager
def _open(archive: Path) -> Iterator[tarfile.TarFile]:
    """The archive, its damage (a cut, a bad header) raised as BrokenFile."""
    if not archive.is_file():
        raise InvalidInput(f"There is no backup file {archive}", where={"file": str(archive)})
    try:
        with tarfile.open(archive, mode="r:") as tar:
            yield tar
    except (tarfile.TarError, EOFError) as exc:
        raise BrokenFile(
            f"{archive} is not a readable geo-service backup ({exc}): it may be cut short or "
            "damaged",
            where={"file": str(archive)},
        ) from None


def _manifest(tar: tarfile.TarFile, archive: Path) -> Manifest:
    where = {"file": str(archive), "member": MANIFEST}
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        document = json.loads(handle.read() if handle else b"")
    except KeyError:
        raise BrokenFile(
            f"{archive} has no {MANIFEST}: it is not a geo-service backup", where=where
        ) from None
    except ValueError as exc:
        raise BrokenFile(f"The {MANIFEST} of {archive} is not JSON ({exc})", where=where) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BrokenFile(f"{archive} is not a geo-service backup", where=where)
    if document.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(
            f"{archive} is in backup format {document.get('format_version')!r}, which this "
            f"geo-service ({__version__}, format {FORMAT_VERSION}) cannot read: restore it with "
            f"geo-service {document.get('geo_service_version', '?')} or newer",
            where=where,
        )
    try:
        manifest = Manifest.model_validate(document)
    except ValidationError as exc:
        raise BrokenFile(f"The {MANIFEST} of {archive} is damaged: {exc}", where=where) from None
    _check_revision(manifest, where)
    return manifest


def _check_revision(manifest: Manifest, where: dict[str, str]) -> None:
    """Refuse a schema this version cannot migrate from (a newer geo-service's)."""
    scripts = ScriptDirectory.from_config(alembic_config(""))
    try:
        known = scripts.get_revision(manifest.schema_revision)
    except CommandError:
        known = None
    if known is None or known.revision != manifest.schema_revision:
        raise InvalidInput(
            f"The backup's schema is at revision '{manifest.schema_revision}', which this "
            f"geo-service ({__version__}, newest revision '{scripts.get_current_head()}') does "
            f"not know: restore it with geo-service {manifest.geo_service_version} or newer",
            where=where,
        )


def read_manifest(archive: Path) -> Manifest:
    """The manifest of `archive`, checked (format, schema revision); the rest is not read."""
    with _open(archive) as tar:
        return _manifest(tar, archive)


def _unpack(archive: Path, folder: Path) -> Manifest:
    """Check the whole archive and write its members into `folder`; BrokenFile at the first
    missing, unexpected, cut or damaged member."""
    with _open(archive) as tar:
        manifest = _manifest(tar, archive)
        expected = {m.file: m for m in (manifest.database, *manifest.rasters)}
        (folder / "rasters").mkdir()
        for member in tar:
            if member.name == MANIFEST:
                continue
            listed = expected.pop(member.name, None)
            where = {"file": str(archive), "member": member.name}
            handle = tar.extractfile(member) if listed and member.isfile() else None
            if listed is None or handle is None:
                raise BrokenFile(
                    f"{archive} holds '{member.name}', which its manifest does not list",
                    where=where,
                )
            size, digest = _copy(handle, folder / member.name)
            if size != listed.size or digest != listed.sha256:
                raise BrokenFile(
                    f"'{member.name}' in {archive} is damaged: its size or SHA-256 differs "
                    "from the manifest's",
                    where=where,
                )
        if expected:
            raise BrokenFile(
                f"{archive} lacks {', '.join(expected)}, listed in its manifest: it was cut short",
                where={"file": str(archive)},
            )
    return manifest


def _literal(text: str) -> str:
    """An SQL string literal (the dump's script sets standard_conforming_strings on)."""
    return "'" + text.replace("'", "''") + "'"


def _highest_version(client: _Client) -> int:
    """The highest layer version in the database before a restore (0 when it has none)."""
    with client.connect() as conn:
        exists = conn.execute("SELECT to_regclass('public.layers')").fetchone()
        if not exists or exists[0] is None:
            return 0
        row = conn.execute("SELECT coalesce(max(version), 0) FROM public.layers").fetchone()
    return int(row[0]) if row else 0


def restore(
    url: str,
    home: Path,
    archive: Path,
    *,
    bindir: Path | None = None,
    timeout: float = COMMAND_TIMEOUT,
) -> dict[str, Any]:
    """Replace the database at `url` and the raster files under `home` with `archive`.

    Every member is checked against the manifest (and the dump by pg_restore) before anything
    changes; the database is then replaced in one transaction (a failure leaves it as it was),
    each raster goes to `<home>/rasters/<slug>.tif` with `layers.raster_path` rewritten to it,
    every layer's version is lifted above the versions it had here (so that no ETag from before
    matches), the tile cache under `<home>/tiles` is emptied and the schema is migrated to head. `bindir` holds pg_restore and psql (None: those on PATH); the
    database's part may take `timeout` seconds. Returns the rows per table afterwards.
    """
    client = _Client(url, bindir, timeout)
    for program in ("pg_restore", "psql"):
        client.program(program)
    home = home.expanduser().resolve()
    rasters = raster_folder(home)
    with tempfile.TemporaryDirectory(dir=home, prefix=".restore-") as work:
        folder = Path(work)
        manifest = _unpack(archive, folder)
        try:
            client.run("pg_restore", "--list", str(folder / DUMP))
        except DatabaseUnavailable as exc:
            raise BrokenFile(
                f"The database dump in {archive} (written by "
                f"{manifest.postgresql.get('pg_dump', 'pg_dump')}) cannot be read: {exc}",
                where={"file": str(archive), "member": DUMP},
            ) from None
        placed = {raster.file: rasters / Path(raster.file).name for raster in manifest.rasters}
        paths = "".join(
            f"UPDATE public.layers SET raster_path = {_literal(str(placed[raster.file]))}"
            f" WHERE id = {raster.layer_id};\n"
            for raster in manifest.rasters
        )
        # Versions restored from the archive go back in time; lifted above every version the
        # layers have had here, no ETag or cached tile of before the restore can match them.
        lift = f"UPDATE public.layers SET version = version + {_highest_version(client)};\n"
        client.load(folder / DUMP, before=_CLEAR, after=paths + lift)
        for name, target in placed.items():
            shutil.move(folder / name, target)
    TileCache(home / "tiles", 0).clear()
    migrate(url)
    with client.connect() as conn:
        tables = table_counts(conn)
    return {
        "archive": str(archive),
        "created_at": manifest.created_at.isoformat(),
        "schema_revision": manifest.schema_revision,
        "tables": tables,
        "rasters": [str(path) for path in placed.values()],
    }
