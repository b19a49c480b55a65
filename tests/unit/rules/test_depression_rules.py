"""Depression rules: PHQ-2 → PHQ-9, totals and bands, item 9 and the crisis follow-up, GAD-2."""

from __future__ import annotations

import pytest

from outreach.findings import Severity
from outreach.programs import AnswerValue, builtin_programs
from outreach.rules import compute_totals, should_ask
from tests.unit.rules.checkins import run

DEPRESSION = builtin_programs()["depression"]


def phq(*scores: float) -> dict[str, AnswerValue]:
    return {f"phq_{i}": float(s) for i, s in enumerate(scores, start=1)}


def phq9_scoring(total: int, item9: int = 0) -> dict[str, AnswerValue]:
    """Nine items adding up to ``total``, PHQ-2 positive, with item 9 as given."""
    scores = [0] * 9
    scores[8] = item9
    left = total - item9
    for index in range(8):
        scores[index] = min(3, left)
        left -= scores[index]
    assert left == 0
    return phq(*scores)


@pytest.mark.parametrize(("phq2", "asked"), [((1, 1), False), ((2, 1), True), ((3, 3), True)])
def test_phq9_items_are_asked_only_after_a_phq2_of_three(
    phq2: tuple[int, int], asked: bool
) -> None:
    answers = phq(*phq2)
    totals = compute_totals(DEPRESSION, answers)
    assert totals["phq2"] == sum(phq2)
    assert should_ask(DEPRESSION.question("phq_3"), answers, totals) is asked


def test_phq9_total_waits_for_asked_items() -> None:
    answers = phq(2, 2, 1, 1)
    assert "phq9" not in compute_totals(DEPRESSION, answers)
    assert compute_totals(DEPRESSION, phq(2, 2, 1, 1, 1, 1, 1, 1, 0))["phq9"] == 10


def test_phq9_after_a_negative_phq2_is_the_phq2_sum() -> None:
    assert compute_totals(DEPRESSION, phq(1, 1)) == {"phq2": 2.0, "phq9": 2.0}


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (9, set()),
        (10, {"phq9.moderate"}),
        (14, {"phq9.moderate"}),
        (19, {"phq9.moderate"}),
        (20, {"phq9.severe"}),
    ],
)
def test_phq9_total_lines_without_history(total: int, expected: set[str]) -> None:
    assert set(run("depression", phq9_scoring(total))) == expected


def test_phq9_severities_and_sensitivity() -> None:
    moderate = run("depression", phq9_scoring(12))["phq9.moderate"]
    severe = run("depression", phq9_scoring(21))["phq9.severe"]
    assert (moderate.severity, severe.severity) == (Severity.ROUTINE, Severity.URGENT)
    assert moderate.sensitive and severe.sensitive
    assert severe.question_id == "phq9"
    assert severe.explanation == "PHQ-9 score 21 (20 or more)."


@pytest.mark.parametrize(
    ("previous", "current", "crossed"),
    [(14, 15, True), (13, 14, False), (15, 16, False), (12, 21, True), (None, 16, False)],
)
def test_phq9_crossing_into_15(previous: int | None, current: int, crossed: bool) -> None:
    history = {} if previous is None else {"phq9": float(previous)}
    found = run("depression", phq9_scoring(current), previous=history)
    assert ("phq9.crossed_into_15" in found) is crossed


@pytest.mark.parametrize(("previous", "fires"), [(7.0, False), (6.0, True)])
def test_phq9_rise_of_five_since_last_time(previous: float, fires: bool) -> None:
    found = run("depression", phq9_scoring(11), previous={"phq9": previous})
    assert ("phq9.rise" in found) is fires
    if fires:
        assert found["phq9.rise"].explanation == (
            "PHQ-9 score up 5 points since last time (6 → 11)."
        )


def test_item9_zero_is_nothing_and_one_is_an_immediate_urgent_sensitive_finding() -> None:
    assert run("depression", phq(2, 2, 0, 0, 0, 0, 0, 0, 0), immediate_only=True) == {}
    answers = phq(1, 1, 0, 0, 0, 0, 0, 0, 1)
    found = run("depression", answers, immediate_only=True)
    finding = found["phq9.item9_positive"]
    assert (finding.severity, finding.sensitive, finding.response) == (
        Severity.URGENT,
        True,
        "",
    )
    assert set(found) == {"phq9.item9_positive"}


def test_crisis_follow_up_is_asked_only_after_item9_positive() -> None:
    follow_up = DEPRESSION.question("suicidal_thoughts_now")
    assert not should_ask(follow_up, phq(2, 2, 0, 0, 0, 0, 0, 0, 0))
    assert should_ask(follow_up, phq(2, 2, 0, 0, 0, 0, 0, 0, 1))


def test_crisis_follow_up_yes_is_an_emergency_with_the_crisis_response() -> None:
    answers = {**phq(2, 2, 0, 0, 0, 0, 0, 0, 1), "suicidal_thoughts_now": True}
    found = run("depression", answers, immediate_only=True)
    finding = found["phq9.suicidal_thoughts_now"]
    assert (finding.severity, finding.response, finding.sensitive) == (
        Severity.EMERGENCY,
        "crisis",
        True,
    )
    answers["suicidal_thoughts_now"] = False
    assert set(run("depression", answers, immediate_only=True)) == {"phq9.item9_positive"}


@pytest.mark.parametrize(("gad", "fires"), [((1.0, 1.0), False), ((2.0, 1.0), True)])
def test_gad2_of_three_is_routine_and_sensitive(gad: tuple[float, float], fires: bool) -> None:
    found = run("depression", {"gad_1": gad[0], "gad_2": gad[1]})
    assert ("gad2.positive" in found) is fires
    if fires:
        assert found["gad2.positive"].sensitive
        assert found["gad2.positive"].severity is Severity.ROUTINE


def test_every_depression_finding_is_sensitive() -> None:
    answers = {
        **phq9_scoring(24, item9=3),
        "suicidal_thoughts_now": True,
        "gad_1": 3.0,
        "gad_2": 3.0,
    }
    found = run("depression", answers, previous={"phq9": 5.0})
    assert len(found) >= 5
    assert all(f.sensitive for f in found.values())
