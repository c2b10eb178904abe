"""`geo-service keys create|list|revoke`: the secret printed once, stored hashed, usable at once,
and refused once revoked; the demo's admin key printed the first time only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from geo_service.cli import _demo_admin_key, app
from geo_service.errors import Conflict, InvalidInput
from geo_service.settings import get_settings
from tests.conftest import bearer


@pytest.fixture
def cli(database_url, monkeypatch):
    monkeypatch.setenv("GEO_SERVICE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


def test_a_key_is_created_listed_used_and_revoked(cli, anon: TestClient, engine, demo) -> None:
    made = cli(
        "keys", "create", "--name", "cli-partner", "--role", "viewer", "--layer", "mine-sites",
        "--origin", "https://partner.example", "--tiles-only",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("gs_") and "shown only once" in made.stderr
    with engine.connect() as conn:
        hashes = conn.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert secret not in hashes and all(secret not in h for h in hashes)
    listed = cli("keys", "list")
    (line,) = [row for row in listed.stdout.splitlines() if row.startswith("cli-partner")]
    assert "viewer" in line and "tiles-only" in line and "https://partner.example" in line
    assert secret not in listed.stdout and secret[:10] in line
    me = anon.get("/auth/me", headers={**bearer(secret), "Origin": "https://partner.example"})
    assert me.status_code == 403  # tiles only: not even /auth/me
    tile = anon.get(
        "/tiles/mine-sites/0/0/0.mvt",
        headers={**bearer(secret), "Origin": "https://partner.example"},
    )
    assert tile.status_code in (200, 204)
    assert cli("keys", "revoke", "cli-partner").exit_code == 0
    assert (
        "revoked" in [r for r in cli("keys", "list").stdout.splitlines() if "cli-partner" in r][0]
    )
    refused = anon.get(
        "/tiles/mine-sites/0/0/0.mvt",
        headers={**bearer(secret), "Origin": "https://partner.example"},
    )
    assert refused.status_code == 401
    # `main()` prints these as one red line and exits 2; the runner shows the error itself.
    again = cli("keys", "create", "--name", "cli-partner", "--role", "viewer")
    assert isinstance(again.exception, Conflict) and "exists already" in str(again.exception)
    wrong = cli("keys", "create", "--name", "cli-other", "--role", "superuser")
    assert isinstance(wrong.exception, InvalidInput) and "Unknown role" in str(wrong.exception)


def test_names_are_written_as_people_write_them(cli) -> None:
    for name in ("Awa Traoré", "N'Diaye & fils", "Ministère des Mines (DNGM)"):
        made = cli("keys", "create", "--name", name, "--role", "viewer")
        assert made.exit_code == 0, made.output
        assert cli("keys", "revoke", name).exit_code == 0
    for bad in (" leading space", "a/b", "trailing\n"):
        assert isinstance(cli("keys", "create", "--name", bad).exception, InvalidInput), bad


def test_the_demo_admin_key_is_printed_once(database_url, anon: TestClient, capsys) -> None:
    _demo_admin_key(database_url)
    first = capsys.readouterr().out
    secret = first.split("it): ")[1].split()[0]
    assert anon.get("/auth/me", headers=bearer(secret)).json()["role"] == "admin"
    _demo_admin_key(database_url)
    assert capsys.readouterr().out == ""  # not again: it is not stored anywhere to show
