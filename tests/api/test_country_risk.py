"""Country risk through the API: ratings imported from CSV (every row or none), listed and drawn
as a choropleth; a site's country context checked against shapely on the Natural Earth file; the
Mano River Union's geometry and summary checked against counts made in the test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pyogrio
import pytest
from shapely.geometry import Point, box, mapping, shape
from shapely.ops import unary_union
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.demo import NATURAL_EARTH
from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.analysis.conftest import geod_distance_m

MRU = ("CIV", "GIN", "LBR", "SLE")
WEST_AFRICA = (-18.0, 3.0, 5.0, 16.0)
CSV = (
    "ISO3;Pays;Minerai;Étape;Catégorie;Niveau;Source;Année\n"
    "LBR;Liberia;;;Droits humains et socio-sociétal;élevé;Étude;2024\n"
    "LBR;Liberia;or;extraction;Droits humains et socio-sociétal;très élevé;Étude;2024\n"
    "LBR;Liberia;;;Environnemental;modéré;Étude;2024\n"
    "SLE;Sierra Leone;diamants;;Droits humains;très élevé;Étude;2024\n"
    "SLE;Sierra Leone;;;Droits humains;élevé;Étude;2024\n"
    "GIN;Guinée;;;Socio-économique et politique;élevé;Étude;2024\n"
    "CIV;Côte d'Ivoire;;;human rights and socio-societal;moderate;Study;2023\n"
    "MLI;Mali;;;Human rights;very high;Study;2023\n"
)
# Points picked inside each country; the test checks them with shapely on the same file.
SITES = [
    (Point(-9.5, 6.8), {"name": "Site libérien", "minerals": ["gold"]}, "LBR"),
    (Point(-11.0, 8.6), {"name": "Kono", "minerals": ["diamonds", "gold"]}, "SLE"),
    (Point(-10.0, 10.5), {"name": "Site guinéen", "minerals": ["gold"]}, "GIN"),
    (Point(-8.5, 12.5), {"name": "Site malien", "minerals": ["gold"]}, "MLI"),
]
OFFSHORE = Point(-11.0, 6.0)  # in the sea off Liberia in the 1:110m outline


def code_of(row: dict[str, Any]) -> str:
    """Natural Earth's ISO_A3, or ADM0_A3 where some of its files write -99 (France, Norway)."""
    return row.get("adm0_a3") if row["iso_a3"] in (None, "-99") else row["iso_a3"]


def countries() -> dict[str, Any]:
    frame = pyogrio.read_dataframe(
        f"zip://{NATURAL_EARTH / 'ne_110m_admin_0_countries.zip'}", bbox=WEST_AFRICA
    )
    rows = frame.drop(columns="geometry").to_dict("records")
    return {code_of(r): (geom, r) for geom, r in zip(frame.geometry, rows, strict=True)}


def add_countries(session: Session, slug: str) -> dict[str, Any]:
    shapes = countries()
    layer = store.create_layer(session, slug, OPERATOR, kind="reference", theme="admin_boundary")
    for geom, row in shapes.values():
        props = {k: row[k] for k in ("name", "iso_a3")}
        store.create_feature(session, layer, mapping(geom), props, who=OPERATOR)
    return {code: geom for code, (geom, _) in shapes.items()}


def upload(client, text: str):
    return client.post(
        "/country-risk/import", files={"file": ("risk.csv", text.encode(), "text/csv")}
    )


@pytest.fixture(scope="module")
def world(engine: Engine, as_role) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {"countries": f"risk-countries-{tag}", "sites": f"risk-sites-{tag}",
             "titles": f"risk-titles-{tag}"}  # fmt: skip
    with Session(engine) as s:
        shapes = add_countries(s, slugs["countries"])
        s.commit()
    # What other tests left in the region is counted before ours is added.
    before = as_role("admin").get("/regions/MRU/summary")
    with Session(engine) as s:
        sites = store.create_layer(s, slugs["sites"], OPERATOR, kind="mine_site")
        ids = [
            store.create_feature(s, sites, mapping(g), p, who=OPERATOR).id
            for g, p, _ in SITES + [(OFFSHORE, {"name": "Côtier", "minerals": ["gold"]}, "LBR")]
        ]
        titles = store.create_layer(s, slugs["titles"], OPERATOR, kind="concession")
        title = box(-9.9, 10.4, -9.8, 10.5)  # in Guinea
        store.create_feature(s, titles, mapping(title), {"code": "PE-1"}, who=OPERATOR)
        s.commit()
    imported = upload(as_role("editor"), CSV)
    assert imported.status_code == 200, imported.text
    yield {**slugs, "shapes": shapes, "ids": ids, "before": before, "titles_geom": [title],
           "imported": imported.json()}  # fmt: skip
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def test_a_csv_in_french_is_imported_and_listed(anon, world) -> None:
    assert world["imported"] == {"imported": 8, "countries": ["CIV", "GIN", "LBR", "MLI", "SLE"]}
    liberia = anon.get("/country-risk", params={"iso3": "lbr"}).json()["ratings"]
    assert {(r["mineral"], r["stage"], r["category"], r["level"]) for r in liberia} == {
        (None, None, "human_rights", "high"),
        ("gold", "extraction", "human_rights", "very_high"),
        (None, None, "environmental", "moderate"),
    }
    # A mineral asked keeps the rows for every mineral; another mineral's rows go.
    diamonds = anon.get("/country-risk", params={"iso3": "SLE", "mineral": "diamant"}).json()
    assert {(r["mineral"], r["level"]) for r in diamonds["ratings"]} == {
        ("diamonds", "very_high"), (None, "high")}  # fmt: skip
    gold = anon.get("/country-risk", params={"iso3": "SLE", "mineral": "gold"}).json()
    assert [r["mineral"] for r in gold["ratings"]] == [None]
    mru = anon.get("/country-risk", params={"region": "MRU", "category": "human_rights"}).json()
    assert {r["iso3"] for r in mru["ratings"]} == {"CIV", "LBR", "SLE"}


def test_a_bad_row_is_refused_with_its_row_and_column_and_nothing_is_written(
    as_role, anon, world
) -> None:
    before = anon.get("/country-risk").json()["count"]
    bad = (
        "iso3,category,level\n"
        "NER,environmental,low\n"
        "NER,human rights,extreme\n"
    )  # fmt: skip
    refused = upload(as_role("editor"), bad)
    assert refused.status_code == 400
    problem = refused.json()
    assert problem["where"] == {"row": 3, "column": "level"}
    assert "Row 3" in problem["detail"] and "extreme" in problem["detail"]
    french = as_role("editor").post(
        "/country-risk/import?lang=fr", files={"file": ("r.csv", bad.encode(), "text/csv")}
    )
    assert "Ligne 3, colonne level" in french.json()["detail"]
    assert anon.get("/country-risk").json()["count"] == before
    assert anon.get("/country-risk", params={"iso3": "NER"}).json()["ratings"] == []
    missing = upload(as_role("editor"), "iso3,level\nNER,low\n")
    assert missing.status_code == 400 and missing.json()["where"]["columns"] == ["category"]
    assert upload(anon, "iso3,category,level\nNER,environmental,low\n").status_code in (401, 403)


def test_a_newer_rating_replaces_the_older(as_role, anon, world) -> None:
    again = "iso3,category,level,year\nMLI,human_rights,high,2025\n"
    assert upload(as_role("editor"), again).status_code == 200
    (mali,) = anon.get("/country-risk", params={"iso3": "MLI"}).json()["ratings"]
    assert (mali["level"], mali["year"]) == ("high", 2025)
    assert upload(as_role("editor"), CSV).status_code == 200  # as the other tests expect


def test_a_site_shows_its_country_and_its_minerals_ratings(anon, world) -> None:
    shapes = world["shapes"]
    for (point, props, expected), fid in zip(SITES, world["ids"], strict=False):
        (inside,) = [code for code, geom in shapes.items() if geom.contains(point)]
        assert inside == expected
        context = anon.get(f"/layers/{world['sites']}/features/{fid}/context").json()
        assert context["country"]["iso3"] == inside
        assert context["country"]["distance_m"] == 0
        assert context["kimberley_process"] == ("diamonds" in props["minerals"])
    liberia = anon.get(f"/layers/{world['sites']}/features/{world['ids'][0]}/context").json()
    # Gold in Liberia: the gold rating for extraction, and the all-minerals ones elsewhere.
    assert {(r["mineral"], r["stage"], r["category"], r["level"])
            for r in liberia["country"]["ratings"]} == {
        ("gold", "extraction", "human_rights", "very_high"),
        (None, None, "human_rights", "high"),
        (None, None, "environmental", "moderate"),
    }  # fmt: skip
    kono = anon.get(f"/layers/{world['sites']}/features/{world['ids'][1]}/context").json()
    assert [(r["mineral"], r["level"]) for r in kono["country"]["ratings"]] == [
        ("diamonds", "very_high")]  # fmt: skip


def test_a_coastal_point_takes_the_nearest_country(anon, world) -> None:
    shapes = world["shapes"]
    assert not any(geom.intersects(OFFSHORE) for geom in shapes.values())
    distances = {code: geod_distance_m(OFFSHORE, geom, 0.01) for code, geom in shapes.items()}
    nearest = min(distances, key=distances.__getitem__)
    context = anon.get(f"/layers/{world['sites']}/features/{world['ids'][-1]}/context").json()
    assert context["country"]["iso3"] == nearest == "LBR"
    assert context["country"]["distance_m"] == pytest.approx(distances[nearest], rel=0.01)


def test_the_choropleth_colours_countries_by_level(anon, world) -> None:
    answer = anon.get("/country-risk/choropleth", params={"category": "human_rights"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/geo+json"
    levels = {f["id"]: f["properties"]["level"] for f in answer.json()["features"]}
    assert set(world["shapes"]) <= set(levels)
    assert {c: levels[c] for c in ("LBR", "SLE", "CIV", "MLI", "GIN")} == {
        "LBR": "high",
        "SLE": "high",
        "CIV": "moderate",
        "MLI": "very_high",
        "GIN": None,
    }
    gold = anon.get(
        "/country-risk/choropleth",
        params={"category": "human_rights", "mineral": "gold", "stage": "extraction"},
    )
    assert {f["id"]: f["properties"]["level"] for f in gold.json()["features"]}[
        "LBR"
    ] == "very_high"
    mru = anon.get("/country-risk/choropleth", params={"category": "human_rights", "region": "MRU"})
    assert sorted(f["id"] for f in mru.json()["features"]) == list(MRU)
    for params in ({"category": "cost"}, {}):
        refused = anon.get("/country-risk/choropleth", params=params)
        assert refused.status_code == 422 and "category" in refused.json()["detail"]
    colours = anon.get("/kinds").json()["country_risk"]
    assert colours["levels"] == ["low", "moderate", "high", "very_high"]
    assert colours["labels"]["very_high"]["fr"] == "très élevé"


def test_the_mano_river_union_is_the_union_of_its_members(anon, world) -> None:
    listed = anon.get("/regions").json()["regions"]
    assert {"code": "MRU", "name_en": "Mano River Union", "name_fr": "Union du fleuve Mano",
            "members": ["CIV", "LBR", "GIN", "SLE"]} in listed  # fmt: skip
    region = anon.get("/regions/mru").json()
    assert sorted(c["iso3"] for c in region["countries"]) == list(MRU)
    assert region["missing"] == []
    expected = unary_union([world["shapes"][c] for c in MRU])
    got = shape(region["geometry"])
    assert got.symmetric_difference(expected).area < 1e-6 * expected.area
    assert region["bbox"] == pytest.approx(list(expected.bounds), abs=1e-5)
    unknown = anon.get("/regions/ECOWAS")
    assert unknown.status_code == 404 and "MRU" in unknown.json()["detail"]


def test_the_region_summary_counts_what_lies_in_its_countries(anon, as_role, world) -> None:
    union = unary_union([world["shapes"][c] for c in MRU])
    points = [g for g, _, _ in SITES] + [OFFSHORE]
    minerals = [p["minerals"] for _, p, _ in SITES] + [["gold"]]
    sites_in = [i for i, g in enumerate(points) if union.intersects(g)]
    before = world["before"].json()["counts"]
    summary = as_role("admin").get("/regions/MRU/summary").json()
    counts = summary["counts"]
    assert counts["sites"] - before["sites"] == len(sites_in) == 3
    titles_in = sum(union.intersects(t) for t in world["titles_geom"])
    assert counts["titles"] - before["titles"] == titles_in == 1
    kp = sum("diamonds" in minerals[i] for i in sites_in)
    assert counts["kimberley_process"] - before["kimberley_process"] == kp == 1
    assert summary["members"] == ["CIV", "LBR", "GIN", "SLE"]
    assert {r["level"] for r in summary["risk"]["GIN"]} == {"high"}
    assert summary["risk"]["LBR"] and all(r["iso3"] == "LBR" for r in summary["risk"]["LBR"])
    assert anon.get("/regions/MRU/summary", params={"country": "LBR"}).status_code == 400


def test_the_command_line_imports_all_rows_or_none(
    database_url, monkeypatch, tmp_path, anon, engine, world
) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from geo_service.cli import app
    from geo_service.settings import get_settings

    monkeypatch.setenv("GEO_SERVICE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
        good.write_text("iso3,category,level,source\nBFA,environmental,high,CLI\n")
        bad.write_text("iso3,category,level\nTGO,environmental,low\nTG,environmental,low\n")
        runner = CliRunner()
        done = runner.invoke(app, ["country-risk", "import", str(good)])
        assert done.exit_code == 0, done.output
        assert '"imported": 1' in done.stdout
        refused = runner.invoke(app, ["country-risk", "import", str(bad)])
        assert refused.exit_code != 0 and "Row 3, column iso3" in str(refused.exception)
        slug = f"cli-countries-{uuid.uuid4().hex[:6]}"
        loaded = runner.invoke(app, ["country-risk", "countries", "--layer", slug])
        assert loaded.exit_code == 0, loaded.output
        whole = pyogrio.read_info(f"zip://{NATURAL_EARTH / 'ne_110m_admin_0_countries.zip'}")
        assert f'"imported": {whole["features"]}' in loaded.stdout
        described = anon.get(f"/layers/{slug}").json()
        assert (described["theme"], described["feature_count"]) == (
            "admin_boundary",
            whole["features"],
        )
        assert anon.delete(f"/layers/{slug}").status_code in (401, 403)
        with Session(engine) as s:
            store.delete_layer(s, slug, OPERATOR)
            s.commit()
    finally:
        get_settings.cache_clear()
    (burkina,) = anon.get("/country-risk", params={"iso3": "BFA"}).json()["ratings"]
    assert (burkina["level"], burkina["source"]) == ("high", "CLI")
    assert anon.get("/country-risk", params={"iso3": "TGO"}).json()["ratings"] == []
