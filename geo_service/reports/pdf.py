"""A report as an A4 PDF, with fpdf2: pure Python, maintained, Unicode TrueType fonts.

fpdf2 (LGPL-3.0) needs no system library, where WeasyPrint needs Pango from the system and
ReportLab is heavier for two tables and a picture. It embeds only the glyphs a report uses of
DejaVu Sans (data/fonts), so French and West African names print and extract as written, and
the file stays small. Tables break across pages with their headings repeated; every page has
its number.

    >>> to_pdf(zone_document(session, result, who=who, lang="fr"))[:5]
    b'%PDF-'
"""

from __future__ import annotations

import io

from fpdf import FPDF, FontFace

from geo_service.reports.content import VERDICT_COLOURS, Document, Table
from geo_service.reports.mapimage import FONTS
from geo_service.reports.words import long_date, word

FAMILY = "DejaVu"
MARGIN = 12.0  # mm
INK = (33, 33, 33)
MUTED = (95, 95, 95)
ACCENT = (8, 104, 172)  # the zone's blue (#0868ac)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.lstrip("#"), 16)
    return value >> 16, (value >> 8) & 255, value & 255


class _Report(FPDF):
    def __init__(self, doc: Document) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc = doc
        self.add_font(FAMILY, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=16)
        self.set_title(f"{doc.title} — {doc.heading}")
        self.set_subject(doc.heading)
        self.set_creator("geo-service")
        if doc.author:
            self.set_author(doc.author)
        self.set_lang(doc.lang)
        self.set_creation_date(doc.made)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*MUTED)
        made = long_date(self.doc.made, self.doc.lang)
        self.cell(0, 4, word("footer", self.doc.lang, title=self.doc.title, date=made))
        page = word("page", self.doc.lang, page=self.page_no(), pages=self.str_alias_nb_pages)
        self.set_x(MARGIN)
        self.cell(0, 4, page, align="R")

    @property
    def text_width(self) -> float:
        return self.w - 2 * MARGIN

    def header_block(self) -> None:
        doc = self.doc
        self.set_font(FAMILY, "B", 8)
        self.set_text_color(*ACCENT)
        self.cell(0, 4, "GEO-SERVICE", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)
        self.set_font(FAMILY, "B", 17)
        self.multi_cell(0, 8, doc.title, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "", 12)
        self.multi_cell(0, 6, doc.heading, new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.8)
        self.line(MARGIN, self.get_y() + 1.5, self.w - MARGIN, self.get_y() + 1.5)
        self.ln(4)
        for note in doc.notes:
            self.muted(note)

    def muted(self, note: str) -> None:
        self.set_font(FAMILY, "", 9)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 4.5, note, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)
        self.ln(1)

    def facts(self) -> None:
        """One label and value a line."""
        self.set_font(FAMILY, "", 9)
        self.set_draw_color(225, 225, 225)
        self.set_line_width(0.2)
        labels = FontFace(color=MUTED)
        values = FontFace(emphasis="BOLD", color=INK)
        with self.table(
            borders_layout="HORIZONTAL_LINES",
            first_row_as_headings=False,
            col_widths=(3, 7),
            text_align="LEFT",
            line_height=4.6,
            padding=(0.8, 1.2),
        ) as table:
            for label, value in self.doc.facts:
                row = table.row()
                row.cell(label, style=labels)
                row.cell(value, style=values)
        self.ln(3)

    def map_image(self) -> None:
        width_px, height_px = self.doc.map.size
        height = self.text_width * height_px / width_px
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
        self.image(io.BytesIO(self.doc.map.png), x=MARGIN, w=self.text_width, h=height)
        self.set_draw_color(180, 180, 180)
        self.set_line_width(0.2)
        self.rect(MARGIN, self.get_y() - height, self.text_width, height)
        self.ln(3)

    def table_block(self, table: Table) -> None:
        if self.get_y() + 18 > self.page_break_trigger:
            self.add_page()
        self.set_font(FAMILY, "B", 11)
        self.set_text_color(*INK)
        self.multi_cell(0, 6, table.title, new_x="LMARGIN", new_y="NEXT")
        if table.rows:
            self.set_font(FAMILY, "", 8.5)
            self.set_draw_color(215, 215, 215)
            self.set_line_width(0.2)
            align = tuple(
                "RIGHT" if i in table.numeric else "LEFT" for i in range(len(table.columns))
            )
            headings = FontFace(emphasis="BOLD", fill_color=(238, 243, 247))
            with self.table(
                borders_layout="HORIZONTAL_LINES",
                col_widths=tuple(table.widths),
                text_align=align,
                headings_style=headings,
                line_height=4.4,
                padding=(0.8, 1.2),
            ) as grid:
                grid.row(table.columns)
                for i, cells in enumerate(table.rows):
                    row = grid.row()
                    tone = table.tones[i] if table.tones else None
                    for j, cell in enumerate(cells):
                        if tone and j == table.tone_column:
                            face = FontFace(emphasis="BOLD", color=_rgb(VERDICT_COLOURS[tone]))
                            row.cell(cell, style=face)
                        else:
                            row.cell(cell)
        if table.note:
            self.ln(1)
            self.muted(table.note)
        self.ln(3)


def to_pdf(doc: Document) -> bytes:
    """The PDF file of `doc`: header, facts, map, tables."""
    pdf = _Report(doc)
    pdf.add_page()
    pdf.header_block()
    pdf.facts()
    pdf.map_image()
    for table in doc.tables:
        pdf.table_block(table)
    return bytes(pdf.output())
