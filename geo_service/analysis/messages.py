"""Screening messages in English and French: a rule's code and parameters as a sentence.

Every screening rule gives a stable `code` with its `params`; the sentence is made here, in one
table per language, so that the API, the command line and the printable report say the same
thing. The map app has the same sentences under the same keys in web/static/i18n/{en,fr}.json
(tests/web/test_web.py keeps the two in step) and renders them itself, so that switching
language needs no new request. Numbers are written as the browser's Intl would write them:
en-GB `7,654.09`, fr-FR `7 654,09` (narrow no-break space between thousands).

    >>> reason("area_over_max", {"area_ha": 7654.0912, "max_ha": 500}, "fr")
    'Superficie de la zone : 7\u202f654,09 ha, au-delà de la limite de 500 ha'
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, get_args

from geo_service.errors import InvalidInput
from geo_service.problems import Message, msg

Lang = Literal["en", "fr"]
LANGS: tuple[str, ...] = get_args(Lang)

# Decimal places shown for each numeric parameter (the map app uses the same table).
DIGITS = {"area_ha": 2, "max_ha": 2, "distance_m": 0, "limit_m": 0, "within_m": 0, "count": 0}

# `{name}` placeholders take the formatted parameters; a `_one` variant wins when count is 1.
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "reason.area_within_max": "Zone is {area_ha} ha; at most {max_ha} ha",
        "reason.area_over_max": "Zone is {area_ha} ha; over {max_ha} ha",
        "reason.exploitation_title_overlap": "Overlaps {count} active exploitation titles: {titles}",
        "reason.exploitation_title_overlap_one": "Overlaps an active exploitation title: {titles}",
        "reason.other_title_overlap": "Overlaps {count} other active or applied-for titles: {titles}",
        "reason.other_title_overlap_one": "Overlaps another active or applied-for title: {titles}",
        "reason.titles_clear": "Overlaps no active exploitation title",
        "reason.protected_area_clear": "No protected area within {within_m} m",
        "reason.protected_area_touches": "Zone touches or overlaps protected area '{name}'",
        "reason.protected_area_too_close": "Zone is {distance_m} m from protected area '{name}', less than the {limit_m} m required",
        "reason.protected_area_near": "Zone is {distance_m} m from protected area '{name}', within twice the {limit_m} m required",
        "reason.river_clear": "No river within {within_m} m",
        "reason.river_touches": "Zone touches or crosses river '{name}'",
        "reason.river_too_close": "Zone is {distance_m} m from river '{name}', less than the {limit_m} m required",
        "reason.river_near": "Zone is {distance_m} m from river '{name}', within twice the {limit_m} m required",
        "reason.settlement_clear": "No settlement within {within_m} m",
        "reason.settlement_touches": "Zone touches or covers settlement '{name}'",
        "reason.settlement_too_close": "Zone is {distance_m} m from settlement '{name}', less than the {limit_m} m required",
        "reason.settlement_near": "Zone is {distance_m} m from settlement '{name}', within twice the {limit_m} m required",
        "reason.asm_zones_overlap": "Overlaps {count} other ASM zones",
        "reason.asm_zones_overlap_one": "Overlaps another ASM zone",
        "reason.asm_zones_clear": "No other ASM zone",
        "reason.hazards_near": "{count} tailings facilities or abandoned mines within {within_m} m",
        "reason.hazards_near_one": "A tailings facility or abandoned mine within {within_m} m",
        "reason.hazards_clear": "No tailings facility or abandoned mine within {within_m} m",
        "rule.active_exploitation_titles": "Active exploitation titles",
        "rule.asm_zones": "Other ASM zones",
        "rule.hazards": "Tailings and abandoned mines",
        "rule.max_area": "Zone size",
        "rule.protected_areas": "Protected areas",
        "rule.rivers": "Rivers",
        "rule.settlements": "Settlements",
        "verdict.fail": "fail",
        "verdict.pass": "pass",
        "verdict.warn": "warning",
        "screen.area": "Area: {ha} ha",
        "screen.rules": "Rules",
        "screen.title": "Screening report",
        "conflict.abandoned_mines": "Nearby abandoned mines",
        "conflict.asm_zones": "Other ASM zones",
        "conflict.concessions": "Overlapping mining titles",
        "conflict.mine_sites": "ASM sites inside",
        "conflict.protected_areas": "Protected areas",
        "conflict.rivers": "Nearby rivers",
        "conflict.settlements": "Nearby settlements",
        "conflict.tailings": "Nearby tailings facilities",
        "title.overlap": "Overlap",
        "title.proximity": "Proximity",
        "title.screening": "Screening",
        "title.zonal": "Zonal",
        "report.zone": "Screened zone",
        "report.what": "Category",
        "report.name": "Name",
        "report.code": "Code",
        "report.holder": "Holder",
        "report.title_type": "Title type",
        "report.status": "Status",
        "report.consequence": "Consequence class",
        "report.hazards": "Hazards",
        "report.qualification": "Qualification",
        "report.layer": "Layer",
        "report.id": "Id",
        "report.area_ha": "Area (ha)",
        "report.overlap_ha": "Overlap (ha)",
        "report.overlap_pct": "% of the zone",
        "report.distance_m": "Distance (m)",
        "report.verdict": "Verdict",
    },
    "fr": {
        "reason.area_within_max": "Superficie de la zone : {area_ha} ha, dans la limite de {max_ha} ha",
        "reason.area_over_max": "Superficie de la zone : {area_ha} ha, au-delà de la limite de {max_ha} ha",
        "reason.exploitation_title_overlap": "Chevauche {count} titres miniers d'exploitation en vigueur : {titles}",
        "reason.exploitation_title_overlap_one": "Chevauche un titre minier d'exploitation en vigueur : {titles}",
        "reason.other_title_overlap": "Chevauche {count} autres titres miniers en vigueur ou en demande : {titles}",
        "reason.other_title_overlap_one": "Chevauche un autre titre minier en vigueur ou en demande : {titles}",
        "reason.titles_clear": "Ne chevauche aucun titre minier d'exploitation en vigueur",
        "reason.protected_area_clear": "Aucune aire protégée à moins de {within_m} m",
        "reason.protected_area_touches": "La zone touche ou chevauche l'aire protégée « {name} »",
        "reason.protected_area_too_close": "La zone est à {distance_m} m de l'aire protégée « {name} », en deçà des {limit_m} m exigés",
        "reason.protected_area_near": "La zone est à {distance_m} m de l'aire protégée « {name} », à moins du double des {limit_m} m exigés",
        "reason.river_clear": "Aucun cours d'eau à moins de {within_m} m",
        "reason.river_touches": "La zone touche ou traverse le cours d'eau « {name} »",
        "reason.river_too_close": "La zone est à {distance_m} m du cours d'eau « {name} », en deçà des {limit_m} m exigés",
        "reason.river_near": "La zone est à {distance_m} m du cours d'eau « {name} », à moins du double des {limit_m} m exigés",
        "reason.settlement_clear": "Aucune localité à moins de {within_m} m",
        "reason.settlement_touches": "La zone touche ou englobe la localité « {name} »",
        "reason.settlement_too_close": "La zone est à {distance_m} m de la localité « {name} », en deçà des {limit_m} m exigés",
        "reason.settlement_near": "La zone est à {distance_m} m de la localité « {name} », à moins du double des {limit_m} m exigés",
        "reason.asm_zones_overlap": "Chevauche {count} autres zones d'orpaillage",
        "reason.asm_zones_overlap_one": "Chevauche une autre zone d'orpaillage",
        "reason.asm_zones_clear": "Aucune autre zone d'orpaillage",
        "reason.hazards_near": "{count} installations de stockage de résidus ou anciennes mines à moins de {within_m} m",
        "reason.hazards_near_one": "Une installation de stockage de résidus ou ancienne mine à moins de {within_m} m",
        "reason.hazards_clear": "Aucune installation de stockage de résidus ni ancienne mine à moins de {within_m} m",
        "rule.active_exploitation_titles": "Titres d'exploitation en vigueur",
        "rule.asm_zones": "Autres zones d'orpaillage",
        "rule.hazards": "Résidus et anciennes mines",
        "rule.max_area": "Taille de la zone",
        "rule.protected_areas": "Aires protégées",
        "rule.rivers": "Cours d'eau",
        "rule.settlements": "Localités",
        "verdict.fail": "non conforme",
        "verdict.pass": "conforme",
        "verdict.warn": "attention",
        "screen.area": "Superficie : {ha} ha",
        "screen.rules": "Règles",
        "screen.title": "Rapport de vérification",
        "conflict.abandoned_mines": "Anciennes mines proches",
        "conflict.asm_zones": "Autres zones d'orpaillage",
        "conflict.concessions": "Titres miniers chevauchés",
        "conflict.mine_sites": "Sites artisanaux à l'intérieur",
        "conflict.protected_areas": "Aires protégées",
        "conflict.rivers": "Cours d'eau proches",
        "conflict.settlements": "Localités proches",
        "conflict.tailings": "Installations de stockage de résidus proches",
        "title.overlap": "Chevauchement",
        "title.proximity": "Proximité",
        "title.screening": "Vérification de la zone",
        "title.zonal": "Statistiques zonales",
        "report.zone": "Zone vérifiée",
        "report.what": "Catégorie",
        "report.name": "Nom",
        "report.code": "Code",
        "report.holder": "Titulaire",
        "report.title_type": "Type de titre",
        "report.status": "Statut",
        "report.consequence": "Classe de conséquence",
        "report.hazards": "Dangers",
        "report.qualification": "Qualification",
        "report.layer": "Couche",
        "report.id": "Identifiant",
        "report.area_ha": "Superficie (ha)",
        "report.overlap_ha": "Chevauchement (ha)",
        "report.overlap_pct": "% de la zone",
        "report.distance_m": "Distance (m)",
        "report.verdict": "Verdict",
    },
}


def check_lang(lang: str) -> Lang:
    """`lang` if there are messages for it; InvalidInput otherwise."""
    if lang not in LANGS:
        raise InvalidInput(msg("lang.unknown", lang=lang, langs=", ".join(LANGS)), where="lang")
    return lang  # type: ignore[return-value]


def number(value: float, digits: int, lang: Lang) -> str:
    """`value` rounded half away from zero to at most `digits` places, grouped by thousands
    as Intl.NumberFormat does for en-GB and fr-FR."""
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    text = f"{rounded:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def text(key: str, lang: Lang, **values: Any) -> str:
    """The message `key` in `lang` with `{name}` placeholders filled from `values`."""
    return MESSAGES[lang][key].format(**values)


def reason(code: str, params: dict[str, Any], lang: Lang) -> str:
    """The sentence of a rule result: its code's message with the parameters formatted.

    >>> reason("hazards_near", {"count": 1, "within_m": 2000}, "en")
    'A tailings facility or abandoned mine within 2,000 m'
    """
    key = f"reason.{code}"
    if params.get("count") == 1 and f"{key}_one" in MESSAGES[lang]:
        key = f"{key}_one"
    shown = {
        name: number(value, DIGITS[name], lang) if name in DIGITS else value
        for name, value in params.items()
    }
    return text(key, lang, **shown)


class Reason(Message):
    """A rule result's reason as a message of problems.py, said in each language by `reason`
    (the rules a refused gazetting names are said in the reader's language)."""

    def __new__(cls, code: str, params: Mapping[str, Any]) -> Reason:
        self = str.__new__(cls, reason(code, dict(params), "en"))
        self.code = code
        self.params = dict(params)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return Reason, (self.code, self.params)

    def speak(self, lang: Lang) -> str:
        return reason(self.code, self.params, lang)
