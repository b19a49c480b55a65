"""Scale and number answers: digits, words, "7/10", units, and out-of-range re-asks."""

from __future__ import annotations

import re

import pytest

from outreach.errors import ParseError
from outreach.parsing import expected_format, parse_answer
from tests.unit.parsing.conftest import question

PAIN = question("general", "pain")
WEIGHT = question("heart_failure", "weight")
SUGAR = question("diabetes", "lowest_sugar")
DAYS = question("general", "adherence_days")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", 7),
        ("7/10", 7),
        ("7 / 10", 7),
        ("7 out of 10", 7),
        ("8 de 10", 8),
        ("seven", 7),
        ("Seven!", 7),
        ("about a 6", 6),
        ("a 6 I guess", 6),
        ("like a 6 today", 6),
        ("siete", 7),
        ("como un 6", 6),
        ("diez", 10),
        ("6.5", 6.5),
        ("6,5", 6.5),
        ("6 and a half", 6.5),
        ("seis y medio", 6.5),
        ("10", 10),
        ("10/10", 10),
        ("0", 0),
        ("zero", 0),
        ("cero", 0),
        ("none", 0),
        ("no pain", 0),
        ("sin dolor", 0),
    ],
)
def test_pain_scale_reads_what_people_type(text: str, value: float) -> None:
    answer = parse_answer(PAIN, text, "en")
    assert answer.value == value
    assert answer.raw == text


@pytest.mark.parametrize(
    "text", ["11", "-1", "7 or 8", "6-7", "between 5 and 6", "7/5", "", "lots", "no idea", "7:30"]
)
def test_pain_scale_rejects_out_of_range_and_ambiguous(text: str) -> None:
    with pytest.raises(ParseError, match=re.escape("Please answer with a number from 0 to 10.")):
        parse_answer(PAIN, text, "en")


def test_rejection_hint_is_in_the_patients_language() -> None:
    with pytest.raises(
        ParseError, match=re.escape("Por favor responda con un número del 0 al 10.")
    ):
        parse_answer(PAIN, "muchísimo", "es")


@pytest.mark.parametrize(
    ("text", "pounds"),
    [
        ("182", 182),
        ("182 lb", 182),
        ("182lbs", 182),
        ("182 pounds", 182),
        ("182 libras", 182),
        ("182.4 lbs", 182.4),
        ("82.5 kg", 181.9),
        ("82,5 kg", 181.9),
        ("82,5kg", 181.9),
        ("80 kilos", 176.4),
        ("I weighed 182 this morning", 182),
        ("ciento ochenta y dos libras", 182),
        ("one hundred eighty two", 182),
    ],
)
def test_weight_in_pounds_or_kilograms_is_stored_in_pounds(text: str, pounds: float) -> None:
    answer = parse_answer(WEIGHT, text, "en")
    assert answer.value == pytest.approx(pounds)
    assert answer.unit == "lb"


@pytest.mark.parametrize("text", ["20", "800 lb", "400 kg", "182 lb or 83 kg", "182 mmol", "no"])
def test_weight_rejects_out_of_range_and_wrong_units(text: str) -> None:
    with pytest.raises(ParseError, match="weight in pounds"):
        parse_answer(WEIGHT, text, "en")


@pytest.mark.parametrize(
    ("text", "mg_dl"),
    [
        ("99", 99),
        ("99 mg/dL", 99),
        ("99mg/dl", 99),
        ("5.5 mmol", 99),
        ("5,5 mmol/L", 99),
        ("3 mmol/l", 54),
        ("310", 310),
    ],
)
def test_blood_sugar_accepts_mg_dl_and_converts_mmol(text: str, mg_dl: float) -> None:
    answer = parse_answer(SUGAR, text, "en")
    assert answer.value == mg_dl
    assert answer.unit == "mg_dl"


def test_bare_small_sugar_is_not_guessed_to_be_mmol() -> None:
    with pytest.raises(ParseError, match="mmol"):
        parse_answer(SUGAR, "5.5", "en")


@pytest.mark.parametrize(
    ("text", "days"),
    [("3", 3), ("3 days", 3), ("tres días", 3), ("none", 0), ("ninguno", 0), ("2 of 30", 2)],
)
def test_adherence_days(text: str, days: float) -> None:
    assert parse_answer(DAYS, text, "es").value == days


def test_adherence_days_rejects_more_than_30() -> None:
    with pytest.raises(
        ParseError, match=re.escape("Please answer with a number of days from 0 to 30.")
    ):
        parse_answer(DAYS, "31", "en")


def test_expected_format_in_both_languages() -> None:
    assert expected_format(PAIN, "en") == "Please answer with a number from 0 to 10."
    assert expected_format(PAIN, "es") == "Por favor responda con un número del 0 al 10."
    assert expected_format(PAIN, "fr") == expected_format(PAIN, "en")
    assert "82,5 kg" in expected_format(WEIGHT, "es")
