"""The folium map works offline: Leaflet inlined, no http(s) script or stylesheet anywhere."""

from __future__ import annotations

import re

from shapely.geometry import box, mapping

from geo_service.analysis.report import LEAFLET, to_html
from geo_service.analysis.screen import screen
from geo_service.domain.access import OPERATOR
from tests.analysis.conftest import add_layer


def test_screening_map_is_self_contained(session):
    add_layer(
        session, "rp-titles", [(box(42.01, -8.0, 42.03, -7.98), {"name": "T"})], kind="concession"
    )

    page = to_html(
        screen(session, mapping(box(42.0, -8.0, 42.02, -7.98)), who=OPERATOR), "Screening <zone>"
    )

    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", page, re.I)
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", page, re.I)
    assert not re.search(r"@import\s+url\([\"']?(https?:)?//", page, re.I)
    assert "cdn." not in page and "jsdelivr" not in page and "code.jquery" not in page
    leaflet = (LEAFLET / "leaflet.js").read_text()
    assert leaflet[200:400] in page  # the library itself, inlined
    assert "L.geoJson" in page or "L.geoJSON" in page
    assert "Screening &lt;zone&gt;" in page
    assert '"category": "concessions"' in page or '"category":"concessions"' in page


def test_an_empty_result_still_renders(session):
    page = to_html({"rows": []}, "Nothing")
    assert "Nothing" in page and "<script src=" not in page
