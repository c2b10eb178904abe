"""The printable report in Chromium: the page shows its inlined map with no request and no
script, and printing it to A4 (what a planner's "Print" does) gives a few pages with the title,
the zone's code and the conflict table."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from pypdf import PdfReader

from tests.conftest import bearer


def _demo_zone(live_server: str, code: str) -> int:
    items = httpx.get(f"{live_server}/collections/asm-zones/items", params={"limit": 100}).json()
    [zone] = [f for f in items["features"] if f["properties"].get("code") == code]
    return zone["id"]


def test_the_report_page_shows_its_map_offline_and_prints_to_a4(
    new_page, live_server: str, demo, keys
) -> None:
    zone_id = _demo_zone(live_server, "ZOP-KGB-01")
    answer = httpx.post(
        f"{live_server}/analysis/screen?format=html&lang=fr",
        json={"zone_id": zone_id},
        headers=bearer(keys["viewer"]),
        timeout=60,
    )
    assert answer.status_code == 200
    page = new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_content(answer.text, wait_until="load")
    assert [u for u in requests if not u.startswith("data:")] == []
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.querySelector('figure img').naturalWidth") == 1200
    assert page.locator("h1").inner_text() == "Rapport de vérification de zone"

    page.emulate_media(media="print")
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    assert 1 <= len(pdf.pages) <= 4
    box = pdf.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 1 and abs(float(box.height) - 841.9) < 1.5  # A4, pt
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "ZOP-KGB-01" in text and "Titres miniers chevauchés" in text


def test_the_zone_and_research_panels_download_their_reports_as_pdf(open_map) -> None:
    """The planner's "PDF" next to the printable report, in the interface's language, and the
    researcher's next to an overlap table: a PDF file named after the zone or the layers."""
    from shapely.geometry import shape

    from tests.web.test_map_browser import _demo_feature, _draw_polygon

    page = open_map("editor", lang="fr")
    bounds = shape(_demo_feature("asm-zones", code="ZOP-KGB-01")["geometry"]).bounds
    page.evaluate("b => app.map.fitBounds([[b[1], b[0]], [b[3], b[2]]])", list(bounds))
    minx, miny, maxx, maxy = bounds
    _draw_polygon(page, [(miny, minx), (miny, maxx), (maxy, maxx)])
    page.locator(".report-head").wait_for()
    with page.expect_download() as download:
        page.click("#zone-pdf")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF") and download.value.suggested_filename.endswith(".pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Rapport de vérification de zone" in text

    page.click('[data-tab="research"]')
    page.select_option("#analysis-type", "overlap")
    page.select_option("#analysis-source", "concessions")
    page.select_option("#analysis-target", "protected-areas")
    page.click("#analysis-run")
    page.locator("table.results tbody tr").first.wait_for()
    with page.expect_download() as download:
        page.click("#analysis-pdf")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    assert download.value.suggested_filename.endswith(".pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Chevauchement" in text or "chevauchement" in text
