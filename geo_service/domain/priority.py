"""How an abandoned mine's rehabilitation priority is scored from its hazards and exposure.

The score is the sum of three terms, each explained per site (analysis/abandoned.py):

- hazard = sum of HAZARD_WEIGHTS over the site's distinct hazards;
- people = PEOPLE_WEIGHT * sum over settlements within R metres of
  closeness * (1 + log10(1 + population)), closeness = 1 - d / R (d geodesic metres) and
  population the settlement's `pop_max`, `population` or `pop` (0 when none);
- water = WATER_WEIGHT * sum over rivers and water bodies within R of closeness.

A site with no hazard recorded scores on exposure alone.

    >>> hazard_term(["mercury", "open_shaft", "mercury"])
    7.0
    >>> round(people_contribution(500.0, 1000.0, 999.0), 3)
    2.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable

HAZARD_WEIGHTS: dict[str, float] = {
    "open_shaft": 3.0,
    "acid_drainage": 3.0,
    "mercury": 4.0,
    "cyanide": 4.0,
    "unstable_waste": 3.0,
    "subsidence": 2.0,
    "contaminated_water": 3.0,
    "other": 1.0,
}
PEOPLE_WEIGHT = 1.0
WATER_WEIGHT = 2.0
POPULATION_FIELDS = ("pop_max", "population", "pop")
DEFAULT_WITHIN_M = 5000.0
# Classes of the ranked list and the map legend: score from (inclusive), colour.
PRIORITY_CLASSES: tuple[tuple[str, float, str], ...] = (
    ("low", 0.0, "#fee391"),
    ("medium", 5.0, "#fe9929"),
    ("high", 10.0, "#cc4c02"),
    ("very_high", 20.0, "#662506"),
)


def hazard_term(hazards: Iterable[str]) -> float:
    return float(sum(HAZARD_WEIGHTS.get(h, HAZARD_WEIGHTS["other"]) for h in set(hazards)))


def closeness(distance_m: float, within_m: float) -> float:
    return max(0.0, 1.0 - distance_m / within_m)


def people_contribution(distance_m: float, within_m: float, population: float | None) -> float:
    pop = max(0.0, population or 0.0)
    return PEOPLE_WEIGHT * closeness(distance_m, within_m) * (1.0 + math.log10(1.0 + pop))


def water_contribution(distance_m: float, within_m: float) -> float:
    return WATER_WEIGHT * closeness(distance_m, within_m)


def priority_class(score: float) -> str:
    chosen = PRIORITY_CLASSES[0][0]
    for name, start, _colour in PRIORITY_CLASSES:
        if score >= start:
            chosen = name
    return chosen
