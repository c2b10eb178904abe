"""The OECD due-diligence Step 5 annual report of a monitoring programme: Annex II risks only,
verified incidents and corrective actions per site and domain with their share executed, over
a stated period; printable HTML (print styles) and an A4 PDF (fpdf2, as reports/pdf.py).

    >>> to_html(build(session, start=date(2026, 4, 1), end=date(2027, 3, 31), lang="en"))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.monitoring import figures
from geo_service.db.access import visible
from geo_service.domain.access import Principal
from geo_service.domain.monitoring import ANNEX_II, DOMAIN
from geo_service.domain.sensitivity import clearance
from geo_service.reports.mapimage import FONTS
from geo_service.store.sensitivity import of_layers

Lang = Literal["fr", "en"]
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_WORDS = {
    "title": ("Rapport annuel — Étape 5 du Guide OCDE", "Annual report — OECD Guidance Step 5"),
    "period": ("Période", "Period"),
    "risks": ("Risques de l'Annexe II", "Annex II risks"),
    "sites": ("Par site et par domaine", "By site and domain"),
    "site": ("Site", "Site"),
    "domain": ("Domaine", "Domain"),
    "risk": ("Risque", "Risk"),
    "incidents": ("Incidents vérifiés", "Verified incidents"),
    "actions": ("Actions recommandées", "Actions recommended"),
    "executed": ("Part exécutée", "Share executed"),
    "total": ("Total", "Total"),
    "scope": (
        "Seuls les incidents vérifiés relevant de l'Annexe II sont comptés ; la part exécutée"
        " est celle des actions réalisées ou en cours sur les actions recommandées.",
        "Only verified incidents under Annex II count; the share executed is actions done or"
        " in progress over actions recommended.",
    ),
}


@dataclass
class Step5:
    lang: Lang
    start: date
    end: date
    title: str
    words: dict[str, str]
    risks: list[list[str]] = field(default_factory=list)
    sites: list[list[str]] = field(default_factory=list)
    total: list[str] = field(default_factory=list)


def _percent(value: float | None, lang: Lang) -> str:
    if value is None:
        return "—"
    shown = f"{value:.1f}"
    return (shown.replace(".", ",") if lang == "fr" else shown) + " %"


def _count(value: Any) -> str:
    """A count, or a dash where it is withheld (a cell too small for the reader's clearance)."""
    return "—" if value is None else str(value)


def _site_names(session: Session, who: Principal | None) -> dict[int, str]:
    """The names of the sites `who` may read, those it may not see left out (its id stands in)."""
    if who is None:
        return {r.id: r.name for r in session.execute(text("SELECT id, name FROM features"))}
    readable, access = visible(who, "l")
    _, _, name = of_layers("f.geom", "f.properties", "f.name", "l", ":level")
    rows = session.execute(
        text(
            f"SELECT f.id, {name} AS name FROM features f JOIN layers l ON l.id = f.layer_id"
            f" WHERE {readable} AND f.id IN (SELECT feature_id FROM incidents"
            " UNION SELECT feature_id FROM corrective_actions)"
        ),
        {**access, "level": clearance(who).value},
    )
    return {r.id: r.name for r in rows}


def build(
    session: Session,
    *,
    start: date,
    end: date,
    lang: Lang,
    who: Principal | None = None,
    cleared: bool = True,
    min_cell: int = 5,
) -> Step5:
    """The report's content over [start, end], in `lang`, as `who` may read it: the layers it
    may read only, small cells withheld when it is not `cleared` (None: every layer, in full)."""
    i = 0 if lang == "fr" else 1
    words = {k: v[i] for k, v in _WORDS.items()}
    names = _site_names(session, who)
    scope: dict[str, Any] = {"who": who, "cleared": cleared, "min_cell": min_cell}
    risks = figures(
        session, "incidents", ["annex_ii"], start=start, end=end, annex_ii_only=True, **scope
    )
    risk_actions = figures(
        session, "actions", ["annex_ii"], start=start, end=end, annex_ii_only=True, **scope
    )
    by_risk = {r["annex_ii"]: r for r in risk_actions["rows"]}
    report = Step5(lang, start, end, words["title"], words)
    for code, labels in ANNEX_II.items():
        count = next((r["count"] for r in risks["rows"] if r["annex_ii"] == code), 0)
        acts: dict[str, Any] = by_risk.get(code, {})
        report.risks.append(
            [
                labels[i],
                _count(count),
                _count(acts.get("recommended", 0)),
                _percent(acts.get("share_executed"), lang),
            ]
        )
    incidents = figures(
        session, "incidents", ["site", "domain"], start=start, end=end, annex_ii_only=True,
        **scope,
    )  # fmt: skip
    actions = figures(
        session, "actions", ["site", "domain"], start=start, end=end, annex_ii_only=True,
        **scope,
    )  # fmt: skip
    cells: dict[tuple[Any, Any], dict[str, Any]] = {}
    for row in incidents["rows"]:
        cells.setdefault((row["site"], row["domain"]), {})["count"] = row["count"]
    for row in actions["rows"]:
        cells.setdefault((row["site"], row["domain"]), {}).update(row)
    for (site, domain), cell in sorted(
        cells.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))
    ):
        report.sites.append(
            [
                str(names.get(site) or site),
                (DOMAIN[domain].fr if lang == "fr" else DOMAIN[domain].en) if domain else "—",
                _count(cell.get("count", 0)),
                _count(cell.get("recommended", 0)),
                _percent(cell.get("share_executed"), lang),
            ]
        )
    report.total = [
        words["total"],
        "",
        _count(incidents["total"]),
        _count(actions["total"]),
        _percent(actions["share_executed"], lang),
    ]
    return report


def to_html(report: Step5) -> str:
    """The printable page of the report."""
    return _TEMPLATES.get_template("step5.html").render(report=report)


def to_pdf(report: Step5) -> bytes:
    """The report as an A4 PDF."""
    from fpdf import FPDF  # loads with the first PDF, not with the app

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_title(report.title)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    words = report.words
    pdf.multi_cell(
        0, 6, f"{words['period']}: {report.start} — {report.end}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.multi_cell(0, 5, words["scope"], new_x="LMARGIN", new_y="NEXT")
    for title, head, rows in (
        (words["risks"], [words["risk"], words["incidents"], words["actions"], words["executed"]],
         report.risks),
        (words["sites"], [words["site"], words["domain"], words["incidents"], words["actions"],
                          words["executed"]], [*report.sites, report.total]),
    ):  # fmt: skip
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8.5)
        with pdf.table(line_height=4.4) as grid:
            grid.row(head)
            for cells in rows:
                grid.row(cells)
    return bytes(pdf.output())
