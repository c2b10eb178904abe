"""Printable reports over HTTP: `format=pdf` and `format=html` on the screening, overlap,
proximity and zonal endpoints, with a file name that carries the zone's code; the zone drawn
and changed through the API names the keys that did it; problems stay problems."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
import rasterio
from pypdf import PdfReader
from rasterio.transform import from_origin
from shapely.geometry import box, mapping
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.analysis.conftest import add_layer, geod_ha

ZONE = box(-5.60, 10.40, -5.585, 10.415)
TITLE = box(-5.59, 10.39, -5.57, 10.41)
FRENCH_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
)
ENGLISH_MONTHS = (
    "January February March April May June July August September October November December"
)


@pytest.fixture(scope="module")
def zone(engine: Engine, as_role, client, tmp_path_factory) -> Iterator[dict]:
    raster = tmp_path_factory.mktemp("raster") / "sevens.tif"
    with rasterio.open(
        raster, "w", driver="GTiff", width=60, height=60, count=1, dtype="uint8",
        crs="EPSG:4326", transform=from_origin(-5.62, 10.43, 0.001, 0.001),
    ) as dst:  # fmt: skip
        dst.write(np.full((60, 60), 7, dtype="uint8"), 1)
    with Session(engine) as s:
        store.create_layer(s, "rq-zones", OPERATOR, kind="asm_zone", title="Zones d'orpaillage")
        add_layer(
            s, "rq-titles",
            [(TITLE, {"name": "PR-2021-007", "code": "PR-2021-007", "holder": "Coopérative Bèrè",
                      "title_type": "exploitation", "status": "active"})],
            kind="concession",
        )  # fmt: skip
        layer = store.create_layer(s, "rq-raster", OPERATOR, storage="raster")
        layer.raster_path = str(raster)
        s.commit()
    made = as_role("editor").post(
        "/collections/rq-zones/items",
        json={
            "type": "Feature",
            "geometry": mapping(ZONE),
            "properties": {"code": "ZOP/SKS 12", "name": "Sikasso-Nord", "authority": "DNGM"},
        },
    )
    assert made.status_code == 201, made.text
    fid = made.json()["id"]
    changed = client.patch(
        f"/collections/rq-zones/items/{fid}", json={"properties": {"authority": "Préfecture"}}
    )
    assert changed.status_code == 200, changed.text
    yield {"id": fid}
    with Session(engine) as s:
        for slug in ("rq-zones", "rq-titles", "rq-raster"):
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def today(months: str, lang: str) -> str:
    now = datetime.now(UTC)
    day = "1er" if lang == "fr" and now.day == 1 else str(now.day)
    return f"{day} {months.split()[now.month - 1]} {now.year}"


def test_a_saved_zone_as_pdf(client, zone):
    r = client.post("/analysis/screen?format=pdf&lang=fr", json={"zone_id": zone["id"]})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'inline; filename="rapport-zone-ZOP-SKS-12.pdf"'
    assert r.content.startswith(b"%PDF-")
    text = pdf_text(r.content)
    assert "Rapport de vérification de zone" in text and "Sikasso-Nord" in text
    assert "ZOP/SKS 12" in text and "Préfecture" in text
    assert "test-editor" in text and "test-admin" in text  # drew it, changed it
    assert today(FRENCH_MONTHS, "fr") in text
    [line] = [ln for ln in text.splitlines() if ln.startswith("PR-2021-007 Coopérative Bèrè")]
    ha = float(re.findall(r"(\d+,\d+)", line)[0].replace(",", "."))
    assert ha == pytest.approx(geod_ha(ZONE.intersection(TITLE)), abs=0.006)
    reader = PdfReader(io.BytesIO(r.content))
    assert reader.metadata.title == "Rapport de vérification de zone — Sikasso-Nord"
    assert reader.metadata.author == "test-admin"


def test_a_drawn_zone_as_html_in_english(client, zone):
    r = client.post("/analysis/screen?format=html", json={"geometry": mapping(ZONE)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"].startswith('inline; filename="zone-report-')
    page = r.text
    assert "Zone screening report" in page and "Drawn zone, not saved" in page
    assert today(ENGLISH_MONTHS, "en") in page
    assert 'src="data:image/png;base64,' in page and "<script" not in page
    assert "Overlapping mining titles" in page and "Coopérative Bèrè" in page


def test_the_zone_panels_body_names_the_zone_it_edits(client, zone):
    """The map app sends the drawn shape and the saved zone's id as `exclude_id`."""
    body = {"geometry": mapping(ZONE), "exclude_id": zone["id"]}
    r = client.post("/analysis/screen?format=pdf", json=body)
    assert r.headers["content-disposition"] == 'inline; filename="zone-report-ZOP-SKS-12.pdf"'
    assert "Sikasso-Nord" in pdf_text(r.content)


def test_overlap_proximity_and_zonal_reports(client, zone):
    body = {"source": "rq-zones", "target": "rq-titles"}
    r = client.post("/analysis/overlap?format=pdf&lang=fr", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "rapport-chevauchement-rq-zones-rq-titles.pdf" in r.headers["content-disposition"]
    text = pdf_text(r.content)
    assert "Rapport de chevauchement" in text and "Zones d'orpaillage (rq-zones)" in text
    [line] = [ln for ln in text.splitlines() if ln.startswith("Sikasso-Nord PR-2021-007")]
    ha = float(re.findall(r"(\d+,\d+)", line)[0].replace(",", "."))
    assert ha == pytest.approx(geod_ha(ZONE.intersection(TITLE)), abs=0.006)

    r = client.post("/analysis/proximity?format=html", json={**body, "k": 1})
    assert r.status_code == 200 and "Proximity report" in r.text and "PR-2021-007" in r.text

    r = client.post("/analysis/zonal?format=pdf", json={"raster": "rq-raster", "zones": "rq-zones"})
    assert r.status_code == 200, r.text
    text = pdf_text(r.content)
    assert "Zonal statistics report" in text and "rq-raster" in text
    assert re.search(r"Sikasso-Nord \d+ 7 7 7", text)


def test_problems_stay_problems(client, anon, zone):
    for url, body in [
        ("/analysis/screen?format=pdf", {"geometry": {"type": "Point", "coordinates": [0, 0]}}),
        ("/analysis/screen?format=pdf", {"zone_id": 987654321}),
        ("/analysis/screen?format=pdf&lang=wo", {"zone_id": zone["id"]}),
        ("/analysis/overlap?format=pdf", {"source": "rq-zones", "target": "no-such-layer"}),
        ("/analysis/screen?format=docx", {"zone_id": zone["id"]}),
    ]:
        r = client.post(url, json=body)
        assert 400 <= r.status_code < 500, (url, r.status_code)
        assert r.headers["content-type"] == "application/problem+json", url


def test_a_report_as_a_job_answers_with_the_job(client, zone):
    r = client.post(
        "/analysis/overlap?format=pdf&async=true",
        json={"source": "rq-zones", "target": "rq-titles"},
    )
    assert r.status_code == 202 and r.json()["href"].startswith("/jobs/")


def test_the_format_and_language_are_documented(client, zone):
    operation = client.get("/openapi.json").json()["paths"]["/analysis/overlap"]["post"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert (
        "pdf" in params["format"]["schema"]["enum"] and "html" in params["format"]["schema"]["enum"]
    )
    assert params["lang"]["schema"]["enum"] == ["en", "fr"]
