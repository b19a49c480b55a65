"""Choice answers: the option's number, labels and aliases in en/es, negation and ambiguity."""

from __future__ import annotations

import pytest

from outreach.errors import ParseError
from outreach.parsing import choice_menu, option_numbers, parse_answer, question_prompt
from outreach.programs import Question
from tests.unit.parsing.conftest import question

HEALTH = question("general", "general_health")
PHQ = question("depression", "phq_1")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1), ("5", 5), ("two", 2), ("dos", 2),
        ("Excellent", 1), ("very good", 2), ("Very good!", 2), ("good", 3), ("fair", 4),
        ("poor", 5), ("pretty good", 2), ("ok", 3), ("not good", 4), ("bad", 5),
        ("not bad", 3), ("it's fair I guess", 4), ("excelente", 1), ("muy buena", 2),
        ("muy bien", 2), ("buena", 3), ("bien", 3), ("regular", 4), ("más o menos", 4),
        ("mala", 5), ("no muy bien", 4), ("3 good", 3),
    ],
)  # fmt: skip
def test_general_health(text: str, value: float) -> None:
    assert parse_answer(HEALTH, text, "en").value == value


@pytest.mark.parametrize("text", ["0", "6", "good or fair", "3 poor", "not fair", "whatever"])
def test_general_health_rejects(text: str) -> None:
    with pytest.raises(ParseError, match="1 Excellent, 2 Very good, 3 Good, 4 Fair, 5 Poor"):
        parse_answer(HEALTH, text, "en")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0), ("3", 3), ("not at all", 0), ("No, not at all", 0), ("never", 0),
        ("several days", 1), ("a few days", 1), ("more than half the days", 2), ("half", 2),
        ("nearly every day", 3), ("every day", 3), ("ningún día", 0), ("varios días", 1),
        ("más de la mitad de los días", 2), ("casi todos los días", 3), ("todos los dias", 3),
        ("uno", 1), ("tres", 3),
    ],
)  # fmt: skip
def test_phq_items_by_value_or_words(text: str, value: float) -> None:
    assert parse_answer(PHQ, text, "es").value == value


@pytest.mark.parametrize(
    "text",
    ["4", "not every day", "several days, 3", "1 or 2", "una", "no sé", "no idea", "maybe 2"],
)
def test_phq_items_reject(text: str) -> None:
    with pytest.raises(ParseError, match="0 Ningún día, 1 Varios días"):
        parse_answer(PHQ, text, "es")


def test_menu_and_prompt_show_values() -> None:
    assert choice_menu(PHQ, "en").startswith("0 Not at all, 1 Several days")
    assert question_prompt(HEALTH, "es").endswith(
        "(1 Excelente, 2 Muy buena, 3 Buena, 4 Regular, 5 Mala)"
    )
    assert question_prompt(question("general", "pain"), "en") == question("general", "pain").text.en


def test_options_with_fractional_values_are_numbered_by_position() -> None:
    odd = Question.model_validate(
        {
            "id": "odd",
            "type": "choice",
            "text": {"en": "Which?"},
            "options": [
                {"value": 0.5, "label": {"en": "Half"}},
                {"value": 2.5, "label": {"en": "More"}},
            ],
        }
    )
    assert option_numbers(odd) == [1, 2]
    assert choice_menu(odd, "en") == "1 Half, 2 More"
    assert parse_answer(odd, "2", "en").value == 2.5
    assert parse_answer(odd, "half", "en").value == 0.5
