"""`geo-service import` and `geo-service export` print JSON and round-trip a file."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from geo_service import cli


def test_import_then_export(
    engine: Engine, shapefile_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "session_scope", lambda: Session(engine, expire_on_commit=False))
    runner = CliRunner()
    result = runner.invoke(
        cli.app, ["import", str(shapefile_zip), "--layer", "cli-titles", "--kind", "concession"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["layer"] == "cli-titles" and summary["imported"] == 3
    out = tmp_path / "titles.gpkg"
    result = runner.invoke(cli.app, ["export", str(out), "--layer", "cli-titles"])
    assert result.exit_code == 0, result.output
    frame = pyogrio.read_dataframe(out)
    assert sorted(frame["code"]) == ["PE-001", "PE-002", "PE-003"]
