"""`geo-service analyze overlap|proximity|screen` on the test database."""

from __future__ import annotations

import csv
import io
import json

import pytest
from shapely.geometry import Point, box, mapping
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from geo_service.cli import app
from geo_service.domain.access import OPERATOR
from geo_service.settings import get_settings
from geo_service.store import layers as store
from tests.analysis.conftest import GEOD, add_layer, geod_ha

A, B, P = box(46.0, -9.0, 46.02, -8.98), box(46.01, -8.99, 46.03, -8.97), Point(46.05, -8.99)


@pytest.fixture
def cli(engine, database_url, monkeypatch):
    monkeypatch.setenv("GEO_SERVICE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    with Session(engine) as session:
        add_layer(session, "cli-a", [(A, {"name": "a"})], kind="asm_zone")
        add_layer(session, "cli-b", [(B, {"name": "b"})], kind="concession")
        add_layer(session, "cli-p", [(P, {"name": "p"})], kind="mine_site")
        session.commit()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args), catch_exceptions=False)
    with Session(engine) as session:
        for slug in ("cli-a", "cli-b", "cli-p"):
            store.delete_layer(session, slug, who=OPERATOR)
        session.commit()
    get_settings.cache_clear()


def test_analyze_overlap_json_and_csv(cli):
    out = cli("analyze", "overlap", "--source", "cli-a", "--target", "cli-b")
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output)["rows"]
    assert row["overlap_ha"] == pytest.approx(geod_ha(A.intersection(B)), rel=0.005)

    out = cli("analyze", "overlap", "--source", "cli-a", "--target", "cli-b", "--format", "csv")
    [line] = list(csv.DictReader(io.StringIO(out.output)))
    assert float(line["overlap_ha"]) == pytest.approx(row["overlap_ha"])


def test_analyze_proximity_geojson(cli):
    out = cli(
        "analyze", "proximity", "--source", "cli-p", "--target", "cli-a", "--format", "geojson"
    )
    assert out.exit_code == 0, out.output
    [feature] = json.loads(out.output)["features"]
    assert feature["geometry"]["type"] == "LineString"
    expected = GEOD.inv(P.x, P.y, 46.02, -8.99)[2]
    assert feature["properties"]["distance_m"] == pytest.approx(expected, abs=1.0)


def test_analyze_screen_file(cli, tmp_path):
    path = tmp_path / "zone.geojson"
    path.write_text(json.dumps({"type": "Feature", "geometry": mapping(A), "properties": {}}))
    out = cli("analyze", "screen", "--geometry", str(path))
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["area_ha"] == pytest.approx(geod_ha(A), rel=0.005)
    assert [c["name"] for c in answer["conflicts"]["concessions"]] == ["b"]


def test_analyze_screen_in_french(cli, tmp_path):
    path = tmp_path / "zone.geojson"
    path.write_text(json.dumps(mapping(A)))
    out = cli("analyze", "screen", "--geometry", str(path), "--lang", "fr")
    assert out.exit_code == 0, out.output
    rules = {r["id"]: r for r in json.loads(out.output)["rules"]}
    assert rules["active_exploitation_titles"]["code"] == "titles_clear"
    assert rules["active_exploitation_titles"]["reason"] == (
        "Ne chevauche aucun titre minier d'exploitation en vigueur"
    )
    assert rules["asm_zones"]["reason"] == "Chevauche une autre zone d'orpaillage"
