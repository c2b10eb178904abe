"""The embedded cluster: reused when running, placed where its user can reach it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest

from geo_service.db.local import LocalCluster, LocalClusterError, find_bindir


def test_running_cluster_is_reused(cluster: LocalCluster | None) -> None:
    if cluster is None:
        pytest.skip("external database")
    port = cluster.running_port()
    assert port and port != 5432
    assert cluster.start() is False  # already running: nothing started twice
    assert cluster.running_port() == port
    with psycopg.connect(cluster.libpq_url()) as conn:
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
    assert (cluster.socket_dir / f".s.PGSQL.{port}").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to show the private-folder case")
def test_home_out_of_reach_of_postgres_user_is_placed_elsewhere(tmp_path: Path, capfd) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    home = private / "var"
    cluster = LocalCluster(home)
    try:
        assert cluster.start() is True
        assert "not reachable by the user 'postgres'" in capfd.readouterr().err
        assert (home / "pg.location").is_file()
        assert not str(cluster.root).startswith(str(home))
        with psycopg.connect(cluster.libpq_url()) as conn:
            assert conn.execute("SELECT 1").fetchone()[0] == 1
        assert cluster.stop() is True
        assert cluster.running_port() is None
        # A fresh checkout at the same path finds the old cluster, whose password is gone with
        # the old data folder: it must start a new one, not fail on the old one.
        shutil.rmtree(home)
        again = LocalCluster(home)
        assert again.start() is True
        assert "removed the stale embedded cluster" in capfd.readouterr().err
        with psycopg.connect(again.libpq_url()) as conn:
            assert conn.execute("SELECT 1").fetchone()[0] == 1
        assert again.stop() is True
    finally:
        cluster.stop()
        if (home / "pg.location").is_file():
            shutil.rmtree(cluster.root, ignore_errors=True)


def test_missing_binaries_name_the_package(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        LocalClusterError, match="apt-get install postgresql-15 postgresql-15-postgis-3"
    ):
        find_bindir(None)
