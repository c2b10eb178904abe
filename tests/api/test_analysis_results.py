"""Analysis results people can join back: layers imported from files whose label field is
`Code` (a cadastre's zipped Shapefile: Code, Parties, Licence_), rows named by the chosen
attribute, carrying the features' own ids and attributes into JSON, CSV and GeoJSON, over HTTP
and from the command line. Hectares and metres are checked against pyproj.Geod."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box, shape
from typer.testing import CliRunner

from geo_service.cli import app as cli_app
from geo_service.errors import InvalidInput
from geo_service.settings import get_settings
from tests.analysis.conftest import geod_distance_m, geod_ha

# A cadastre near Kédougou (Senegal), as its office exports it: DBF field names cut at 10
# characters, French names with accents, no `name` field at all.
TITLES = {
    "PR 2019/044": (
        box(-12.20, 12.50, -12.17, 12.53),
        {"Parties": "SOMIKA SARL", "Licence_": "Permis de recherche", "Annee": 2019},
    ),
    "PE 2021/007": (
        box(-12.16, 12.50, -12.12, 12.54),
        {
            "Parties": "Coopérative minière de Kédougou",
            "Licence_": "Permis d'exploitation",
            "Annee": 2021,
        },
    ),
    "AE 2022/113": (
        box(-12.30, 12.60, -12.28, 12.62),
        {"Parties": "GIE Tomboronkoto", "Licence_": "Autorisation", "Annee": 2022},
    ),
}
# ASM zones from a GeoJSON with `Code` too; ZOP-01 crosses two titles, ZOP-03 none.
ZONES = {
    "ZOP-01": (box(-12.185, 12.51, -12.14, 12.52), {"Statut": "proposée", "Surface": 12.5}),
    "ZOP-02": (box(-12.13, 12.535, -12.125, 12.545), {"Statut": "en vigueur", "Surface": 3}),
    "ZOP-03": (box(-12.40, 12.40, -12.39, 12.41), {"Statut": "proposée", "Surface": 1}),
}
SITES = {"S-01": Point(-12.15, 12.525), "S-02": Point(-12.25, 12.56)}


def _upload(client, slug: str, path: Path) -> None:
    with path.open("rb") as f:
        r = client.post(f"/layers/{slug}/import", files={"file": (path.name, f)})
    assert r.status_code == 200, r.text


def _frame(features: dict) -> gpd.GeoDataFrame:
    rows = [{"Code": code, **props} for code, (_, props) in features.items()]
    return gpd.GeoDataFrame(rows, geometry=[g for g, _ in features.values()], crs="EPSG:4326")


@pytest.fixture(scope="module")
def layers(client, tmp_path_factory) -> dict[str, dict[str, int]]:
    """The three layers imported over HTTP; {slug: {Code: the feature's id as served}}."""
    folder = tmp_path_factory.mktemp("results")
    shp = folder / "shp"
    shp.mkdir()
    pyogrio.write_dataframe(_frame(TITLES), shp / "cadastre.shp", encoding="UTF-8")
    cadastre = folder / "cadastre.zip"
    with zipfile.ZipFile(cadastre, "w") as archive:
        for member in shp.iterdir():
            archive.write(member, member.name)
    zones = folder / "zones.geojson"
    pyogrio.write_dataframe(_frame(ZONES), zones, driver="GeoJSON")
    sites = folder / "sites.geojson"
    sites_frame = gpd.GeoDataFrame(
        {"Code": list(SITES)}, geometry=list(SITES.values()), crs="EPSG:4326"
    )
    pyogrio.write_dataframe(sites_frame, sites, driver="GeoJSON")
    for slug, path in (("res-cadastre", cadastre), ("res-zones", zones), ("res-sites", sites)):
        _upload(client, slug, path)
    ids = {}
    for slug in ("res-cadastre", "res-zones", "res-sites"):
        items = client.get(f"/collections/{slug}/items", params={"limit": 100}).json()
        ids[slug] = {f["properties"]["Code"]: f["id"] for f in items["features"]}
    yield ids
    for slug in ids:
        client.delete(f"/layers/{slug}")


OVERLAPS = [("ZOP-01", "PR 2019/044"), ("ZOP-01", "PE 2021/007"), ("ZOP-02", "PE 2021/007")]


def _overlap_ha(zone: str, title: str) -> float:
    return geod_ha(ZONES[zone][0].intersection(TITLES[title][0]))


def _csv(response) -> list[dict[str, str]]:
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM Excel needs
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_layers_list_their_attributes(client, layers):
    assert set(client.get("/layers/res-cadastre").json()["attributes"]) == {
        "Code", "Parties", "Licence_", "Annee",
    }  # fmt: skip
    assert client.get("/layers/res-cadastre").json()["feature_count"] == len(TITLES)


def test_by_default_features_are_named_by_their_code(client, layers):
    r = client.post("/analysis/overlap", json={"source": "res-zones", "target": "res-cadastre"})
    assert r.status_code == 200
    result = r.json()
    pairs = [(row["source"]["name"], row["target"]["name"]) for row in result["rows"]]
    assert sorted(pairs) == sorted(OVERLAPS)
    for row in result["rows"]:
        zone, title = row["source"]["name"], row["target"]["name"]
        assert row["source"]["id"] == layers["res-zones"][zone]
        assert row["target"]["id"] == layers["res-cadastre"][title]
        assert row["overlap_ha"] == pytest.approx(_overlap_ha(zone, title), rel=0.005)
        assert "properties" not in row["source"]
    assert result["source_label"] is None and result["target_fields"] == []


def test_a_chosen_label_and_carried_attributes_in_json(client, layers):
    body = {
        "source": "res-zones",
        "target": "res-cadastre",
        "target_label": "Parties",
        "source_fields": ["Surface", "Statut"],
        "target_fields": "*",
    }
    result = client.post("/analysis/overlap", json=body).json()
    assert result["target_label"] == "Parties"
    assert result["source_fields"] == ["Surface", "Statut"]
    assert result["target_fields"] == ["Annee", "Code", "Licence_", "Parties"]
    assert len(result["rows"]) == len(OVERLAPS)
    for row in result["rows"]:
        zone = row["source"]["name"]
        title = row["target"]["properties"]["Code"]
        _, attributes = TITLES[title]
        assert row["target"] == {
            "id": layers["res-cadastre"][title],
            "name": attributes["Parties"],
            "properties": {"Code": title, **attributes},
        }
        assert row["source"]["properties"] == {
            "Surface": ZONES[zone][1]["Surface"],
            "Statut": ZONES[zone][1]["Statut"],
        }
        assert row["overlap_ha"] == pytest.approx(_overlap_ha(zone, title), rel=0.005)


def test_csv_and_geojson_hold_ids_labels_and_attributes(client, layers):
    body = {
        "source": "res-zones",
        "target": "res-cadastre",
        "target_label": "Code",
        "source_fields": ["Statut"],
        "target_fields": ["Parties", "Licence_"],
    }
    r = client.post("/analysis/overlap?format=csv", json=body)
    lines = _csv(r)
    assert list(lines[0]) == [
        "source_id", "source_name", "source.Statut",
        "target_id", "target_name", "target.Parties", "target.Licence_",
        "overlap_ha", "source_pct", "target_pct",
    ]  # fmt: skip
    assert sorted((line["source_name"], line["target_name"]) for line in lines) == sorted(OVERLAPS)
    for line in lines:
        zone, title = line["source_name"], line["target_name"]
        assert int(line["source_id"]) == layers["res-zones"][zone]
        assert int(line["target_id"]) == layers["res-cadastre"][title]
        assert line["source.Statut"] == ZONES[zone][1]["Statut"]
        assert line["target.Parties"] == TITLES[title][1]["Parties"]
        assert line["target.Licence_"] == TITLES[title][1]["Licence_"]
        assert float(line["overlap_ha"]) == pytest.approx(_overlap_ha(zone, title), rel=0.005)
    assert "Coopérative minière de Kédougou" in r.content.decode("utf-8-sig")

    features = client.post("/analysis/overlap?format=geojson", json=body).json()["features"]
    assert len(features) == len(OVERLAPS)
    for feature in features:
        props = feature["properties"]
        zone, title = props["source_name"], props["target_name"]
        assert props["target_id"] == layers["res-cadastre"][title]
        assert props["target.Parties"] == TITLES[title][1]["Parties"]
        assert props["source.Statut"] == ZONES[zone][1]["Statut"]
        area = geod_ha(shape(feature["geometry"]))
        assert area == pytest.approx(_overlap_ha(zone, title), rel=0.005)


def test_point_sources_outside_every_title_keep_their_columns(client, layers):
    body = {
        "source": "res-sites",
        "target": "res-cadastre",
        "source_fields": "*",
        "target_fields": ["Code"],
    }
    lines = _csv(client.post("/analysis/overlap?format=csv", json=body))
    by_site = {line["source_name"]: line for line in lines}
    assert by_site["S-01"]["target.Code"] == "PE 2021/007"
    assert by_site["S-01"]["inside"] == "True"
    assert (by_site["S-02"]["target_id"], by_site["S-02"]["target.Code"]) == ("", "")
    assert by_site["S-02"]["source.Code"] == "S-02"
    assert list(lines[0])[:5] == [
        "source_id", "source_name", "source.Code", "target_id", "target_name",
    ]  # fmt: skip


def test_proximity_carries_labels_ids_and_attributes(client, layers):
    body = {
        "source": "res-sites",
        "target": "res-cadastre",
        "target_label": "Parties",
        "target_fields": ["Code", "Annee"],
    }
    result = client.post("/analysis/proximity", json=body).json()
    nearest = {row["source"]["name"]: row for row in result["rows"]}
    assert set(nearest) == set(SITES)
    for site, row in nearest.items():
        distances = {c: geod_distance_m(SITES[site], g) for c, (g, _) in TITLES.items()}
        title = min(distances, key=distances.__getitem__)
        assert row["source"]["id"] == layers["res-sites"][site]
        assert row["target"] == {
            "id": layers["res-cadastre"][title],
            "name": TITLES[title][1]["Parties"],
            "properties": {"Code": title, "Annee": TITLES[title][1]["Annee"]},
        }
        assert row["distance_m"] == pytest.approx(distances[title], abs=1.0)
    assert nearest["S-01"]["distance_m"] == 0.0  # inside PE 2021/007

    lines = _csv(client.post("/analysis/proximity?format=csv", json=body))
    assert list(lines[0]) == [
        "source_id", "source_name", "target_id", "target_name",
        "target.Code", "target.Annee", "distance_m",
    ]  # fmt: skip
    line = next(line for line in lines if line["source_name"] == "S-02")
    assert int(line["target_id"]) == nearest["S-02"]["target"]["id"]
    assert line["target.Code"] == nearest["S-02"]["target"]["properties"]["Code"]
    assert float(line["distance_m"]) == pytest.approx(nearest["S-02"]["distance_m"])

    features = client.post("/analysis/proximity?format=geojson", json=body).json()["features"]
    far = next(f for f in features if f["properties"]["source_name"] == "S-02")
    assert far["properties"]["target_name"] == nearest["S-02"]["target"]["name"]
    assert far["properties"]["target.Annee"] == nearest["S-02"]["target"]["properties"]["Annee"]
    assert far["geometry"]["type"] == "LineString"


@pytest.mark.parametrize(
    ("path", "options", "status", "says"),
    [
        ("overlap", {"target_label": "Titulaire"}, 400, "no attribute 'Titulaire'"),
        ("overlap", {"source_fields": ["Statut", "Région"]}, 400, "no attribute 'Région'"),
        ("proximity", {"target_fields": ["Parties", "nope"]}, 400, "no attribute 'nope'"),
        ("overlap", {"target_label": ""}, 422, "target_label"),
        ("overlap", {"target_fields": "Code"}, 422, "target_fields"),
        ("proximity", {"source_fields": [""]}, 422, "source_fields"),
        ("overlap", {"target_fields": ["x"] * 1001}, 422, "target_fields"),
        ("overlap", {"target_label": ["Code"]}, 422, "target_label"),
    ],
)
def test_unknown_or_malformed_options_are_problems(client, layers, path, options, status, says):
    source = "res-zones" if path == "overlap" else "res-sites"
    body = {"source": source, "target": "res-cadastre", **options}
    r = client.post(f"/analysis/{path}", json=body)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert says in r.text
    if status == 400:  # the layer's own attributes are named, so the caller can correct it
        assert "Code" in r.json()["detail"]


def test_the_options_are_documented(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("OverlapRequest", "ProximityRequest"):
        properties = schema[model]["properties"]
        for option in ("source_label", "target_label", "source_fields", "target_fields"):
            assert properties[option]["description"], (model, option)


@pytest.fixture
def cli(engine, database_url, monkeypatch):
    monkeypatch.setenv("GEO_SERVICE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli_app, list(args), catch_exceptions=False)
    get_settings.cache_clear()


def test_the_command_line_takes_the_same_options(cli, layers):
    out = cli(
        "analyze", "overlap", "--source", "res-zones", "--target", "res-cadastre",
        "--target-label", "Parties", "--target-fields", "Code,Licence_", "--format", "csv",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert not out.output.startswith("\ufeff")  # a pipe gets no byte-order mark
    lines = list(csv.DictReader(io.StringIO(out.output)))
    assert {line["target.Code"] for line in lines} == {title for _, title in OVERLAPS}
    for line in lines:
        assert line["target_name"] == TITLES[line["target.Code"]][1]["Parties"]

    out = cli(
        "analyze", "proximity", "--source", "res-sites", "--target", "res-cadastre",
        "--source-fields", "*",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)["rows"]
    assert {row["source"]["properties"]["Code"] for row in rows} == set(SITES)

    with pytest.raises(InvalidInput, match="no attribute 'Nom'"):  # `main` prints it, exits 2
        cli(
            "analyze", "overlap", "--source", "res-zones", "--target", "res-cadastre",
            "--source-label", "Nom",
        )  # fmt: skip
