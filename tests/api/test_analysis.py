"""The analysis endpoints: JSON, CSV, GeoJSON and offline HTML, jobs, and problem details."""

from __future__ import annotations

import csv
import html
import io
import time

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point, box, mapping
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.analysis.conftest import GEOD, add_layer, geod_ha

ZONE = box(45.0, -9.0, 45.02, -8.98)
TITLE = box(45.01, -8.99, 45.04, -8.97)
SITE = Point(45.05, -8.99)


@pytest.fixture(scope="module")
def layers(engine, tmp_path_factory):
    raster = tmp_path_factory.mktemp("raster") / "ones.tif"
    with rasterio.open(
        raster, "w", driver="GTiff", width=100, height=100, count=1, dtype="uint8",
        crs="EPSG:4326", transform=from_origin(45.0, -8.95, 0.001, 0.001),
    ) as dst:  # fmt: skip
        dst.write(np.full((100, 100), 7, dtype="uint8"), 1)
    with Session(engine) as session:
        ids = {
            "zones": add_layer(session, "an-zones", [(ZONE, {"name": "Z"})], kind="asm_zone"),
            "titles": add_layer(
                session,
                "an-titles",
                [
                    (
                        TITLE,
                        {
                            "name": "PE-9",
                            "code": "PE-9",
                            "status": "active",
                            "title_type": "exploitation",
                        },
                    )
                ],
                kind="concession",
            ),  # fmt: skip
            "sites": add_layer(session, "an-sites", [(SITE, {"name": "S"})], kind="mine_site"),
        }
        layer = store.create_layer(session, "an-raster", storage="raster", who=OPERATOR)
        layer.raster_path = str(raster)
        session.commit()
    yield ids
    with Session(engine) as session:
        for slug in ("an-zones", "an-titles", "an-sites", "an-raster"):
            store.delete_layer(session, slug, who=OPERATOR)
        session.commit()


def test_overlap_json(client, layers):
    r = client.post("/analysis/overlap", json={"source": "an-zones", "target": "an-titles"})
    assert r.status_code == 200
    [row] = r.json()["rows"]
    assert row["source"] == {"id": layers["zones"][0], "name": "Z"}
    assert row["overlap_ha"] == pytest.approx(geod_ha(ZONE.intersection(TITLE)), rel=0.005)
    assert r.json()["total_overlap_ha"] == pytest.approx(row["overlap_ha"])


def test_overlap_csv_geojson_html(client, layers):
    body = {"source": "an-zones", "target": "an-titles"}
    r = client.post("/analysis/overlap?format=csv", json=body)
    assert r.headers["content-type"].startswith("text/csv")
    [line] = list(csv.DictReader(io.StringIO(r.text)))
    assert int(line["target_id"]) == layers["titles"][0]

    r = client.post("/analysis/overlap?format=geojson", json=body)
    assert r.headers["content-type"] == "application/geo+json"
    [feature] = r.json()["features"]
    assert feature["geometry"]["type"] == "Polygon"

    r = client.post("/analysis/overlap?format=html", json=body)
    assert r.headers["content-type"].startswith("text/html")
    assert "<script src=" not in r.text and "https://cdn" not in r.text


def test_proximity(client, layers):
    r = client.post("/analysis/proximity", json={"source": "an-sites", "target": "an-zones"})
    [row] = r.json()["rows"]
    expected = GEOD.inv(SITE.x, SITE.y, 45.02, -8.99)[2]  # due east of the zone's east edge
    assert row["distance_m"] == pytest.approx(expected, abs=1.0)
    r = client.post(
        "/analysis/proximity", json={"source": "an-sites", "target": "an-zones", "within_m": 100}
    )
    assert r.json()["rows"] == []


def test_screen_drawn_and_saved(client, layers):
    r = client.post("/analysis/screen", json={"geometry": mapping(box(45.0, -9.0, 45.015, -8.985))})
    assert r.status_code == 200
    answer = r.json()
    assert answer["verdict"] == "fail"
    [title] = answer["conflicts"]["concessions"]
    assert title["code"] == "PE-9" and title["geometry"]["type"] == "Polygon"
    assert {"area_ha", "verdict", "rules", "conflicts"} <= answer.keys()
    assert set(answer["conflicts"]) == {
        "concessions", "protected_areas", "asm_zones", "tailings", "abandoned_mines",
        "mine_sites", "rivers", "settlements",
    }  # fmt: skip
    assert [z["id"] for z in answer["conflicts"]["asm_zones"]] == layers["zones"]

    r = client.post("/analysis/screen", json={"zone_id": layers["zones"][0]})
    assert r.json()["conflicts"]["asm_zones"] == []
    assert r.json()["area_ha"] == pytest.approx(geod_ha(ZONE), rel=0.005)


def test_screen_in_french_as_json_csv_and_html(client, layers):
    body = {"geometry": mapping(box(45.0, -9.0, 45.015, -8.985))}
    english = {r["id"]: r for r in client.post("/analysis/screen", json=body).json()["rules"]}
    r = client.post("/analysis/screen?lang=fr", json=body)
    assert r.status_code == 200
    french = {r["id"]: r for r in r.json()["rules"]}
    titles = french["active_exploitation_titles"]
    assert (titles["code"], titles["params"]) == (
        "exploitation_title_overlap",
        {"count": 1, "titles": "PE-9"},
    )
    assert titles["reason"] == "Chevauche un titre minier d'exploitation en vigueur : PE-9"
    assert english["active_exploitation_titles"]["reason"] == (
        "Overlaps an active exploitation title: PE-9"
    )
    assert {k: (v["code"], v["params"]) for k, v in french.items()} == {
        k: (v["code"], v["params"]) for k, v in english.items()
    }

    r = client.post("/analysis/screen?format=csv&lang=fr", json=body)
    text = r.content.decode("utf-8-sig")  # downloads start with the BOM Excel needs
    rules = [line for line in csv.DictReader(io.StringIO(text)) if line["category"] == "rule"]
    assert {line["reason"] for line in rules} == {rule["reason"] for rule in french.values()}

    page = client.post("/analysis/screen?format=html&lang=fr", json=body).text
    assert "Rapport de vérification de zone" in page and "Règles" in page
    for rule in french.values():
        assert rule["reason"] in html.unescape(page)
    assert "non conforme" in page and "Overlaps" not in page


def test_screen_language_is_documented_and_checked(client, layers):
    operation = client.get("/openapi.json").json()["paths"]["/analysis/screen"]["post"]
    [lang] = [p for p in operation["parameters"] if p["name"] == "lang"]
    assert lang["in"] == "query" and lang["schema"]["enum"] == ["en", "fr"]
    assert lang["schema"]["default"] == "en" and "fr" in lang["description"]
    r = client.post("/analysis/screen?lang=wo", json={"geometry": mapping(ZONE)})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert "lang" in r.text


def test_zonal(client, layers):
    r = client.post("/analysis/zonal", json={"raster": "an-raster", "zones": "an-zones"})
    [row] = r.json()["rows"]
    assert row["zone"]["id"] == layers["zones"][0]
    assert row["count"] == 400 and row["mean"] == 7 and row["classes"] == {"7": 1.0}


def test_async_job_reports_and_finishes(client, layers):
    r = client.post(
        "/analysis/overlap?async=true", json={"source": "an-zones", "target": "an-titles"}
    )
    assert r.status_code == 202
    href = r.json()["href"]
    deadline = time.monotonic() + 30
    while (job := client.get(href).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "done" and job["progress"] == 1.0
    assert job["result"]["rows"][0]["target"]["id"] == layers["titles"][0]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/analysis/overlap", {"source": "nope", "target": "an-titles"}, 404),
        ("/analysis/overlap", {"source": "an-zones"}, 422),
        ("/analysis/proximity", {"source": "an-sites", "target": "an-zones", "k": 0}, 422),
        ("/analysis/screen", {"geometry": {"type": "Point", "coordinates": [45, -9]}}, 422),
        ("/analysis/screen", {"geometry": {"type": "Polygon", "coordinates": [[[500, 0]]]}}, 422),
        ("/analysis/screen", {"zone_id": 10**12}, 404),
        ("/analysis/screen", {"geometry": mapping(ZONE), "rules": {"max_area_ha": "x"}}, 400),
        ("/analysis/screen?lang=de", {"geometry": mapping(ZONE)}, 422),
        ("/analysis/zonal", {"raster": "an-zones", "zones": "an-zones"}, 400),
    ],
)
def test_bad_requests_are_problem_details(client, layers, path, body, status):
    r = client.post(path, json=body)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"]
