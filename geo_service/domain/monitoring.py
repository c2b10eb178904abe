"""The vocabulary of site monitoring (DOMAIN.md): the 26 incident categories in their 7 domains,
the OECD Annex II risks they map to, the stakeholders of corrective actions, site statuses, and
the arithmetic programmes publish (share executed, April-to-March years). No database here.

    >>> len(CATEGORIES), len(DOMAINS)
    (26, 7)
    >>> CATEGORY["worst_forms_child_labour"].annex_ii
    'serious_abuses'
    >>> round(share_executed(done=500, in_progress=388, recommended=1098), 1)
    80.9
    >>> programme_year(date(2026, 3, 31)), programme_year(date(2026, 4, 1))
    (2025, 2026)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal


@dataclass(frozen=True)
class Domain:
    code: str
    fr: str
    en: str


@dataclass(frozen=True)
class Category:
    code: str
    domain: str
    fr: str
    en: str
    annex_ii: str | None  # the OECD Annex II risk it falls under, if any


DOMAINS: tuple[Domain, ...] = (
    Domain("human_rights", "Droits humains", "Human rights"),
    Domain("security", "Sécurité", "Security"),
    Domain("working_conditions", "Conditions de travail", "Working conditions"),
    Domain("community", "Communauté", "Community"),
    Domain("legality", "Légalité", "Legality"),
    Domain("traceability", "Traçabilité", "Traceability"),
    Domain("environment", "Environnement", "Environment"),
)

# In DOMAIN.md's order. Annex II of the OECD Due Diligence Guidance names: serious abuses
# (worst forms of child labour, forced labour, torture and cruel treatment, war crimes and
# violations of humanitarian law), support to non-state armed groups, public or private
# security forces, bribery and fraudulent misrepresentation of the origin of minerals, money
# laundering, and the payment of taxes, fees and royalties. Child labour that is not of its
# worst forms, and gender incidents in general, are outside it.
CATEGORIES: tuple[Category, ...] = (
    Category("child_labour", "human_rights", "Travail des enfants", "Child labour", None),
    Category(
        "worst_forms_child_labour",
        "human_rights",
        "Pires formes de travail des enfants (PFTE)",
        "Worst forms of child labour",
        "serious_abuses",
    ),
    Category("discrimination", "human_rights", "Discrimination", "Discrimination", None),
    Category("forced_labour", "human_rights", "Travail forcé", "Forced labour", "serious_abuses"),
    Category("gender", "human_rights", "Genre", "Gender", None),
    Category(
        "torture",
        "human_rights",
        "Torture, traitement cruel et inhumain",
        "Torture, cruel and inhuman treatment",
        "serious_abuses",
    ),
    Category(
        "humanitarian_law",
        "security",
        "Droit international humanitaire",
        "International humanitarian law",
        "serious_abuses",
    ),
    Category(
        "non_state_armed_groups",
        "security",
        "Groupes armés non étatiques",
        "Non-state armed groups",
        "armed_groups",
    ),
    Category(
        "security_forces",
        "security",
        "Forces de sécurité publiques ou privées",
        "Public or private security forces",
        "security_forces",
    ),
    Category("general_security", "security", "Sécurité générale", "General security", None),
    Category(
        "occupational_health_safety",
        "working_conditions",
        "Santé et sécurité au travail",
        "Occupational health and safety",
        None,
    ),
    Category(
        "workers_rights", "working_conditions", "Droits des travailleurs", "Workers' rights", None
    ),
    Category("commercial_conflict", "community", "Conflit commercial", "Commercial conflict", None),
    Category(
        "community_participation",
        "community",
        "Participation et développement de la communauté",
        "Community participation and development",
        None,
    ),
    Category(
        "indigenous_peoples",
        "community",
        "Peuples autochtones, CLPI, patrimoine",
        "Indigenous peoples, FPIC, heritage",
        None,
    ),
    Category("corruption", "legality", "Corruption", "Corruption", "bribery_misrepresentation"),
    Category(
        "tax_transparency",
        "legality",
        "Transparence et légalité du paiement des taxes (ITIE)",
        "Transparency and legality of tax payments (EITI)",
        "taxes",
    ),
    Category(
        "money_laundering",
        "legality",
        "Blanchiment d'argent",
        "Money laundering",
        "money_laundering",
    ),
    Category(
        "transparency_reporting",
        "legality",
        "Transparence et reporting",
        "Transparency and reporting",
        None,
    ),
    Category(
        "corporate_governance", "legality", "Gouvernance d'entreprise", "Corporate governance", None
    ),
    Category(
        "traceability", "traceability", "Traçabilité", "Traceability", "bribery_misrepresentation"
    ),
    Category(
        "chain_of_custody",
        "traceability",
        "Chaîne de responsabilité",
        "Chain of custody",
        "bribery_misrepresentation",
    ),
    Category("emissions_waste", "environment", "Émissions et déchets", "Emissions and waste", None),
    Category("water", "environment", "Eau", "Water", None),
    Category(
        "mine_closure",
        "environment",
        "Fermeture de mine et réhabilitation",
        "Mine closure and reclamation",
        None,
    ),
    Category(
        "fauna_flora",
        "environment",
        "Protection de la faune et de la flore",
        "Fauna and flora protection",
        None,
    ),
)
CATEGORY = {c.code: c for c in CATEGORIES}
DOMAIN = {d.code: d for d in DOMAINS}

ANNEX_II: dict[str, tuple[str, str]] = {
    "serious_abuses": (
        "Atteintes graves (torture, travail forcé, PFTE, crimes de guerre)",
        "Serious abuses (torture, forced labour, worst forms of child labour, war crimes)",
    ),
    "armed_groups": (
        "Soutien direct ou indirect aux groupes armés non étatiques",
        "Direct or indirect support to non-state armed groups",
    ),
    "security_forces": (
        "Forces de sécurité publiques ou privées",
        "Public or private security forces",
    ),
    "bribery_misrepresentation": (
        "Corruption et fausse déclaration de l'origine des minerais",
        "Bribery and fraudulent misrepresentation of the origin of minerals",
    ),
    "money_laundering": ("Blanchiment d'argent", "Money laundering"),
    "taxes": (
        "Paiement des taxes, droits et redevances dus aux gouvernements",
        "Payment of taxes, fees and royalties due to governments",
    ),
}

# Who a corrective action can be assigned to (DOMAIN.md), with labels (fr, en).
STAKEHOLDERS: dict[str, tuple[str, str]] = {
    "artisanal_miners": ("Mineurs artisanaux", "Artisanal miners"),
    "mining_cooperatives": ("Coopératives minières", "Mining cooperatives"),
    "community_representatives": (
        "Représentants de la communauté ou autorités coutumières",
        "Community representatives or traditional authorities",
    ),
    "upstream_industry": ("Industrie en amont", "Upstream industry"),
    "local_ngos": ("ONG techniques locales", "Local technical NGOs"),
    "public_service": ("Service public", "Public service"),
    "government": ("Gouvernement", "Government"),
    "security_forces": ("Forces de sécurité officielles", "Official security forces"),
}

Qualification = Literal["green", "yellow", "red", "not_assessed"]
QUALIFICATIONS: tuple[str, ...] = ("green", "yellow", "red", "not_assessed")
OperatingStatus = Literal["active", "inactive", "suspended", "closed_by_authority", "reopened"]
# Statuses under which a site counts as active in a period.
ACTIVE_STATUSES = frozenset({"active", "reopened"})
Severity = Literal["low", "medium", "high", "critical"]
Verification = Literal["unverified", "verified", "rejected"]
ActionStatus = Literal["recommended", "in_progress", "done"]
ACTION_ORDER: tuple[str, ...] = ("recommended", "in_progress", "done")
IncidentStatus = Literal["open", "resolved"]
Method = Literal["mercury", "gravity"]
# A programme's year runs from April to March; year N is April N to March N+1.
YEAR_START_MONTH = 4


def share_executed(*, done: int, in_progress: int, recommended: int) -> float | None:
    """Percent of recommended actions done or in progress, as programmes report it (None if none).

    `recommended` is every action recommended, whatever its progress since."""
    if recommended <= 0:
        return None
    return 100.0 * (done + in_progress) / recommended


def programme_year(day: date) -> int:
    """The programme year (April to March) a day falls in, named by the year it starts."""
    return day.year if day.month >= YEAR_START_MONTH else day.year - 1


def programme_year_bounds(year: int) -> tuple[date, date]:
    """First and last day of programme year `year` (1 April to 31 March)."""
    return date(year, YEAR_START_MONTH, 1), date(year + 1, YEAR_START_MONTH - 1, 31)


def risk_rating(severity: int, likelihood: int) -> int:
    """A risk's rating on the usual 5 x 5 matrix: severity times likelihood (1 to 25)."""
    return severity * likelihood
