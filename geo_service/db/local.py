"""The embedded default database: a private PostgreSQL + PostGIS cluster under the data folder.

With no GEO_SERVICE_DATABASE_URL the service runs its own cluster: `initdb` on first use, then
`pg_ctl start` on a Unix socket in the cluster folder and a free loopback port (never 5432, which
belongs to the machine's own server). As root the cluster runs as an unprivileged user, because
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DATABASE = "geo_service"
SUPERUSER = "geo"
_FALLBACK_ROOT = Path("/var/lib/geo-service/clusters")
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.NNNNN"
COMMAND_TIMEOUT = 30.0  # seconds for a quick command (pg_ctl status, test -w)
START_TIMEOUT = 60  # seconds pg_ctl waits for the server; initdb gets twice as long
LOCK_TIMEOUT = 4.0 * START_TIMEOUT  # another process may be initialising and starting
CONNECT_TIMEOUT = 10  # seconds, for the set-up connections to the cluster


class LocalClusterError(RuntimeError):
    """The embedded cluster cannot be set up or started; the message says what to do."""


def _install_hint(major: str = "15") -> str:
    return (
        f"install them with `apt-get install postgresql-{major} postgresql-{major}-postgis-3` "
        "(Debian/Ubuntu), or set GEO_SERVICE_DATABASE_URL to an existing PostGIS database"
    )


def find_bindir(configured: Path | None = None) -> Path:
    """The folder holding initdb and pg_ctl: the setting, Debian's newest version, or PATH."""
    candidates: list[Path] = []
    if configured:
        candidates.append(Path(configured))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(re.sub(r"\D", "", Path(p).parts[-3]) or 0),
        reverse=True,
    )
    candidates += [Path(p).parent for p in versions]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise LocalClusterError(
        "PostgreSQL server programs (initdb, pg_ctl) were not found: " + _install_hint()
    )


def _setpriv() -> str:
    """util-linux's setpriv (Debian: essential), which execs a program under another uid."""
    found = shutil.which("setpriv") or next(
        (p for p in ("/usr/bin/setpriv", "/bin/setpriv") if os.path.exists(p)), None
    )
    if found is None:
        raise LocalClusterError(
            "Running as root, the embedded cluster needs `setpriv` (Debian package util-linux) "
            "to run PostgreSQL as an unprivileged user"
        )
    return found


def _free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 5432:
            return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class LocalCluster:
    """A PostgreSQL cluster owned by this service, kept under `home/pg` (or a fallback place)."""

    home: Path
    bindir: Path | None = None
    run_as: str = "postgres"
    # Server settings given when it starts, e.g. {"fsync": "off"} for a throwaway test cluster.
    server_options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser().resolve()
        self._as_root = os.geteuid() == 0

    # -- where things are -------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The cluster folder: `home/pg`, or the fallback recorded when home is out of reach."""
        pointer = self.home / "pg.location"
        if pointer.is_file():
            return Path(pointer.read_text().strip())
        return self.home / "pg"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        own = self.root / "run"
        if len(str(own)) < _SOCKET_PATH_MAX:
            return own
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return Path("/tmp") / f"geo-service-{digest}"

    @property
    def log_file(self) -> Path:
        return self.root / "postgresql.log"

    @property
    def _password_file(self) -> Path:
        return self.home / "pg.password"

    # -- running programs -------------------------------------------------------------------

    def _owner(self) -> pwd.struct_passwd | None:
        if not self._as_root:
            return None
        try:
            return pwd.getpwnam(self.run_as)
        except KeyError as exc:
            raise LocalClusterError(
                f"Running as root, the embedded cluster needs the unprivileged user "
                f"'{self.run_as}' (created by the postgresql package; {_install_hint()}), "
                "or set GEO_SERVICE_PG_USER to another unprivileged user."
            ) from exc

    def _run(
        self, *args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run a program as the cluster's user, within `timeout` seconds.

        As root the program is exec'd through `setpriv`, never by changing uid in a forked child
        of this process: a fork of a multi-threaded process (server, jobs, a browser driver) that
        calls setuid/setgroups before exec can deadlock on a lock another thread held. Each
        command runs in a session of its own, so a Ctrl-C on the terminal reaches the service,
        which decides, and not `pg_ctl stop` half-way through.
        """
        owner = self._owner()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        command = list(args)
        if owner is not None:
            env["HOME"] = owner.pw_dir
            command = [
                _setpriv(),
                f"--reuid={owner.pw_uid}",
                f"--regid={owner.pw_gid}",
                "--clear-groups",
                "--",
                *command,
            ]
        shown = " ".join(args)
        try:
            proc = subprocess.run(  # noqa: PLW1510 - checked below with the output in the message
                command,
                capture_output=True,
                text=True,
                env=env,
                cwd="/",
                timeout=timeout,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise LocalClusterError(
                f"`{shown}` did not finish within {timeout:g} s and was stopped"
                + (f"\nSee the server log: {self.log_file}" if self.log_file.exists() else "")
            ) from exc
        if check and proc.returncode != 0:
            raise LocalClusterError(
                f"`{shown}` failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
                + (f"\nSee the server log: {self.log_file}" if self.log_file.exists() else "")
            )
        return proc

    def _program(self, name: str) -> str:
        if self.bindir is None:
            self.bindir = find_bindir()
        return str(self.bindir / name)

    def _make_owned_dir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        owner = self._owner()
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        path.chmod(0o700)

    def _reachable_by_owner(self, path: Path) -> bool:
        if not self._as_root:
            return True
        return self._run("test", "-w", str(path), check=False).returncode == 0

    # -- life cycle -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "pg.lock", "w") as handle:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LocalClusterError(
                            f"Another geo-service process has held {self.home / 'pg.lock'} "
                            f"for over {LOCK_TIMEOUT:g} s while starting or stopping the cluster"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _place(self) -> None:
        """Choose the cluster folder; outside home when the cluster's user cannot reach home."""
        if (self.home / "pg.location").is_file() or (self.home / "pg").exists():
            return
        probe = self.home / "pg"
        self._make_owned_dir(probe)
        if self._reachable_by_owner(probe):
            return
        probe.rmdir()
        digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:12]
        fallback = _FALLBACK_ROOT / digest
        if fallback.exists():
            self._discard(fallback)
        _FALLBACK_ROOT.mkdir(parents=True, exist_ok=True)
        self._make_owned_dir(fallback)
        (self.home / "pg.location").write_text(f"{fallback}\n")
        print(
            f"geo-service: the data folder {self.home} is not reachable by the user "
            f"'{self.run_as}' that runs the embedded PostgreSQL (a parent folder is private, "
            f"such as /root with mode 700), so the cluster is placed in {fallback} instead. "
            "Set GEO_SERVICE_HOME to a folder that user can reach to keep them together.",
            file=sys.stderr,
        )

    def _discard(self, folder: Path) -> None:
        """Remove a cluster left in the fallback place by an earlier checkout at the same path:
        its password went with that checkout's data folder, so nobody can use it any more."""
        if (folder / "data" / "postmaster.pid").is_file():
            self._run(
                self._program("pg_ctl"), "stop", "-m", "immediate", "-D", str(folder / "data"),
                check=False,
            )  # fmt: skip
        shutil.rmtree(folder)
        print(
            f"geo-service: removed the stale embedded cluster {folder} left by an earlier "
            f"checkout at {self.home}",
            file=sys.stderr,
        )

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def _init(self) -> None:
        self._place()
        self._make_owned_dir(self.root)
        password = secrets.token_urlsafe(24)
        self._password_file.write_text(password)
        self._password_file.chmod(0o600)
        pwfile = self.root / "initdb.pw"
        pwfile.write_text(password)
        owner = self._owner()
        if owner is not None:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        try:
            self._run(
                self._program("initdb"),
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E", "UTF8",
                "--no-locale",
                timeout=2 * START_TIMEOUT,
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)

    def recorded_port(self) -> int | None:
        """The port in postmaster.pid, which the server writes as it starts and removes as it
        stops, or None when there is no such file.

        One small file read and no subprocess: cheap enough for every new connection. A server
        that died without removing the file leaves its last port, on which a connection then
        fails as it should; `running_port` also asks pg_ctl whether the server is alive.
        """
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return None
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def running_port(self) -> int | None:
        """The port of the running server, read from postmaster.pid, or None."""
        if self.recorded_port() is None:
            return None
        status = self._run(self._program("pg_ctl"), "status", "-D", str(self.data_dir), check=False)
        if status.returncode != 0:
            return None
        return self.recorded_port()

    def start(self) -> bool:
        """Start the cluster (initialising it first); return False when it was already running."""
        with self._lock():
            if not self.initialized():
                self._init()
            if self.running_port() is not None:
                started = False
            else:
                self._start_server()
                started = True
            self._ensure_database()
        return started

    def _start_server(self) -> None:
        port_file = self.root / "port"
        port = int(port_file.read_text()) if port_file.is_file() else 0
        if not port or not _port_is_free(port):
            port = _free_port()
        self._make_owned_dir(self.socket_dir)
        self._run(
            self._program("pg_ctl"),
            "start", "-w", "-t", str(START_TIMEOUT),
            "-D", str(self.data_dir),
            "-l", str(self.log_file),
            "-o", f"-c port={port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories='{self.socket_dir}'"
            + "".join(f" -c {name}={value}" for name, value in self.server_options.items()),
            timeout=START_TIMEOUT + 30,
        )  # fmt: skip
        port_file.write_text(str(port))

    def stop(self) -> bool:
        """Stop the cluster; return False when it was not running."""
        with self._lock():
            if self.running_port() is None:
                return False
            pg_ctl, data = self._program("pg_ctl"), str(self.data_dir)
            try:
                self._run(
                    pg_ctl, "stop", "-w", "-t", str(START_TIMEOUT), "-m", "fast", "-D", data,
                    timeout=START_TIMEOUT + 30,
                )  # fmt: skip
            except LocalClusterError:
                if self.running_port() is None:
                    return True
                # A client that holds on through a fast shutdown must not leave it half-stopped.
                self._run(pg_ctl, "stop", "-w", "-m", "immediate", "-D", data)
            return True

    def url(self, database: str = DATABASE) -> str:
        port = self.running_port()
        if port is None:
            raise LocalClusterError(
                f"The embedded cluster in {self.root} is not running: `geo-service db start`."
            )
        password = self._password_file.read_text().strip()
        return f"postgresql+psycopg://{SUPERUSER}:{password}@127.0.0.1:{port}/{database}"

    def libpq_url(self, database: str = DATABASE) -> str:
        return self.url(database).replace("postgresql+psycopg://", "postgresql://", 1)

    def _ensure_database(self) -> None:
        import psycopg  # here, not at the top: the CLI imports this module to start

        with psycopg.connect(
            self.libpq_url("postgres"), autocommit=True, connect_timeout=CONNECT_TIMEOUT
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
            available = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
            major = conn.execute("SHOW server_version_num").fetchone()
        if not available:
            version = str(major[0])[:2] if major else "15"
            raise LocalClusterError(
                f"The PostGIS extension is not installed for PostgreSQL {version}: "
                + _install_hint(version)
            )
        with psycopg.connect(
            self.libpq_url(DATABASE), autocommit=True, connect_timeout=CONNECT_TIMEOUT
        ) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def create_database(self, name: str, drop: bool = False) -> str:
        """A fresh database with PostGIS in this cluster (tests); returns its URL."""
        import psycopg

        with psycopg.connect(
            self.libpq_url("postgres"), autocommit=True, connect_timeout=CONNECT_TIMEOUT
        ) as conn:
            if drop:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(
            self.libpq_url(name), autocommit=True, connect_timeout=CONNECT_TIMEOUT
        ) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return self.url(name)
