"""The words of a printed report in English and French, and the map app's own labels.

A report says what the screen says: rules, verdicts, reasons and category headings come from
geo_service/analysis/messages.py, and the names of kinds and attribute values (title types,
statuses, themes...) from the map app's messages in web/static/i18n/{en,fr}.json. Only the
words a report has and the app has not (headings, table columns, the legend) are here.

    >>> word("title.zone", "fr")
    'Rapport de vérification de zone'
    >>> value("title_type", "exploration", "fr")
    'recherche'
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from geo_service.analysis.messages import Lang

I18N = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n"

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title.zone": "Zone screening report",
        "title.overlap": "Overlap report",
        "title.proximity": "Proximity report",
        "title.zonal": "Zonal statistics report",
        "zone.unsaved": "Drawn zone, not saved",
        "zone.unnamed": "Zone no. {id}",
        "zone.edited": "The shape shown is the one being edited; it is not saved yet.",
        "fact.code": "Code",
        "fact.authority": "Authority",
        "fact.status": "Status",
        "fact.drawn_by": "Drawn by",
        "fact.changed_by": "Last changed by",
        "fact.by_on": "{who}, {when}",
        "fact.version": "Version",
        "fact.area": "Area",
        "fact.verdict": "Overall verdict",
        "fact.date": "Report date",
        "fact.prepared_by": "Prepared by",
        "fact.source": "Source layer",
        "fact.target": "Target layer",
        "fact.within": "Within",
        "fact.nearest": "Nearest per source",
        "fact.raster": "Raster layer",
        "fact.zones": "Zones",
        "fact.drawn_zone": "a drawn polygon",
        "fact.total": "Total overlap",
        "fact.rows": "Results",
        "section.map": "Map",
        "section.rules": "Rules",
        "section.results": "Results",
        "section.no_conflict": "Nothing overlaps the zone and nothing lies within the distances of the rules.",
        "section.no_rows": "The analysis found nothing.",
        "section.truncated": "The first {shown} of {total} results; the CSV download has them all.",
        "col.rule": "Rule",
        "col.verdict": "Verdict",
        "col.reason": "Reason",
        "col.code": "Code",
        "col.name": "Name",
        "col.holder": "Holder",
        "col.type": "Type",
        "col.status": "Status",
        "col.overlap_ha": "Overlap (ha)",
        "col.zone_pct": "% of the zone",
        "col.distance_m": "Distance (m)",
        "col.consequence": "Consequence",
        "col.hazards": "Hazards",
        "col.qualification": "Qualification",
        "col.source": "Source",
        "col.target": "Target",
        "col.source_pct": "% of the source",
        "col.target_pct": "% of the target",
        "col.inside": "inside",
        "col.zone": "Zone",
        "col.pixels": "Pixels",
        "col.min": "Min.",
        "col.max": "Max.",
        "col.mean": "Mean",
        "col.sum": "Sum",
        "col.classes": "Classes (share)",
        "legend.title": "Legend",
        "legend.zone": "Screened zone",
        "legend.overlap": "Overlap with the zone",
        "legend.result_overlap": "Overlap",
        "legend.result_line": "Shortest distance",
        "legend.zonal_zone": "Zone",
        "map.basemap": "Basemap: Natural Earth, places GeoNames (CC BY 4.0), lakes © OpenStreetMap contributors",
        "footer": "geo-service · {title} · {date}",
        "page": "page {page}/{pages}",
        "none": "none",
        "other": "other values",
        "file.zone": "zone-report",
        "file.overlap": "overlap-report",
        "file.proximity": "proximity-report",
        "file.zonal": "zonal-report",
    },
    "fr": {
        "title.zone": "Rapport de vérification de zone",
        "title.overlap": "Rapport de chevauchement",
        "title.proximity": "Rapport de proximité",
        "title.zonal": "Rapport de statistiques zonales",
        "zone.unsaved": "Zone dessinée, non enregistrée",
        "zone.unnamed": "Zone n° {id}",
        "zone.edited": "Le tracé montré est celui en cours de modification ; il n'est pas encore enregistré.",
        "fact.code": "Code",
        "fact.authority": "Autorité",
        "fact.status": "Statut",
        "fact.drawn_by": "Dessinée par",
        "fact.changed_by": "Dernière modification par",
        "fact.by_on": "{who}, le {when}",
        "fact.version": "Version",
        "fact.area": "Superficie",
        "fact.verdict": "Verdict d'ensemble",
        "fact.date": "Date du rapport",
        "fact.prepared_by": "Établi par",
        "fact.source": "Couche source",
        "fact.target": "Couche cible",
        "fact.within": "Dans un rayon de",
        "fact.nearest": "Plus proches par entité source",
        "fact.raster": "Couche raster",
        "fact.zones": "Zones",
        "fact.drawn_zone": "un polygone dessiné",
        "fact.total": "Chevauchement total",
        "fact.rows": "Résultats",
        "section.map": "Carte",
        "section.rules": "Règles",
        "section.results": "Résultats",
        "section.no_conflict": "Rien ne chevauche la zone et rien ne se trouve dans les distances des règles.",
        "section.no_rows": "L'analyse n'a rien trouvé.",
        "section.truncated": "Les {shown} premiers résultats sur {total} ; le téléchargement CSV les contient tous.",
        "col.rule": "Règle",
        "col.verdict": "Verdict",
        "col.reason": "Motif",
        "col.code": "Code",
        "col.name": "Nom",
        "col.holder": "Titulaire",
        "col.type": "Type",
        "col.status": "Statut",
        "col.overlap_ha": "Chevauchement (ha)",
        "col.zone_pct": "% de la zone",
        "col.distance_m": "Distance (m)",
        "col.consequence": "Conséquence",
        "col.hazards": "Dangers",
        "col.qualification": "Qualification",
        "col.source": "Source",
        "col.target": "Cible",
        "col.source_pct": "% de la source",
        "col.target_pct": "% de la cible",
        "col.inside": "à l'intérieur",
        "col.zone": "Zone",
        "col.pixels": "Pixels",
        "col.min": "Min.",
        "col.max": "Max.",
        "col.mean": "Moyenne",
        "col.sum": "Somme",
        "col.classes": "Classes (part)",
        "legend.title": "Légende",
        "legend.zone": "Zone vérifiée",
        "legend.overlap": "Chevauchement avec la zone",
        "legend.result_overlap": "Chevauchement",
        "legend.result_line": "Plus courte distance",
        "legend.zonal_zone": "Zone",
        "map.basemap": "Fond de carte : Natural Earth, localités GeoNames (CC BY 4.0), lacs © contributeurs OpenStreetMap",
        "footer": "geo-service · {title} · {date}",
        "page": "page {page}/{pages}",
        "none": "aucun",
        "other": "autres valeurs",
        "file.zone": "rapport-zone",
        "file.overlap": "rapport-chevauchement",
        "file.proximity": "rapport-proximite",
        "file.zonal": "rapport-zonal",
    },
}

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
}


def word(key: str, lang: Lang, **values: Any) -> str:
    """The report's word `key` in `lang`, `{name}` placeholders filled from `values`."""
    return WORDS[lang][key].format(**values)


@lru_cache
def _app_messages(lang: str) -> dict[str, str]:
    return json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))


def app_word(key: str, lang: Lang, default: str) -> str:
    """A message of the map app (web/static/i18n), or `default` when it has none."""
    return _app_messages(lang).get(key, default)


def value(field: str, raw: Any, lang: Lang) -> str:
    """An attribute value as the map app names it (`value.<field>.<raw>`); lists joined."""
    if raw is None or raw == "":
        return ""
    if isinstance(raw, list):
        return ", ".join(value(field, v, lang) for v in raw)
    return app_word(f"value.{field}.{raw}", lang, str(raw))


def long_date(moment: datetime, lang: Lang) -> str:
    """`moment` as a person writes it: '1 December 2026, 14:05 UTC', '1er décembre 2026, 14:05 UTC'."""
    month = _MONTHS[lang].split()[moment.month - 1]
    day = "1er" if lang == "fr" and moment.day == 1 else str(moment.day)
    return f"{day} {month} {moment.year}, {moment:%H:%M} UTC"


def short_date(moment: datetime) -> str:
    """ISO 8601 date, for file names and footers."""
    return f"{moment:%Y-%m-%d}"
