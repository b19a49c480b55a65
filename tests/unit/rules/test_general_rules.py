"""General wellbeing rules (CLINICAL §1): health rating, pain, adherence and falls."""

from __future__ import annotations

import pytest

from outreach.findings import Severity
from tests.unit.rules.checkins import run


def test_general_health_poor_is_routine_fair_is_not() -> None:
    assert "general_health.poor" not in run("general", {"general_health": 4.0})
    finding = run("general", {"general_health": 5.0})["general_health.poor"]
    assert finding.severity is Severity.ROUTINE
    assert finding.question_id == "general_health"
    assert finding.value == 5.0


@pytest.mark.parametrize(("previous", "fires"), [(2.0, False), (1.0, True)])
def test_general_health_two_levels_worse(previous: float, fires: bool) -> None:
    found = run("general", {"general_health": 3.0}, previous={"general_health": previous})
    assert ("general_health.worse" in found) is fires


def test_general_health_worse_needs_a_previous_check_in() -> None:
    assert run("general", {"general_health": 4.0}) == {}


def test_pain_high_and_rising_just_below_and_at_the_lines() -> None:
    assert "pain.high_and_rising" not in run("general", {"pain": 6.0}, previous={"pain": 4.0})
    assert "pain.high_and_rising" not in run("general", {"pain": 7.0}, previous={"pain": 6.0})
    found = run("general", {"pain": 7.0}, previous={"pain": 5.0})
    finding = found["pain.high_and_rising"]
    assert finding.severity is Severity.URGENT
    assert finding.explanation == "Pain 7/10, up 2 points since last time (5/10)."
    assert (finding.value, finding.previous) == (7.0, 5.0)


def test_pain_rise_of_two_points_is_routine() -> None:
    assert "pain.rising" not in run("general", {"pain": 6.0}, previous={"pain": 5.0})
    assert run("general", {"pain": 6.0}, previous={"pain": 4.0})["pain.rising"].severity is (
        Severity.ROUTINE
    )


def test_pain_rise_of_thirty_percent_is_routine() -> None:
    # 1.5 points is below the 2-point line, so only the percentage can fire: 28% vs 30%
    assert "pain.rising" not in run("general", {"pain": 6.4}, previous={"pain": 5.0})
    assert "pain.rising" in run("general", {"pain": 6.5}, previous={"pain": 5.0})


def test_pain_percent_rise_from_zero_is_not_a_division_error() -> None:
    assert "pain.rising" not in run("general", {"pain": 1.0}, previous={"pain": 0.0})


def test_pain_crossing_into_seven_is_a_change_even_when_small() -> None:
    found = run("general", {"pain": 7.0}, previous={"pain": 6.0})
    assert found["pain.crossed_into_severe"].severity is Severity.ROUTINE
    assert "pain.crossed_into_severe" not in run("general", {"pain": 8.0}, previous={"pain": 7.0})
    assert "pain.crossed_into_severe" not in run("general", {"pain": 6.0}, previous={"pain": 5.0})


def test_pain_without_a_previous_check_in_has_no_change_findings() -> None:
    assert run("general", {"pain": 10.0}) == {}


def test_pain_falling_is_not_a_finding() -> None:
    assert run("general", {"pain": 3.0}, previous={"pain": 9.0}) == {}


@pytest.mark.parametrize(("days", "fires"), [(5.0, False), (6.0, True), (30.0, True)])
def test_missed_medicine_days(days: float, fires: bool) -> None:
    found = run("general", {"adherence_days": days})
    assert ("adherence.missed_days" in found) is fires
    if fires:
        assert found["adherence.missed_days"].explanation == (
            f"Missed medicines on {int(days)} of the last 30 days."
        )


def test_stopping_a_key_medicine_is_urgent() -> None:
    assert run("general", {"stopped_key_medicine": False}) == {}
    found = run("general", {"stopped_key_medicine": True})
    assert found["adherence.stopped_key_medicine"].severity is Severity.URGENT
    assert found["adherence.stopped_key_medicine"].value == "yes"


@pytest.mark.parametrize("question", ["fell", "unsteady", "worried_about_falling"])
def test_any_falls_yes_is_routine(question: str) -> None:
    assert run("general", {question: False}) == {}
    (finding,) = run("general", {question: True}).values()
    assert finding.severity is Severity.ROUTINE
    assert finding.rule_id.startswith("falls.")
    assert not finding.sensitive


def test_free_text_has_no_structured_rules() -> None:
    assert run("general", {"anything_else": "chest pain"}) == {}
