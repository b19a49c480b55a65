"""Combining findings into one assessment."""

from __future__ import annotations

from typing import Any

from outreach.findings import Finding, Severity
from outreach.triage.assessment import assess
from outreach.triage.redflags import screen


def finding(rule_id: str, severity: Severity, **kw: Any) -> Finding:
    return Finding(rule_id=rule_id, severity=severity, explanation=rule_id, **kw)


def test_empty() -> None:
    result = assess([])
    assert result.severity == Severity.NONE
    assert result.findings == () and result.responses == () and not result.sensitive
    assert result.response == ""


def test_highest_severity_and_dedup_keeps_the_most_severe() -> None:
    result = assess(
        [
            finding("redflag.heart.chest_pain", Severity.ROUTINE),
            finding("redflag.heart.chest_pain", Severity.EMERGENCY, response="emergency"),
            finding("pain.high_and_rising", Severity.URGENT),
        ]
    )
    assert result.severity == Severity.EMERGENCY
    assert [f.rule_id for f in result.findings] == [
        "redflag.heart.chest_pain",
        "pain.high_and_rising",
    ]
    assert result.findings[0].severity == Severity.EMERGENCY
    assert result.response == "emergency"


def test_denied_findings_are_left_out() -> None:
    result = assess(screen("no chest pain"))
    assert result.severity == Severity.NONE and result.findings == ()


def test_crisis_and_emergency_are_both_sent() -> None:
    result = assess(screen("I want to kill myself and I have chest pain"))
    assert result.responses == ("emergency", "crisis")
    assert result.sensitive


def test_sensitive_only_counts_alerting_findings() -> None:
    quiet = finding("redflag.mood.low", Severity.NONE, sensitive=True, response="guidance")
    assert not assess([quiet]).sensitive
    assert assess([finding("phq9.item9", Severity.URGENT, sensitive=True)]).sensitive


def test_someone_else_and_guidance() -> None:
    assert assess(screen("my wife can't breathe")).responses == ("emergency_other",)
    assert assess(screen("what if I get chest pain?")).responses == ("guidance",)
    assert assess(screen("what if I get chest pain? my husband can't breathe")).responses == (
        "emergency_other",
    )


def test_advice_for_stroke_and_overdose() -> None:
    assert assess(screen("my face is drooping")).advice == ("note_time",)
    assert assess(screen("took too many pills")).advice == ("poison_control",)
    assert assess(screen("I had a stroke in 2019")).advice == ()


def test_structured_findings_combine_with_free_text() -> None:
    structured = finding("phq9.item9", Severity.URGENT, sensitive=True, response="crisis")
    result = assess([structured, *screen("my ankles are swollen")])
    assert result.severity == Severity.URGENT
    assert result.responses == ("crisis",)
    assert result.alerting == result.findings
