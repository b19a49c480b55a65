"""COPD (2+ worsening signs, rescue inhaler, red flags) and diabetes (sugar levels) rules."""

from __future__ import annotations

import pytest

from outreach.findings import Severity
from outreach.parsing import parse_answer
from outreach.programs import builtin_programs
from tests.unit.rules.checkins import run

SIGNS = ["more_breathless", "more_phlegm", "phlegm_colour"]


def copd_answers(yes: int, inhaler: bool = False) -> dict[str, bool]:
    answers = {q: i < yes for i, q in enumerate(SIGNS)}
    answers["rescue_inhaler_more"] = inhaler
    return answers


def test_one_copd_sign_is_not_a_finding() -> None:
    assert run("copd", copd_answers(1)) == {}


@pytest.mark.parametrize("yes", [2, 3])
def test_two_or_more_copd_signs_are_urgent(yes: int) -> None:
    finding = run("copd", copd_answers(yes))["copd.two_or_more_signs"]
    assert finding.severity is Severity.URGENT
    assert finding.question_id == "copd_yes"
    assert finding.value == float(yes)
    assert finding.explanation.startswith(f"{yes} of 4 signs")


def test_rescue_inhaler_alone_is_urgent_and_counts_as_a_sign() -> None:
    found = run("copd", copd_answers(0, inhaler=True))
    assert set(found) == {"copd.rescue_inhaler_more"}
    found = run("copd", copd_answers(1, inhaler=True))
    assert set(found) == {"copd.rescue_inhaler_more", "copd.two_or_more_signs"}


def test_copd_total_waits_for_every_sign() -> None:
    answers = copd_answers(2)
    del answers["rescue_inhaler_more"]
    assert run("copd", answers) == {}


@pytest.mark.parametrize(
    ("question", "rule_id"),
    [("breathless_at_rest", "copd.breathless_at_rest"), ("danger_signs", "copd.danger_signs")],
)
def test_copd_red_flags_are_emergencies(question: str, rule_id: str) -> None:
    finding = run("copd", {question: True})[rule_id]
    assert (finding.severity, finding.response) == (Severity.EMERGENCY, "emergency")


@pytest.mark.parametrize(
    ("lowest", "expected"),
    [
        (70.0, set()),
        (69.0, {"diabetes.low"}),
        (54.0, {"diabetes.low"}),
        (53.0, {"diabetes.very_low"}),
    ],
)
def test_lowest_sugar_levels(lowest: float, expected: set[str]) -> None:
    assert set(run("diabetes", {"lowest_sugar": lowest})) == expected


def test_low_sugar_severities() -> None:
    assert run("diabetes", {"lowest_sugar": 60.0})["diabetes.low"].severity is Severity.ROUTINE
    very_low = run("diabetes", {"lowest_sugar": 40.0})["diabetes.very_low"]
    assert very_low.severity is Severity.URGENT
    assert very_low.explanation == "Lowest blood sugar 40 mg/dL (below 54)."


def test_lowest_sugar_typed_in_mmol() -> None:
    lowest = builtin_programs()["diabetes"].question("lowest_sugar")
    value = parse_answer(lowest, "2.9 mmol/L", "en").value
    assert isinstance(value, float)
    assert "diabetes.very_low" in run("diabetes", {"lowest_sugar": value})


@pytest.mark.parametrize(("highest", "fires"), [(299.0, False), (300.0, True)])
def test_highest_sugar_300_is_urgent(highest: float, fires: bool) -> None:
    found = run("diabetes", {"highest_sugar": highest})
    assert ("diabetes.very_high" in found) is fires


def test_low_with_confusion_or_help_is_an_emergency() -> None:
    finding = run("diabetes", {"low_needed_help": True})["diabetes.low_needed_help"]
    assert (finding.severity, finding.response) == (Severity.EMERGENCY, "emergency")


def test_ketones_are_urgent_and_high_with_vomiting_an_emergency() -> None:
    assert run("diabetes", {"ketones": True})["diabetes.ketones"].severity is Severity.URGENT
    found = run("diabetes", {"high_vomiting_or_confused": True})
    assert found["diabetes.high_vomiting_or_confused"].severity is Severity.EMERGENCY
