"""Screening messages: numbers written as Intl writes them for en-GB and fr-FR, plurals, and
the same keys in both languages."""

from __future__ import annotations

import string

import pytest

from geo_service.analysis.messages import MESSAGES, check_lang, number, reason
from geo_service.errors import InvalidInput


@pytest.mark.parametrize(
    ("value", "digits", "en", "fr"),
    [
        (7654.0912, 2, "7,654.09", "7\u202f654,09"),
        (1234567.5, 0, "1,234,568", "1\u202f234\u202f568"),
        (0.125, 2, "0.13", "0,13"),  # half away from zero, like Intl, not half to even
        (500.0, 2, "500", "500"),  # no trailing zeros
        (12.30, 2, "12.3", "12,3"),
        (999.996, 2, "1,000", "1\u202f000"),
    ],
)
def test_numbers_as_the_browser_writes_them(value, digits, en, fr):
    assert number(value, digits, "en") == en
    assert number(value, digits, "fr") == fr


def test_one_takes_the_singular_message():
    assert (
        reason("asm_zones_overlap", {"count": 1}, "fr") == "Chevauche une autre zone d'orpaillage"
    )
    assert reason("asm_zones_overlap", {"count": 3}, "fr") == (
        "Chevauche 3 autres zones d'orpaillage"
    )
    assert reason("protected_area_too_close", {"id": 4, "name": "Parc W", "distance_m": 612.4,
                                                "limit_m": 1000.0}, "en") == (
        "Zone is 612 m from protected area 'Parc W', less than the 1,000 m required"
    )  # fmt: skip


def test_both_languages_have_the_same_messages_and_placeholders():
    def placeholders(message: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(message) if name}

    assert MESSAGES["en"].keys() == MESSAGES["fr"].keys()
    for key, english in MESSAGES["en"].items():
        assert placeholders(MESSAGES["fr"][key]) == placeholders(english), key


def test_an_unknown_language_is_refused():
    assert check_lang("fr") == "fr"
    with pytest.raises(InvalidInput):
        check_lang("FR")
