"""Country risk: levels in three categories per mineral and supply-chain stage, their labels and
colours (served with the kind registry), the rows of a ratings CSV checked, and the regions'
and the Kimberley Process's vocabulary.

    >>> parse_level("Très élevé"), parse_category("Droits humains et sociétaux")
    ('very_high', 'human_rights')
    >>> rows = parse_csv("ISO3;Minerai;Catégorie;Niveau\\nciv;or;environnement;modéré\\n")
    >>> rows[0]["iso3"], rows[0]["mineral"], rows[0]["level"]
    ('CIV', 'gold', 'moderate')
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import Any

from geo_service.errors import InvalidInput
from geo_service.problems import msg

LEVELS = ("low", "moderate", "high", "very_high")
CATEGORIES = ("environmental", "human_rights", "socio_economic")
STAGES = ("extraction", "processing", "refining")
LABELS: dict[str, dict[str, str]] = {
    "low": {"en": "low", "fr": "faible"},
    "moderate": {"en": "moderate", "fr": "modéré"},
    "high": {"en": "high", "fr": "élevé"},
    "very_high": {"en": "very high", "fr": "très élevé"},
    "environmental": {"en": "Environmental", "fr": "Environnemental"},
    "human_rights": {
        "en": "Human rights and socio-societal",
        "fr": "Droits humains et socio-sociétal",
    },
    "socio_economic": {
        "en": "Socio-economic and political",
        "fr": "Socio-économique et politique",
    },
    "extraction": {"en": "extraction", "fr": "extraction"},
    "processing": {"en": "processing", "fr": "transformation"},
    "refining": {"en": "refining", "fr": "raffinage"},
}
LEVEL_COLOURS = {"low": "#fee5d9", "moderate": "#fcae91", "high": "#fb6a4a", "very_high": "#cb181d"}
# Minerals whose trade the Kimberley Process certifies (rough diamonds), as files spell them.
KIMBERLEY_MINERALS = ("diamond", "diamonds", "diamant", "diamants")

_LEVEL_ALIASES = {
    "low": "low", "faible": "low", "bas": "low",
    "moderate": "moderate", "medium": "moderate", "modere": "moderate", "moyen": "moderate",
    "high": "high", "eleve": "high", "haut": "high",
    "very_high": "very_high", "tres_eleve": "very_high", "tres_haut": "very_high",
}  # fmt: skip
_CATEGORY_PREFIXES = (
    ("env", "environmental"),
    ("human", "human_rights"),
    ("droit", "human_rights"),
    ("socio_soc", "human_rights"),
    ("socio_eco", "socio_economic"),
    ("econ", "socio_economic"),
    ("politi", "socio_economic"),
)
_STAGE_ALIASES = {
    "extraction": "extraction", "mining": "extraction",
    "processing": "processing", "transformation": "processing", "traitement": "processing",
    "refining": "refining", "raffinage": "refining", "affinage": "refining",
}  # fmt: skip
_MINERAL_ALIASES = {"or": "gold", "diamant": "diamonds", "diamants": "diamonds",
                    "diamond": "diamonds", "etain": "tin", "cuivre": "copper"}  # fmt: skip
_ALL = {"", "all", "any", "*", "tous", "toutes", "tout"}
COLUMNS: dict[str, tuple[str, ...]] = {
    "iso3": ("iso3", "iso_a3", "adm0_a3", "iso", "code", "code_pays"),
    "country": ("country", "pays", "name", "nom"),
    "mineral": ("mineral", "minerai", "substance", "commodity"),
    "stage": ("stage", "etape", "maillon"),
    "category": ("category", "categorie"),
    "level": ("level", "niveau", "risk", "risque"),
    "source": ("source",),
    "year": ("year", "annee"),
}
REQUIRED = ("iso3", "category", "level")
MAX_ROWS = 100_000


def key(text: str) -> str:
    """`text` lower case, without accents, words joined by "_": "Très élevé" -> "tres_eleve"."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def parse_level(value: str) -> str | None:
    return _LEVEL_ALIASES.get(key(value))


def parse_category(value: str) -> str | None:
    plain = key(value)
    if plain in CATEGORIES:
        return plain
    return next((cat for prefix, cat in _CATEGORY_PREFIXES if plain.startswith(prefix)), None)


def parse_stage(value: str) -> str | None:
    """A stage, or None for every stage; ValueError when it is none of them."""
    plain = key(value)
    if plain in _ALL:
        return None
    if plain in _STAGE_ALIASES:
        return _STAGE_ALIASES[plain]
    raise ValueError(value)


def parse_mineral(value: str) -> str | None:
    """A mineral in the English the kinds use ("or" -> "gold"), or None for every mineral."""
    plain = key(value)
    if plain in _ALL:
        return None
    return _MINERAL_ALIASES.get(plain, value.strip().lower())


def is_kimberley(minerals: list[str]) -> bool:
    return any(key(m) in KIMBERLEY_MINERALS for m in minerals)


def pick_ratings(ratings: list[dict[str, Any]], minerals: list[str]) -> list[dict[str, Any]]:
    """The ratings that speak of a feature producing `minerals`: for each category and stage,
    those naming one of its minerals, else those for every mineral."""
    wanted = {key(m) for m in minerals} | {key(parse_mineral(m) or "") for m in minerals}
    named = [r for r in ratings if r["mineral"] is not None and key(r["mineral"]) in wanted]
    covered = {(r["category"], r["stage"]) for r in named}
    general = [
        r for r in ratings if r["mineral"] is None and (r["category"], r["stage"]) not in covered
    ]
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(
        named + general,
        key=lambda r: (order[r["category"]], r["stage"] or "", r["mineral"] or ""),
    )


def _bad(row: int, column: str, value: str, allowed: str) -> InvalidInput:
    return InvalidInput(
        msg("risk.bad_value", row=row, column=column, value=value, allowed=allowed),
        where={"row": row, "column": column},
    )


def _header(names: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        plain = key(name)
        for column, aliases in COLUMNS.items():
            if plain in aliases and column not in found:
                found[column] = index
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise InvalidInput(
            msg("risk.columns", missing=", ".join(missing), columns=", ".join(COLUMNS)),
            where={"row": 1, "columns": missing},
        )
    return found


def _row(number: int, cells: dict[str, str]) -> dict[str, Any]:
    iso3 = cells.get("iso3", "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", iso3):
        raise _bad(number, "iso3", cells.get("iso3", ""), msg("risk.iso3"))
    category = parse_category(cells["category"])
    if category is None:
        raise _bad(number, "category", cells["category"], ", ".join(CATEGORIES))
    level = parse_level(cells["level"])
    if level is None:
        raise _bad(number, "level", cells["level"], ", ".join(LEVELS))
    try:
        stage = parse_stage(cells.get("stage", ""))
    except ValueError:
        raise _bad(number, "stage", cells["stage"], ", ".join(STAGES)) from None
    year_text = cells.get("year", "").strip()
    if year_text and not (year_text.isdigit() and 1900 <= int(year_text) <= 2100):
        raise _bad(number, "year", year_text, "1900-2100")
    return {
        "iso3": iso3,
        "country": cells.get("country", "").strip() or None,
        "mineral": parse_mineral(cells.get("mineral", "")),
        "stage": stage,
        "category": category,
        "level": level,
        "source": cells.get("source", "").strip() or None,
        "year": int(year_text) if year_text else None,
    }


def parse_csv(text: str) -> list[dict[str, Any]]:
    """The ratings of a CSV (comma, semicolon or tab separated; header names in English or
    French, any case); the first bad row is an InvalidInput naming its row (the header is row
    1) and column, so that an import writes all rows or none."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise InvalidInput(msg("risk.empty"), where={"row": 1})
    columns = _header(header)
    rows: list[dict[str, Any]] = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) >= MAX_ROWS:
            raise InvalidInput(msg("risk.too_many", max=MAX_ROWS), where={"row": number})
        cells = {c: record[i] if i < len(record) else "" for c, i in columns.items()}
        rows.append(_row(number, cells))
    if not rows:
        raise InvalidInput(msg("risk.empty"), where={"row": 2})
    return rows


def parse_csv_bytes(data: bytes) -> list[dict[str, Any]]:
    """`parse_csv` of a file's bytes: UTF-8 (with or without its mark), else Windows-1252 as
    spreadsheets save it."""
    if b"\x00" in data:
        raise InvalidInput(msg("risk.not_text"), where={"field": "file"})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return parse_csv(text)


def served() -> dict[str, Any]:
    """Levels, categories and stages with their labels and the levels' colours (`/kinds`)."""
    return {
        "levels": list(LEVELS),
        "categories": list(CATEGORIES),
        "stages": list(STAGES),
        "labels": LABELS,
        "colours": LEVEL_COLOURS,
    }
