"""The service and the test suite stop what they start: the embedded cluster, servers, browsers.

Each check runs the real thing in a process of its own (`geo-service serve`, a pytest run), in a
session of its own, and then looks in /proc for anything of it still alive.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from geo_service.db.local import LocalCluster, LocalClusterError

ROOT = Path(__file__).resolve().parents[1]
GEO_SERVICE = Path(sys.executable).with_name("geo-service")
PROBE = ROOT / "tests" / "processes" / "probe_suite.py"
# One worker runs them all: they share the cluster `reachable_home` initialises once.
pytestmark = pytest.mark.xdist_group("processes")
# Settings of the outer run that must not leak into the processes these tests start.
_OUTER = ("GEO_SERVICE_DATABASE_URL", "GEO_SERVICE_TEST_DATABASE_URL", "GEO_SERVICE_TEST_RUN")


@dataclass(frozen=True)
class Proc:
    pid: int
    session: int
    cmdline: str


def processes() -> Iterator[Proc]:
    """Every process of the machine, with its session id, read from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        yield Proc(int(entry.name), int(fields[3]), cmdline.strip())


def postmasters_of(cluster: LocalCluster) -> list[Proc]:
    data = str(cluster.data_dir)
    return [p for p in processes() if "postgres" in p.cmdline and f"-D {data}" in p.cmdline]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OUTER and not k.startswith("PYTEST_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def reachable_home() -> Iterator[Path]:
    """A data folder the cluster's user can reach (pytest's own tmp folders are private)."""
    home = Path(tempfile.mkdtemp(prefix="geo-service-proc-"))
    home.chmod(0o755)
    yield home / "var"
    cluster = LocalCluster(home / "var")
    if cluster.initialized():
        cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stderr:
    """A process's stderr read as it comes, so that a test can wait for a line."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, fragment: str, timeout: float = 60) -> None:
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(fragment in line for line in self.lines), timeout=timeout
            )
        assert found, f"no {fragment!r} in {self.text}"

    @property
    def text(self) -> str:
        self._thread.join(timeout=5)
        return "".join(self.lines)


# What is sent: a signal, "~" a pause of 50 ms, "@text" waiting until stderr says `text`.
SEQUENCES = {
    "sigterm": [signal.SIGTERM],
    "sigint": [signal.SIGINT],
    "a-burst-of-signals": [signal.SIGTERM, "~", signal.SIGTERM, "~", signal.SIGINT, "~",
                           signal.SIGTERM, "~", signal.SIGINT],
    "signals-while-the-cluster-stops": [signal.SIGTERM, "@Shutting down", signal.SIGINT,
                                        signal.SIGTERM, signal.SIGINT],
    "signals-after-it-stopped": [signal.SIGTERM, "@stopped the embedded database",
                                 signal.SIGTERM, signal.SIGINT],
}  # fmt: skip


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_serve_stops_the_cluster_it_started(reachable_home: Path, sequence: str) -> None:
    port = _free_port()
    env = clean_env(GEO_SERVICE_HOME=str(reachable_home), GEO_SERVICE_PORT=str(port))
    server = subprocess.Popen(
        [str(GEO_SERVICE), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    stderr = Stderr(server.stderr)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, stderr.text
            assert time.monotonic() < deadline, "serve did not answer /health"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        cluster = LocalCluster(reachable_home)
        assert cluster.running_port() is not None
        assert len(postmasters_of(cluster)) == 1

        for step in SEQUENCES[sequence]:
            if step == "~":
                time.sleep(0.05)
            elif isinstance(step, str):
                stderr.wait_for(step[1:])
            elif server.poll() is None:
                server.send_signal(step)
        server.wait(timeout=120)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    err = stderr.text
    assert server.returncode == 0, err
    assert err.count("stopped the embedded database it had started") == 1, err
    assert cluster.running_port() is None
    assert not (cluster.data_dir / "postmaster.pid").exists()
    assert postmasters_of(cluster) == []
    assert [p for p in processes() if p.session == server.pid] == []


def test_the_test_suite_leaves_nothing_running(reachable_home: Path) -> None:
    """A pytest run with a worker, a cluster, a live server, a test client and a browser: once it has ended,
    not one process of its session is alive, and its cluster is stopped. It runs on the cluster
    the serve tests initialise (or initialises it for them), which is stopped between tests."""
    home = reachable_home
    env = clean_env(GEO_SERVICE_TEST_HOME=str(home))
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-n", "1", "-p", "no:cacheprovider", str(PROBE)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    cluster = LocalCluster(home)
    try:
        out, _ = run.communicate(timeout=240)
        assert run.returncode == 0, out
        assert "2 passed" in out, out
        left = [p for p in processes() if p.session == run.pid]
        assert left == [], left
        assert cluster.initialized()
        assert cluster.running_port() is None
        assert postmasters_of(cluster) == []
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        for proc in processes():
            if proc.session == run.pid:
                os.kill(proc.pid, signal.SIGKILL)
        if cluster.initialized():
            cluster.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid change happens only as root")
def test_cluster_commands_run_as_its_user_while_threads_run(cluster: LocalCluster | None) -> None:
    """Cluster commands are exec'd under the cluster's uid (never a uid change in a forked child
    of this threaded process), so they finish while other threads allocate and hash (hashlib
    lets go of the GIL, so they run truly alongside the forks)."""
    if cluster is None:
        pytest.skip("external database")
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            hashlib.sha256(os.urandom(1 << 16) * 4).digest()

    threads = [threading.Thread(target=churn, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(10):
            assert cluster.running_port() is not None
        whoami = cluster._run("id", "-un", timeout=10)
        assert whoami.stdout.strip() == cluster.run_as
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


def test_a_command_that_hangs_is_stopped_with_its_name(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(LocalClusterError, match=r"`sleep 30` did not finish within 0.5 s"):
        LocalCluster(tmp_path)._run("sleep", "30", timeout=0.5)
    assert time.monotonic() - started < 10
