"""Printed reports of a zone and of an analysis, as PDF (read back with pypdf) and HTML: the
title, the zone's code, authority, status, who drew and changed it, the date, the conflict
table with hectares and shares checked against pyproj.Geod, French accents intact, the map
inlined. Nothing here needs a PDF viewer."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from PIL import Image
from pypdf import PdfReader
from shapely.geometry import LineString, Point, box, mapping

from geo_service.analysis.overlap import overlap
from geo_service.analysis.proximity import nearest
from geo_service.analysis.screen import screen
from geo_service.domain.access import OPERATOR, Principal, Role
from geo_service.reports.content import analysis_document, zone_document
from geo_service.reports.html import to_html
from geo_service.reports.pdf import to_pdf
from geo_service.store import layers as store
from tests.analysis.conftest import add_layer, geod_distance_m, geod_ha

ZONE = box(-11.30, 12.70, -11.285, 12.715)
TITLE = box(-11.29, 12.69, -11.27, 12.71)
PARK = box(-11.31, 12.711, -11.296, 12.73)
RIVER = LineString([(-11.2835, 12.69), (-11.2835, 12.73)])  # about 160 m east of the zone
VILLAGE = Point(-11.292, 12.721)  # about 660 m north
MADE = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
DRAWER = Principal("Awa Traoré", Role.editor)
CHANGER = Principal("Modibo Kéïta", Role.editor)


@pytest.fixture
def world(session):
    titles = add_layer(
        session,
        "rp-titles",
        [(TITLE, {"name": "PE-2019-044", "code": "PE-2019-044", "holder": "Société Fékola SA",
                  "title_type": "exploitation", "status": "active"})],
        kind="concession",
    )  # fmt: skip
    add_layer(
        session, "rp-parks", [(PARK, {"name": "Forêt classée de la Falémé"})],
        theme="protected_area",
    )  # fmt: skip
    add_layer(session, "rp-rivers", [(RIVER, {"name": "Falémé"})], theme="river")
    add_layer(session, "rp-places", [(VILLAGE, {"name": "Sékokoto"})], theme="settlement")
    zones = store.create_layer(session, "rp-zones", kind="asm_zone", who=OPERATOR)
    zone = store.create_feature(
        session, zones, mapping(ZONE),
        {"code": "ZOP-KEN-07", "name": "Zone de Kéniéba-Sud", "authority": "Ministère des Mines"},
        who=DRAWER,
    )  # fmt: skip
    store.update_feature(
        session, zones, zone.id,
        properties={"authority": "Direction nationale de la géologie et des mines"}, who=CHANGER,
    )  # fmt: skip
    session.flush()
    return {"zone": zone.id, "title": titles[0]}


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def numbers(line: str) -> list[float]:
    """The numbers of a line as written in French or English (1 234,5 / 1,234.5)."""
    found = re.findall(r"\d[\d\u202f\u00a0,.]*", line)
    out = []
    for item in found:
        item = item.strip(" ,.").replace("\u202f", "").replace("\u00a0", "")
        item = item.replace(",", ".") if re.fullmatch(r"\d+,\d+", item) else item.replace(",", "")
        out.append(float(item))
    return out


def line_with(text: str, start: str) -> str:
    """The one line of `text` that starts with `start`."""
    [line] = [ln for ln in text.splitlines() if ln.startswith(start)]
    return line


class Cells(HTMLParser):
    """The text of every table cell, row by row, and the images' sources."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_saved_zone_report_in_french(session, world):
    who = Principal("test-viewer", Role.viewer)
    result = screen(session, zone_id=world["zone"], who=who, lang="fr")
    doc = zone_document(session, result, who=who, lang="fr", zone_id=world["zone"], now=MADE)
    text = pdf_text(to_pdf(doc))

    assert "Rapport de vérification de zone" in text and "Zone de Kéniéba-Sud" in text
    assert "ZOP-KEN-07" in text and "Direction nationale de la géologie et des mines" in text
    assert "brouillon" in text  # the status, in French
    # the zone was created today: the day is today's, written the French way (1er, 2, ...)
    assert "Dessinée par" in text and re.search(
        r"Awa Traoré, le (1er|[0-9]{1,2}) [a-zéû]+ 20[0-9]{2}", text
    )
    assert "Dernière modification par" in text and "Modibo Kéïta" in text
    assert "1er décembre 2026, 09:05 UTC" in text and "Établi par" in text
    assert doc.filename == "rapport-zone-ZOP-KEN-07"

    zone_ha = geod_ha(ZONE)
    assert numbers(line_with(text, "Superficie "))[0] == pytest.approx(zone_ha, abs=0.006)
    ha, pct = numbers(line_with(text, "PE-2019-044 Société Fékola SA"))[-2:]
    expected = geod_ha(ZONE.intersection(TITLE))
    assert ha == pytest.approx(expected, abs=0.006)
    assert pct == pytest.approx(100 * expected / zone_ha, abs=0.06)
    park_ha, park_pct, park_m = numbers(line_with(text, "Forêt classée de la Falémé"))[-3:]
    assert park_ha == pytest.approx(geod_ha(ZONE.intersection(PARK)), abs=0.006)
    assert park_pct == pytest.approx(100 * park_ha / zone_ha, abs=0.06) and park_m == 0
    river_m = numbers(line_with(text, "Falémé "))[-1]
    assert river_m == pytest.approx(geod_distance_m(ZONE, RIVER), abs=1)
    village_m = numbers(line_with(text, "Sékokoto"))[-1]
    assert village_m == pytest.approx(geod_distance_m(ZONE, VILLAGE), abs=1)
    for rule in result["rules"]:
        assert rule["reason"][:60] in text.replace("\n", " ")
    assert "non conforme" in text and "Overlap" not in text

    legend = doc.map.legend
    assert legend[-2:] == ("Zone vérifiée", "Chevauchement avec la zone")
    assert "Titres miniers : exploitation" in legend and "rp-parks" in legend


def test_the_html_says_the_same_and_carries_its_map(session, world):
    who = Principal("test-viewer", Role.viewer)
    result = screen(session, zone_id=world["zone"], who=who, lang="fr")
    doc = zone_document(session, result, who=who, lang="fr", zone_id=world["zone"], now=MADE)
    page = to_html(doc)
    cells = Cells()
    cells.feed(page)

    assert '<html lang="fr">' in page and "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    [image] = cells.images
    assert image.startswith("data:image/png;base64,")
    png = Image.open(io.BytesIO(base64.b64decode(image.split(",", 1)[1])))
    assert png.size == doc.map.size
    assert "Rapport de vérification de zone" in page and "ZOP-KEN-07" in page
    assert "Awa Traoré" in page and "1er décembre 2026, 09:05 UTC" in page
    [title_row] = [row for row in cells.rows if row and row[0] == "PE-2019-044"]
    assert title_row[:4] == ["PE-2019-044", "Société Fékola SA", "exploitation", "actif"]
    expected = geod_ha(ZONE.intersection(TITLE))
    assert numbers(title_row[4])[0] == pytest.approx(expected, abs=0.006)
    assert numbers(title_row[5])[0] == pytest.approx(100 * expected / geod_ha(ZONE), abs=0.06)
    verdicts = {row[0]: row[1] for row in cells.rows if len(row) == 3}
    assert verdicts["Titres d'exploitation en vigueur"] == "non conforme"
    assert 'class="verdict-fail">non conforme' in page


def test_a_drawn_zone_has_no_saved_fields_and_in_english(session, world):
    who = Principal("test-viewer", Role.viewer)
    result = screen(session, mapping(ZONE), who=who)
    doc = zone_document(session, result, who=who, lang="en", now=MADE)
    text = pdf_text(to_pdf(doc))
    assert "Zone screening report" in text and "Drawn zone, not saved" in text
    assert "Drawn by" not in text and "Code" not in text.split("Overlapping mining titles")[0]
    assert "1 December 2026, 09:05 UTC" in text and "Report date" in text
    assert doc.filename == "zone-report-2026-12-01"
    # The other ASM zone (the saved one) is a conflict of the drawn one.
    assert line_with(text, "ZOP-KEN-07 Zone de Kéniéba-Sud")


def test_an_edited_zone_keeps_its_record_and_says_the_shape_is_not_saved(session, world):
    who = Principal("test-editor", Role.editor)
    moved = box(-11.301, 12.70, -11.286, 12.716)
    result = screen(session, mapping(moved), exclude_id=world["zone"], who=who)
    doc = zone_document(session, result, who=who, lang="en", exclude_id=world["zone"], now=MADE)
    assert doc.heading == "Zone de Kéniéba-Sud"
    assert ("Code", "ZOP-KEN-07") in doc.facts
    assert any("not saved yet" in note for note in doc.notes)
    # A title's id given as exclude_id is no zone: no record is borrowed from it.
    result = screen(session, mapping(moved), exclude_id=world["title"], who=who)
    doc = zone_document(session, result, who=who, lang="en", exclude_id=world["title"])
    assert doc.heading == "Drawn zone, not saved"


def test_overlap_and_proximity_reports(session, world):
    who = Principal("test-viewer", Role.viewer)
    request = {"source": "rp-zones", "target": "rp-titles"}
    result = overlap(session, **request, with_geometry=True, who=who)
    doc = analysis_document(session, "overlap", result, request, who=who, lang="fr", now=MADE)
    text = pdf_text(to_pdf(doc))
    assert "Rapport de chevauchement" in text and "Couche source" in text
    assert "rp-zones" in text and "rp-titles" in text and "1er décembre 2026" in text
    ha = numbers(line_with(text, "Zone de Kéniéba-Sud PE-2019-044"))[-3]
    assert ha == pytest.approx(geod_ha(ZONE.intersection(TITLE)), abs=0.006)
    assert doc.filename == "rapport-chevauchement-rp-zones-rp-titles"
    assert doc.map.legend[-1] == "Chevauchement"

    request = {"source": "rp-places", "target": "rp-rivers", "k": 1}
    result = nearest(session, **request, with_geometry=True, who=who)
    doc = analysis_document(session, "proximity", result, request, who=who, lang="en", now=MADE)
    text = pdf_text(to_pdf(doc))
    assert "Proximity report" in text and "Nearest per source" in text
    metres = numbers(line_with(text, "Sékokoto Falémé"))[-1]
    assert metres == pytest.approx(geod_distance_m(VILLAGE, RIVER), abs=1)
    assert doc.map.legend[-1] == "Shortest distance"


def test_an_empty_analysis_still_has_a_map_and_says_so(session, world):
    who = Principal("test-viewer", Role.viewer)
    request = {"source": "rp-parks", "target": "rp-titles"}
    result = overlap(session, **request, with_geometry=True, who=who)
    assert result["rows"] == []
    doc = analysis_document(session, "overlap", result, request, who=who, lang="en")
    assert "The analysis found nothing." in pdf_text(to_pdf(doc))
    assert doc.map.view.zoom > 8  # framed on the two layers, not the world
