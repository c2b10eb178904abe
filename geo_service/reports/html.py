"""A report as one printable HTML page: the map inlined, A4 print styles, no script.

Everything is in the file (the PNG as a data: URL, the styles in the page), so it opens and
prints from a field office with no connection; fonts are the reader's own, as in the map app.

    >>> page = to_html(zone_document(session, result, who=who, lang="fr"))
"""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from geo_service.reports.content import Document
from geo_service.reports.words import long_date, word

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def to_html(doc: Document) -> str:
    """The page (UTF-8 text) of `doc`."""
    return _TEMPLATES.get_template("report.html").render(
        doc=doc,
        image=base64.b64encode(doc.map.png).decode("ascii"),
        alt=f"{word('section.map', doc.lang)} — {word('legend.title', doc.lang)}: "
        + ", ".join(doc.map.legend),
        footer=word("footer", doc.lang, title=doc.title, date=long_date(doc.made, doc.lang)),
    )
