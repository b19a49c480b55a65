"""Heart failure rules: weight against baseline and dated readings, symptoms and red flags."""

from __future__ import annotations

import pytest

from outreach.findings import Severity
from outreach.parsing import parse_answer
from outreach.programs import builtin_programs
from tests.unit.rules.checkins import ago, run

WEIGHT = builtin_programs()["heart_failure"].question("weight")


def weight(text: str) -> float:
    value = parse_answer(WEIGHT, text, "en").value
    assert isinstance(value, float)
    return value


@pytest.mark.parametrize(("today", "fires"), [(184.9, False), (185.0, True)])
def test_weight_five_pounds_above_baseline(today: float, fires: bool) -> None:
    found = run("heart_failure", {"weight": today}, baseline={"weight": 180.0})
    assert ("hf.weight_above_baseline" in found) is fires


def test_weight_above_baseline_finding_reads_well() -> None:
    finding = run("heart_failure", {"weight": 186.0}, baseline={"weight": 180.0})[
        "hf.weight_above_baseline"
    ]
    assert finding.severity is Severity.URGENT
    assert finding.explanation == "Weight 186 lb, 6 lb above the baseline of 180 lb."
    assert (finding.value, finding.baseline) == (186.0, 180.0)


def test_no_baseline_means_no_baseline_finding() -> None:
    assert run("heart_failure", {"weight": 250.0}) == {}


@pytest.mark.parametrize(("today", "fires"), [("182.9 lb", False), ("183 lb", True)])
def test_gain_of_three_pounds_within_two_days(today: str, fires: bool) -> None:
    found = run("heart_failure", {"weight": weight(today)}, readings=[(ago(1), "weight", 180.0)])
    assert ("hf.weight_gain_day" in found) is fires


def test_gain_within_a_day_typed_in_kilograms() -> None:
    readings = [(ago(1), "weight", weight("80 kg"))]
    assert "hf.weight_gain_day" not in run(
        "heart_failure", {"weight": weight("81.2 kg")}, readings=readings
    )
    found = run("heart_failure", {"weight": weight("81.5 kg")}, readings=readings)
    finding = found["hf.weight_gain_day"]
    assert finding.previous == pytest.approx(176.4)
    assert finding.explanation == "Weight up 3.3 lb in less than 2 days (176.4 → 179.7 lb)."


def test_gain_from_a_reading_two_days_or_more_ago_is_not_a_daily_gain() -> None:
    found = run("heart_failure", {"weight": 184.0}, readings=[(ago(2), "weight", 180.0)])
    assert "hf.weight_gain_day" not in found
    found = run("heart_failure", {"weight": 184.0}, readings=[(ago(1.99), "weight", 180.0)])
    assert "hf.weight_gain_day" in found


@pytest.mark.parametrize(("today", "fires"), [("184.9", False), ("185", True)])
def test_gain_of_five_pounds_within_a_week(today: str, fires: bool) -> None:
    readings = [(ago(6), "weight", 180.0), (ago(30), "weight", 170.0)]
    found = run("heart_failure", {"weight": weight(today)}, readings=readings)
    assert ("hf.weight_gain_week" in found) is fires
    assert "hf.weight_gain_day" not in found


def test_gain_within_a_week_typed_in_kilograms() -> None:
    readings = [(ago(5), "weight", weight("80 kg"))]
    assert "hf.weight_gain_week" not in run(
        "heart_failure", {"weight": weight("82 kg")}, readings=readings
    )
    assert "hf.weight_gain_week" in run(
        "heart_failure", {"weight": weight("82.3 kg")}, readings=readings
    )


def test_week_gain_uses_the_lowest_reading_of_the_week() -> None:
    readings = [(ago(6), "weight", 179.0), (ago(3), "weight", 182.0), (ago(1), "weight", 183.5)]
    finding = run("heart_failure", {"weight": 184.0}, readings=readings)["hf.weight_gain_week"]
    assert (finding.previous, finding.value) == (179.0, 184.0)


def test_readings_of_other_questions_and_from_the_future_are_ignored() -> None:
    readings = [(ago(1), "other", 100.0), (ago(-1), "weight", 100.0)]
    assert run("heart_failure", {"weight": 184.0}, readings=readings) == {}


def test_reported_gain_is_urgent() -> None:
    assert run("heart_failure", {"weight_gain_reported": False}) == {}
    found = run("heart_failure", {"weight_gain_reported": True})
    assert found["hf.weight_gain_reported"].severity is Severity.URGENT


@pytest.mark.parametrize(
    ("question", "rule_id"),
    [
        ("more_breathless", "hf.more_breathless"),
        ("breathless_lying_flat", "hf.breathless_lying_flat"),
        ("waking_breathless", "hf.waking_breathless"),
        ("new_swelling", "hf.new_swelling"),
    ],
)
def test_any_heart_failure_symptom_is_urgent(question: str, rule_id: str) -> None:
    assert run("heart_failure", {question: False}) == {}
    finding = run("heart_failure", {question: True})[rule_id]
    assert (finding.severity, finding.response) == (Severity.URGENT, "")


@pytest.mark.parametrize(
    ("question", "rule_id"),
    [("breathless_at_rest", "hf.breathless_at_rest"), ("pink_phlegm", "hf.pink_phlegm")],
)
def test_red_flags_are_emergencies(question: str, rule_id: str) -> None:
    assert run("heart_failure", {question: False}) == {}
    finding = run("heart_failure", {question: True})[rule_id]
    assert (finding.severity, finding.response) == (Severity.EMERGENCY, "emergency")
